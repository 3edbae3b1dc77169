/* lib/os/w32err_win32.c — the Win32 façade's last error and exceptions on
 * Windows: the real thread last error and RaiseException.  Must never
 * allocate or print.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdatomic.h>

#include "os/w32err.h"

/* TLS index + 1 (0 = not yet allocated). */
_Atomic uint32_t rsvi_os_w32_tls_key;
#define w32_tls_index rsvi_os_w32_tls_key
/* gs offset of the slot in TEB.TlsSlots, 0 while unknown or beyond them. */
_Atomic uintptr_t rsvi_os_w32_tls_off;

static DWORD w32_tls(void)
{
    uint32_t i = atomic_load_explicit(&w32_tls_index, memory_order_acquire);
    if (i) return i - 1;
    DWORD mine = TlsAlloc();
    if (mine == TLS_OUT_OF_INDEXES) return TLS_OUT_OF_INDEXES;
    uint32_t expect = 0;
    if (!atomic_compare_exchange_strong(&w32_tls_index, &expect, (uint32_t)mine + 1)) {
        (void)TlsFree(mine);
        return expect - 1;
    }
#if defined(__x86_64__)
    if (mine < 64) atomic_store_explicit(&rsvi_os_w32_tls_off, (uintptr_t)0x1480 + (uintptr_t)mine * 8,
                                         memory_order_release);
#endif
    return mine;
}

void *rsvi_os_w32_tls_get(void)
{
    DWORD i = w32_tls();
    if (i == TLS_OUT_OF_INDEXES) return NULL;
    DWORD saved = GetLastError(); /* TlsGetValue clears the last error */
    void *v = TlsGetValue(i);
    SetLastError(saved);
    return v;
}

int rsvi_os_w32_tls_set(void *v)
{
    DWORD i = w32_tls();
    return i != TLS_OUT_OF_INDEXES && TlsSetValue(i, v) ? 0 : -1;
}

uint32_t rsvi_os_w32_get_last_error(void) { return (uint32_t)GetLastError(); }

void rsvi_os_w32_set_last_error(uint32_t code) { SetLastError((DWORD)code); }

/* HEAP_GENERATE_EXCEPTIONS on Windows: the same non-continuable exception
 * kernel32 raises (spec HA-7).  Returns only if a vectored/frame handler
 * chose EXCEPTION_CONTINUE_EXECUTION. */
int rsvi_os_w32_raise(uint32_t status)
{
    RaiseException((DWORD)status, EXCEPTION_NONCONTINUABLE, 0, NULL);
    return 1;
}
