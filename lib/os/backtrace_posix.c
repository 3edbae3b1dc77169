/* lib/os/backtrace_posix.c — rsvi_os_backtrace* on POSIX: glibc's
 * backtrace() where <execinfo.h> exists (RSV_HAVE_EXECINFO), dladdr() for
 * module names.  Must never allocate after init (backtrace() dlopens
 * libgcc_s on first use, so init calls it once) and never print.
 */
#include "os/backtrace.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#ifdef RSV_HAVE_EXECINFO
#include <execinfo.h>
#endif

static atomic_int bt_primed;

void rsvi_os_backtrace_init(void)
{
#ifdef RSV_HAVE_EXECINFO
    if (atomic_load_explicit(&bt_primed, memory_order_acquire)) return;
    void *frames[4];
    (void)backtrace(frames, 4);
    atomic_store_explicit(&bt_primed, 1, memory_order_release);
#endif
}

unsigned rsvi_os_backtrace(void **frames, unsigned max)
{
#ifdef RSV_HAVE_EXECINFO
    if (max == 0 || !atomic_load_explicit(&bt_primed, memory_order_acquire)) return 0;
    int n = backtrace(frames, max > 256 ? 256 : (int)max);
    return n > 0 ? (unsigned)n : 0;
#else
    (void)frames;
    (void)max;
    return 0;
#endif
}

/* Appends the hex form of v to buf at *n (bounded by size - 1). */
static void bt_hex(char *buf, size_t size, size_t *n, uintptr_t v)
{
    char tmp[2 * sizeof v];
    size_t k = 0;
    do { tmp[k++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    while (k && *n + 1 < size) buf[(*n)++] = tmp[--k];
}

size_t rsvi_os_symbolize(const void *addr, char *buf, size_t size)
{
    Dl_info info;
    if (size == 0) return 0;
    memset(&info, 0, sizeof info);
    if (dladdr(addr, &info) == 0 || info.dli_fname == NULL || info.dli_fbase == NULL) {
        buf[0] = '\0';
        return 0;
    }
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    size_t n = strlen(base);
    if (n > size - 1) n = size - 1;
    memcpy(buf, base, n);
    static const char plus[] = "+0x";
    for (size_t i = 0; i < sizeof plus - 1 && n + 1 < size; i++) buf[n++] = plus[i];
    bt_hex(buf, size, &n, (uintptr_t)addr - (uintptr_t)info.dli_fbase);
    buf[n] = '\0';
    return n;
}

int rsvi_os_in_runtime(const void *addr)
{
    static const char *const names[] = {"libc.so", "libc-", "ld-linux", "ld.so", "ld-musl",
                                        "libstdc++", "libgcc_s", "libpthread", "libdl"};
    Dl_info info;
    memset(&info, 0, sizeof info);
    if (dladdr(addr, &info) == 0 || info.dli_fname == NULL) return 0;
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(base, names[i], strlen(names[i])) == 0) return 1;
    return 0;
}
