/* lib/win32/error.c — the one place the Win32 façade translates flags and
 * errors: last error (GetLastError/SetLastError), errno -> ERROR_*,
 * HEAP_GENERATE_EXCEPTIONS, PAGE_* validation and mapping, and the small
 * locks the façade uses.
 * Must never allocate or use stdio (it runs on failure paths).
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "os/os.h"
#include "os/thread.h"
#include "os/w32err.h"
#include "win32/w32.h"

/* ---- last error ---------------------------------------------------------- */

/* Mimics kernel32 GetLastError. */
DWORD RSV_WINAPI RsvGetLastError(void) { return (DWORD)rsvi_os_w32_get_last_error(); }

/* Mimics kernel32 SetLastError. */
void RSV_WINAPI RsvSetLastError(DWORD dwErrCode) { rsvi_os_w32_set_last_error((uint32_t)dwErrCode); }

void rsvi_w32_set_error(DWORD code) { rsvi_os_w32_set_last_error((uint32_t)code); }

DWORD rsvi_w32_error_from_errno(int e)
{
    switch (e) {
    case 0: return ERROR_SUCCESS;
    case ENOMEM: return ERROR_NOT_ENOUGH_MEMORY;
    case EFAULT: return ERROR_NOACCESS;
    case EACCES: return ERROR_ACCESS_DENIED;
    default: return ERROR_INVALID_PARAMETER;
    }
}

/* ---- exceptions ----------------------------------------------------------- */

static void w32_default_exception(DWORD status);
static _Atomic(rsv_win32_exception_fn) w32_handler = w32_default_exception;

static const char *w32_status_name(DWORD status)
{
    switch (status) {
    case STATUS_NO_MEMORY: return "STATUS_NO_MEMORY";
    case STATUS_ACCESS_VIOLATION: return "STATUS_ACCESS_VIOLATION";
    case STATUS_HEAP_CORRUPTION: return "STATUS_HEAP_CORRUPTION";
    case STATUS_GUARD_PAGE_VIOLATION: return "STATUS_GUARD_PAGE_VIOLATION";
    default: return "exception";
    }
}

/* Default handler: "reservoir: win32 exception STATUS_NO_MEMORY (0xC0000017)"
 * on stderr with one write, then abort (there is no SEH frame to unwind to). */
static void w32_default_exception(DWORD status)
{
    char buf[96];
    const char *pre = "reservoir: win32 exception ";
    const char *name = w32_status_name(status);
    size_t n = 0;
    for (const char *s = pre; *s; s++) buf[n++] = *s;
    for (const char *s = name; *s && n < 60; s++) buf[n++] = *s;
    buf[n++] = ' ';
    buf[n++] = '(';
    buf[n++] = '0';
    buf[n++] = 'x';
    for (int shift = 28; shift >= 0; shift -= 4) buf[n++] = "0123456789ABCDEF"[(status >> shift) & 0xF];
    buf[n++] = ')';
    buf[n++] = '\n';
    (void)rsvi_os_write_stderr(buf, n);
    abort();
}

/* Reservoir extension: where HEAP_GENERATE_EXCEPTIONS goes without SEH. */
rsv_win32_exception_fn rsv_win32_set_exception_handler(rsv_win32_exception_fn fn)
{
    return atomic_exchange(&w32_handler, fn ? fn : w32_default_exception);
}

void rsvi_w32_raise(DWORD status)
{
    if (rsvi_os_w32_raise((uint32_t)status)) return;
    atomic_load(&w32_handler)(status);
}

void rsvi_w32_alloc_failed(DWORD flags)
{
    rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
    if (flags & HEAP_GENERATE_EXCEPTIONS) {
        rsvi_w32_raise(STATUS_NO_MEMORY);
        rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
    }
}

/* ---- flags ------------------------------------------------------------------ */

/* Spec HC-14: per-call flags are OR-ed with the creation flags and cannot
 * switch a creation option off; unknown call bits are ignored (HA-13). */
DWORD rsvi_w32_heap_call_flags(DWORD create_flags, DWORD call_flags)
{
    return create_flags | (call_flags & (HEAP_NO_SERIALIZE | HEAP_GENERATE_EXCEPTIONS |
                                         HEAP_ZERO_MEMORY | HEAP_REALLOC_IN_PLACE_ONLY));
}

/* Spec VA-12, VP-4, PG-7: exactly one base protection among the six valid
 * ones; modifiers GUARD / NOCACHE / WRITECOMBINE (not GUARD with NOACCESS,
 * NOCACHE with GUARD or WRITECOMBINE); PAGE_TARGETS_* tolerated. */
int rsvi_w32_prot_valid(DWORD prot)
{
    DWORD base = prot & 0xFF;
    DWORD mods = prot & ~(DWORD)0xFF & ~(DWORD)PAGE_TARGETS_INVALID;
    switch (base) {
    case PAGE_NOACCESS: case PAGE_READONLY: case PAGE_READWRITE:
    case PAGE_EXECUTE: case PAGE_EXECUTE_READ: case PAGE_EXECUTE_READWRITE:
        break;
    default:
        return 0;
    }
    if (mods & ~(DWORD)(PAGE_GUARD | PAGE_NOCACHE | PAGE_WRITECOMBINE)) return 0;
    if ((mods & PAGE_GUARD) && base == PAGE_NOACCESS) return 0;
    if ((mods & PAGE_NOCACHE) && (mods & (PAGE_GUARD | PAGE_WRITECOMBINE))) return 0;
    return 1;
}

unsigned rsvi_w32_prot_to_rsv(DWORD prot)
{
    if (prot & PAGE_GUARD) return RSV_PROT_NONE; /* armed guard: no access (docs/win32.md) */
    switch (prot & 0xFF) {
    case PAGE_READONLY: return RSV_PROT_READ;
    case PAGE_READWRITE: return RSV_PROT_RW;
    case PAGE_EXECUTE: return RSV_PROT_READ | RSV_PROT_EXEC;
    case PAGE_EXECUTE_READ: return RSV_PROT_READ | RSV_PROT_EXEC;
    case PAGE_EXECUTE_READWRITE: return RSV_PROT_RWX;
    default: return RSV_PROT_NONE;
    }
}

