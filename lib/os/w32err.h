/* lib/os/w32err.h — the two things the Win32 façade needs from the OS that
 * differ between Windows and the rest: where the thread's "last error" lives
 * and how a structured exception is raised.  Implemented by w32err_posix.c
 * and w32err_win32.c (owned by the win32 façade, issue 5).
 * Never allocates, never prints.
 */
#ifndef RSV_OS_W32ERR_H
#define RSV_OS_W32ERR_H

#include <stdint.h>

/* The calling thread's last-error value: a thread-local word on POSIX, the
 * real GetLastError/SetLastError on Windows. */
uint32_t rsvi_os_w32_get_last_error(void);
void rsvi_os_w32_set_last_error(uint32_t code);

/* Raises the structured exception `status` (non-continuable, no parameters)
 * when the OS has structured exceptions, and returns 1 if a handler let
 * execution continue.  Returns 0 at once where the OS has none (POSIX): the
 * caller then applies its own fallback. */
int rsvi_os_w32_raise(uint32_t status);

/* One pointer-sized slot per thread for the façade's handle cache
 * (global.c), initially NULL.  _Thread_local on POSIX; TlsAlloc on Windows,
 * where mingw's _Thread_local would need libwinpthread. */
void *rsvi_os_w32_tls_get(void);
/* Returns 0, or -1 when the OS has no slot to give (nothing stored). */
int rsvi_os_w32_tls_set(void *v);

#endif /* RSV_OS_W32ERR_H */
