/* lib/os/w32err.h — the two things the Win32 façade needs from the OS that
 * differ between Windows and the rest: where the thread's "last error" lives
 * and how a structured exception is raised.  Implemented by w32err_posix.c
 * and w32err_win32.c (owned by the win32 façade, issue 5).
 * Never allocates, never prints.
 */
#ifndef RSV_OS_W32ERR_H
#define RSV_OS_W32ERR_H

#include <stdatomic.h>
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

/* The slot's value, inline where the OS allows (the façade's fast paths). */
#if defined(_WIN32) && defined(__x86_64__) && defined(__GNUC__)
extern _Atomic uint32_t rsvi_os_w32_tls_key; /* TLS index + 1; 0 = none yet */
static inline void *rsvi_os_w32_tls_fast(void)
{
    uint32_t k = atomic_load_explicit(&rsvi_os_w32_tls_key, memory_order_relaxed);
    if (k - 1 < 64) { /* TEB.TlsSlots[k-1], at gs:0x1480 on x64 */
        void *v;
        __asm__ volatile("movq %%gs:(%1), %0" : "=r"(v) : "r"((uintptr_t)0x1480 + (uintptr_t)(k - 1) * 8));
        return v;
    }
    return rsvi_os_w32_tls_get();
}
/* The slot's value when one instruction can read it, else NULL: no call,
 * so a fast path that falls back to a slow path on NULL saves no
 * registers. */
extern _Atomic uintptr_t rsvi_os_w32_tls_off; /* gs offset of the slot; 0: none */
static inline void *rsvi_os_w32_tls_peek(void)
{
    uintptr_t off = atomic_load_explicit(&rsvi_os_w32_tls_off, memory_order_relaxed);
    void *v = NULL;
    if (off) __asm__ volatile("movq %%gs:(%1), %0" : "=r"(v) : "r"(off));
    return v;
}
/* SetLastError without the two calls: TEB.LastErrorValue is at gs:0x68. */
static inline void rsvi_os_w32_set_last_error_fast(uint32_t code)
{
    __asm__ volatile("movl %0, %%gs:0x68" : : "r"(code) : "memory");
}
#elif !defined(_WIN32) && defined(__GNUC__)
extern _Thread_local void *rsvi_os_w32_tls_slot __attribute__((tls_model("initial-exec")));
static inline void *rsvi_os_w32_tls_fast(void) { return rsvi_os_w32_tls_slot; }
#define rsvi_os_w32_tls_peek rsvi_os_w32_tls_fast
#define rsvi_os_w32_set_last_error_fast rsvi_os_w32_set_last_error
#else
#define rsvi_os_w32_tls_fast rsvi_os_w32_tls_get
#define rsvi_os_w32_tls_peek rsvi_os_w32_tls_get
#define rsvi_os_w32_set_last_error_fast rsvi_os_w32_set_last_error
#endif

#endif /* RSV_OS_W32ERR_H */
