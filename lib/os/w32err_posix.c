/* lib/os/w32err_posix.c — the Win32 façade's last error and exceptions on
 * POSIX: thread-local words, and no structured exceptions (the façade's
 * handler in lib/win32/error.c takes over).  Must never allocate or print.
 */
#include "os/w32err.h"

static _Thread_local uint32_t w32_last_error __attribute__((tls_model("initial-exec")));
_Thread_local void *rsvi_os_w32_tls_slot __attribute__((tls_model("initial-exec")));
#define w32_tls_slot rsvi_os_w32_tls_slot

void *rsvi_os_w32_tls_get(void) { return w32_tls_slot; }

int rsvi_os_w32_tls_set(void *v)
{
    w32_tls_slot = v;
    return 0;
}

uint32_t rsvi_os_w32_get_last_error(void) { return w32_last_error; }

void rsvi_os_w32_set_last_error(uint32_t code) { w32_last_error = code; }

int rsvi_os_w32_raise(uint32_t status)
{
    (void)status;
    return 0;
}
