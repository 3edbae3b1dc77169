/* lib/os/win32.c — the Windows backend of lib/os/os.h.
 *
 * Reserve = VirtualAlloc(MEM_RESERVE, PAGE_NOACCESS) (aligned reservations
 * by reserve-larger / free / re-reserve at the aligned address); commit =
 * VirtualAlloc(MEM_COMMIT); decommit = VirtualFree(MEM_DECOMMIT); purge =
 * VirtualAlloc(MEM_RESET); protect = VirtualProtect; release =
 * VirtualFree(MEM_RELEASE); query = VirtualQuery (exact).
 * Must never allocate from a heap, print through stdio or leave an OS
 * result unchecked.  The only file besides thread_win32.c that includes
 * <windows.h>.
 */
#include "os/os.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

static rsvi_os_caps_t win_caps;
static INIT_ONCE win_caps_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK win_caps_init(PINIT_ONCE once, void *param, void **ctx)
{
    (void)once; (void)param; (void)ctx;
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    rsvi_os_caps_t c;
    c.page_size = si.dwPageSize ? si.dwPageSize : 4096;
    c.granularity = si.dwAllocationGranularity ? si.dwAllocationGranularity : 65536;
    c.large_page_size = GetLargePageMinimum();
    c.can_release_part = 0;
    c.recommit_zeroed = 1;
    c.overcommits = 0;
    c.large_commits_at_reserve = 1;
    win_caps = c;
    return TRUE;
}

const rsvi_os_caps_t *rsvi_os_caps(void)
{
    (void)InitOnceExecuteOnce(&win_caps_once, win_caps_init, NULL, NULL);
    return &win_caps;
}

/* RSV_PROT_* -> PAGE_*.  Write-only is not expressible: it becomes RW. */
static DWORD win_prot(unsigned prot)
{
    int r = (prot & RSV_PROT_READ) != 0, w = (prot & RSV_PROT_WRITE) != 0;
    if (prot & RSV_PROT_EXEC) {
        if (w) return PAGE_EXECUTE_READWRITE;
        return r ? PAGE_EXECUTE_READ : PAGE_EXECUTE;
    }
    if (w) return PAGE_READWRITE;
    return r ? PAGE_READONLY : PAGE_NOACCESS;
}

/* PAGE_* -> RSV_PROT_* (modifiers such as PAGE_GUARD are dropped). */
static unsigned win_prot_back(DWORD p)
{
    switch (p & 0xFF) {
    case PAGE_READONLY: return RSV_PROT_READ;
    case PAGE_READWRITE: case PAGE_WRITECOPY: return RSV_PROT_RW;
    case PAGE_EXECUTE: return RSV_PROT_EXEC;
    case PAGE_EXECUTE_READ: return RSV_PROT_READ | RSV_PROT_EXEC;
    case PAGE_EXECUTE_READWRITE: case PAGE_EXECUTE_WRITECOPY: return RSV_PROT_RWX;
    default: return RSV_PROT_NONE;
    }
}

/* GetLastError -> errno-style code. */
static int win_error(void)
{
    switch (GetLastError()) {
    case ERROR_NOT_ENOUGH_MEMORY: case ERROR_OUTOFMEMORY: case ERROR_COMMITMENT_LIMIT:
    case ERROR_NO_SYSTEM_RESOURCES:
        return ENOMEM;
    case ERROR_PRIVILEGE_NOT_HELD: case ERROR_ACCESS_DENIED:
        return EACCES;
    case ERROR_INVALID_ADDRESS:
    default:
        return EINVAL;
    }
}

/* Large pages must be reserved and committed in one call, need
 * SeLockMemoryPrivilege, and sizes that are multiples of the large page
 * (spec VA-21; Wine rejects the flag).  Returns NULL when not granted. */
static void *win_reserve_large(size_t size, size_t align, unsigned flags)
{
    size_t lp = rsvi_os_caps()->large_page_size;
    if (lp == 0 || size % lp != 0 || (align > lp && align % lp != 0)) return NULL;
    if (align > lp) return NULL; /* large-page placement cannot be steered cheaply */
    DWORD prot = (flags & RSV_VM_EXECUTABLE) ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
    return VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, prot);
}

