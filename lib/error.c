/* lib/error.c — the process-wide error handler and the fatal path.
 * Owns the one place where a failure message leaves the library.
 * Never allocates and never uses stdio: messages go out with one write.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"

static _Atomic(rsv_error_fn) error_fn;
static _Atomic(void *) error_user;

rsv_error_handler_t rsv_set_error_handler(rsv_error_handler_t handler)
{
    rsv_error_handler_t old;
    old.fn = atomic_exchange(&error_fn, handler.fn);
    old.user = atomic_exchange(&error_user, handler.user);
    return old;
}

void rsvi_error(int code, const char *message)
{
    rsv_error_fn fn = atomic_load_explicit(&error_fn, memory_order_acquire);
    if (fn) fn(atomic_load_explicit(&error_user, memory_order_relaxed), code, message);
}

/* Formats an unsigned decimal into buf (no allocation); returns its length. */
static size_t error_utoa(char *buf, unsigned long v)
{
    char tmp[24];
    size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    return n;
}

void rsv_error_to_stderr(void *user, int code, const char *message)
{
    (void)user;
    char buf[256];
    size_t n = 0;
    static const char head[] = "reservoir: error: ";
    memcpy(buf, head, sizeof head - 1);
    n = sizeof head - 1;
    size_t m = strlen(message);
    if (m > sizeof buf - n - 32) m = sizeof buf - n - 32;
    memcpy(buf + n, message, m);
    n += m;
    memcpy(buf + n, " (code ", 7);
    n += 7;
    n += error_utoa(buf + n, (unsigned long)(code < 0 ? -code : code));
    buf[n++] = ')';
    buf[n++] = '\n';
    (void)rsvi_os_write_stderr(buf, n);
}

_Noreturn void rsvi_fatal(const char *message)
{
    static const char head[] = "reservoir: fatal: ";
    (void)rsvi_os_write_stderr(head, sizeof head - 1);
    (void)rsvi_os_write_stderr(message, strlen(message));
    (void)rsvi_os_write_stderr("\n", 1);
    abort();
}