int rsvi_os_reserve(size_t size, size_t align, unsigned flags, void **out, unsigned *granted)
{
    size_t gran = rsvi_os_caps()->granularity;
    unsigned got = flags & ~(unsigned)RSV_VM_LARGE_PAGES;
    if (align < gran) align = gran;

    if (flags & RSV_VM_LARGE_PAGES) {
        void *lp = win_reserve_large(size, align, flags);
        if (lp) {
            *out = lp;
            if (granted) *granted = got | RSV_VM_LARGE_PAGES;
            return 0;
        }
    }

    void *m = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_NOACCESS);
    if (!m) return win_error();
    if (((uintptr_t)m & (align - 1)) == 0) goto done;
    if (!VirtualFree(m, 0, MEM_RELEASE)) return win_error();

    /* Windows cannot release part of a reservation, so reserve size+align to
     * find a hole, give it back, and reserve again at the aligned address
     * inside it.  Another thread may take the hole meanwhile: retry. */
    size_t total = size + align;
    if (total < size) return ENOMEM;
    for (int tries = 0; tries < 64; tries++) {
        void *probe = VirtualAlloc(NULL, total, MEM_RESERVE, PAGE_NOACCESS);
        if (!probe) return win_error();
        uintptr_t at = ((uintptr_t)probe + align - 1) & ~(uintptr_t)(align - 1);
        if (!VirtualFree(probe, 0, MEM_RELEASE)) return win_error();
        m = VirtualAlloc((void *)at, size, MEM_RESERVE, PAGE_NOACCESS);
        if (m) {
            if ((uintptr_t)m == at) goto done;
            if (!VirtualFree(m, 0, MEM_RELEASE)) return win_error();
        }
    }
    return ENOMEM;

done:
    *out = m;
    if (granted) *granted = got;
    return 0;
}

int rsvi_os_commit(void *p, size_t n, unsigned prot)
{
    if (!VirtualAlloc(p, n, MEM_COMMIT, win_prot(prot))) return win_error();
    return 0;
}

int rsvi_os_decommit(void *p, size_t n)
{
    if (!VirtualFree(p, n, MEM_DECOMMIT)) return win_error();
    return 0;
}

int rsvi_os_purge(void *p, size_t n)
{
    /* MEM_RESET: the protection argument is ignored but must be valid. */
    if (!VirtualAlloc(p, n, MEM_RESET, PAGE_NOACCESS)) return win_error();
    return 0;
}

int rsvi_os_protect(void *p, size_t n, unsigned prot)
{
    DWORD old;
    if (!VirtualProtect(p, n, win_prot(prot), &old)) return win_error();
    return 0;
}

int rsvi_os_release(void *base, size_t size)
{
    (void)size; /* MEM_RELEASE requires size 0: the whole reservation goes */
    if (!VirtualFree(base, 0, MEM_RELEASE)) return win_error();
    return 0;
}

int rsvi_os_query(const void *p, rsv_vm_info_t *info)
{
    MEMORY_BASIC_INFORMATION mbi;
    memset(info, 0, sizeof *info);
    if (VirtualQuery(p, &mbi, sizeof mbi) != sizeof mbi) return win_error();
    info->base = mbi.BaseAddress;
    info->size = mbi.RegionSize;
    info->exact = 1;
    switch (mbi.State) {
    case MEM_COMMIT:
        info->state = RSV_VM_COMMITTED;
        info->prot = win_prot_back(mbi.Protect);
        break;
    case MEM_RESERVE:
        info->state = RSV_VM_RESERVED;
        break;
    default:
        info->state = RSV_VM_FREE;
        return 0;
    }
    info->alloc_base = mbi.AllocationBase;
    /* The reservation's size: walk its runs until the allocation changes. */
    const char *q = mbi.AllocationBase;
    size_t total = 0;
    for (;;) {
        MEMORY_BASIC_INFORMATION m2;
        if (VirtualQuery(q + total, &m2, sizeof m2) != sizeof m2) break;
        if (m2.State == MEM_FREE || m2.AllocationBase != mbi.AllocationBase) break;
        total += m2.RegionSize;
    }
    info->alloc_size = total;
    return 0;
}

int rsvi_os_write_stderr(const char *s, size_t n)
{
    HANDLE h = GetStdHandle(STD_ERROR_HANDLE);
    if (h == NULL || h == INVALID_HANDLE_VALUE) return EBADF;
    while (n > 0) {
        DWORD chunk = n > 0x40000000u ? 0x40000000u : (DWORD)n, w = 0;
        if (!WriteFile(h, s, chunk, &w, NULL)) return EIO;
        if (w == 0) return EIO;
        s += w;
        n -= w;
    }
    return 0;
}

int rsvi_os_getenv(const char *name, char *buf, size_t size)
{
    char big[32768]; /* the longest value Windows allows */
    if (size == 0) return GetEnvironmentVariableA(name, NULL, 0) != 0;
    DWORD cap = size > 32767 ? 32767 : (DWORD)size;
    SetLastError(ERROR_SUCCESS);
    DWORD n = GetEnvironmentVariableA(name, buf, cap);
    if (n == 0) {
        if (GetLastError() == ERROR_ENVVAR_NOT_FOUND) return 0;
        buf[0] = '\0';
        return 1; /* set but empty */
    }
    if (n < cap) return 1;
    /* Too long for buf: read it whole and truncate. */
    n = GetEnvironmentVariableA(name, big, sizeof big);
    if (n == 0 || n >= sizeof big) { buf[0] = '\0'; return 1; }
    memcpy(buf, big, size - 1);
    buf[size - 1] = '\0';
    return 1;
}
