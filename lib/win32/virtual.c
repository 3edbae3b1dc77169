/* lib/win32/virtual.c — the Win32 Virtual* family (VirtualAlloc,
 * VirtualFree, VirtualProtect, VirtualQuery) on Reservoir's vm layer.
 *
 * The façade keeps its own table of allocations, because Win32 reports
 * things the OS cannot (spec section 13): the allocation's base and its
 * protection at reservation time, and per page the Win32 protection with
 * its GUARD / NOCACHE / WRITECOMBINE modifiers.  One byte per page:
 *
 *   bit 7: committed   bits 0..2: log2 of the base PAGE_* value
 *   bit 3: PAGE_GUARD  bit 4: PAGE_NOCACHE  bit 5: PAGE_WRITECOMBINE
 *
 * Allocations are 64 KiB aligned (rsv_vm_reserve with that alignment); an
 * allocation's size is its page-rounded request (VA-3).  The table is sorted
 * by base and protected by one spin lock (Virtual* is not a hot path).
 *
 * Must never: print, call an OS function directly, or touch memory outside
 * its own table on behalf of a caller's bad argument.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "reservoir/vm.h"
#include "win32/w32.h"

#define W32_VGRAN ((size_t)0x10000)
#define W32_VMAX 65536u
#define W32_INLINE_PAGES 64u
#define W32_MAX_USER ((uintptr_t)(sizeof(void *) == 8 ? ((uint64_t)1 << 47) : 0xFFFF0000u))

enum { PG_COMMITTED = 0x80, PG_GUARD = 0x08, PG_NOCACHE = 0x10, PG_WCOMBINE = 0x20 };

typedef struct w32_valloc {
    uintptr_t base;
    size_t size;             /* page-rounded bytes (VirtualQuery's extent) */
    size_t reserved;         /* bytes reserved from the vm layer */
    DWORD alloc_prot;        /* AllocationProtect */
    unsigned char *pages;    /* one byte per page (layout above) */
    size_t pages_bytes;      /* > 0 when pages came from rsv_vm */
    unsigned char inline_pages[W32_INLINE_PAGES];
} w32_valloc_t;

static rsvi_lock_t v_lock;
static int v_ready;
static w32_valloc_t *v_recs;      /* W32_VMAX records */
static w32_valloc_t **v_idx;      /* sorted by base */
static unsigned v_count;
static w32_valloc_t *v_free;      /* free records, linked through .pages */
static unsigned v_fresh;

static size_t w32_pg(void) { return rsv_vm_page_size(); }

static int w32_vinit_locked(void)
{
    if (v_ready) return 0;
    void *a = NULL, *b = NULL;
    size_t ra = W32_VMAX * sizeof(w32_valloc_t), rb = W32_VMAX * sizeof(w32_valloc_t *);
    if (rsv_vm_reserve(ra, 0, 0, &a, NULL) != 0) return -1;
    if (rsv_vm_reserve(rb, 0, 0, &b, NULL) != 0 || rsv_vm_commit(a, ra) != 0 || rsv_vm_commit(b, rb) != 0) {
        (void)rsv_vm_release(a, ra);
        if (b) (void)rsv_vm_release(b, rb);
        return -1;
    }
    v_recs = a;
    v_idx = b;
    v_ready = 1;
    return 0;
}

/* Page byte <-> PAGE_* value. */
static unsigned char w32_pg_code(DWORD prot)
{
    unsigned char c = 0;
    DWORD base = prot & 0xFF;
    while (base > 1) {
        base >>= 1;
        c++;
    }
    if (prot & PAGE_GUARD) c |= PG_GUARD;
    if (prot & PAGE_NOCACHE) c |= PG_NOCACHE;
    if (prot & PAGE_WRITECOMBINE) c |= PG_WCOMBINE;
    return c;
}

static DWORD w32_pg_prot(unsigned char c)
{
    DWORD p = (DWORD)1 << (c & 7);
    if (c & PG_GUARD) p |= PAGE_GUARD;
    if (c & PG_NOCACHE) p |= PAGE_NOCACHE;
    if (c & PG_WCOMBINE) p |= PAGE_WRITECOMBINE;
    return p;
}

/* Index of the first allocation whose base is > addr. */
static unsigned w32_upper(uintptr_t addr)
{
    unsigned lo = 0, hi = v_count;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (v_idx[mid]->base <= addr) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The allocation whose reservation contains addr (base <= addr < base +
 * reserved), or NULL. */
static w32_valloc_t *w32_vfind(uintptr_t addr)
{
    unsigned i = w32_upper(addr);
    if (i == 0) return NULL;
    w32_valloc_t *v = v_idx[i - 1];
    return addr - v->base < v->reserved ? v : NULL;
}

static void w32_vforget(w32_valloc_t *v)
{
    unsigned i = w32_upper(v->base) - 1;
    memmove(&v_idx[i], &v_idx[i + 1], (v_count - i - 1) * sizeof *v_idx);
    v_count--;
    if (v->pages_bytes) (void)rsv_vm_release(v->pages, v->pages_bytes);
    v->pages = (unsigned char *)v_free;
    v_free = v;
}

/* Applies prot to committed pages [s, e) of v (vm protection + page bytes).
 * NOCACHE / WRITECOMBINE follow the allocation's own (VA-14). */
static int w32_apply(w32_valloc_t *v, uintptr_t s, uintptr_t e, DWORD prot)
{
    DWORD mods = v->alloc_prot & (PAGE_NOCACHE | PAGE_WRITECOMBINE);
    DWORD eff = (prot & ~(DWORD)(PAGE_NOCACHE | PAGE_WRITECOMBINE | PAGE_TARGETS_INVALID)) | mods;
    int err = rsv_vm_protect((void *)s, e - s, rsvi_w32_prot_to_rsv(eff), NULL);
    if (err) return err;
    size_t pg = w32_pg();
    memset(v->pages + (s - v->base) / pg, PG_COMMITTED | w32_pg_code(eff), (e - s) / pg);
    return 0;
}

/* Commits [s, e) inside v with prot (VA-7, VA-10, VA-11).  On failure
 * the pages that were reserved are reserved again: the table and the OS
 * agree that nothing changed. */
static int w32_commit(w32_valloc_t *v, uintptr_t s, uintptr_t e, DWORD prot)
{
    int err = rsv_vm_commit((void *)s, e - s);
    if (!err) err = w32_apply(v, s, e, prot);
    if (err) {
        size_t pg = w32_pg();
        const unsigned char *pb = v->pages + (s - v->base) / pg;
        for (uintptr_t a = s; a < e;) {
            if (pb[(a - s) / pg] & PG_COMMITTED) {
                a += pg;
                continue;
            }
            uintptr_t b = a;
            while (b < e && !(pb[(b - s) / pg] & PG_COMMITTED)) b += pg;
            (void)rsv_vm_decommit((void *)a, b - a);
            a = b;
        }
    }
    return err;
}

/* A new allocation of n bytes (n > 0, page-rounded) reserved with prot. */
static w32_valloc_t *w32_vnew(size_t n, DWORD prot, int *err)
{
    if (v_count >= W32_VMAX || (!v_free && v_fresh >= W32_VMAX)) {
        *err = ENOMEM;
        return NULL;
    }
    size_t pg = w32_pg(), npages = n / pg;
    size_t reserved = (n + W32_VGRAN - 1) & ~(W32_VGRAN - 1);
    void *base = NULL;
    *err = rsv_vm_reserve(reserved, W32_VGRAN, 0, &base, NULL);
    if (*err) return NULL;
    w32_valloc_t *v = v_free ? v_free : &v_recs[v_fresh];
    unsigned char *pages = v->inline_pages;
    size_t pbytes = 0;
    if (npages > W32_INLINE_PAGES) {
        void *pa = NULL;
        pbytes = (npages + pg - 1) & ~(pg - 1);
        *err = rsv_vm_reserve(pbytes, 0, 0, &pa, NULL);
        if (!*err) *err = rsv_vm_commit(pa, pbytes);
        if (*err) {
            if (pa) (void)rsv_vm_release(pa, pbytes);
            (void)rsv_vm_release(base, reserved);
            return NULL;
        }
        pages = pa;
    }
    if (v == v_free) v_free = (w32_valloc_t *)v->pages;
    else v_fresh++;
    v->base = (uintptr_t)base;
    v->size = n;
    v->reserved = reserved;
    v->alloc_prot = prot;
    v->pages = pages;
    v->pages_bytes = pbytes;
    memset(pages, 0, npages);
    unsigned i = w32_upper(v->base);
    memmove(&v_idx[i + 1], &v_idx[i], (v_count - i) * sizeof *v_idx);
    v_idx[i] = v;
    v_count++;
    return v;
}

static void w32_vrelease(w32_valloc_t *v)
{
    (void)rsv_vm_release((void *)v->base, v->reserved);
    w32_vforget(v);
}

/* Mimics kernel32 VirtualAlloc (VA-1..VA-23). */
LPVOID RSV_WINAPI RsvVirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType, DWORD flProtect)
{
    const DWORD known = MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_TOP_DOWN |
                        MEM_WRITE_WATCH | MEM_PHYSICAL | MEM_LARGE_PAGES;
    DWORD type = flAllocationType;
    size_t pg = w32_pg();
    if (dwSize == 0 || (type & ~known) || /* VA-1, VA-16, VA-17 */
        !(type & (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO)) ||
        ((type & (MEM_RESET | MEM_RESET_UNDO)) && (type & ~(MEM_RESET | MEM_RESET_UNDO))) ||
        ((type & MEM_RESET) && (type & MEM_RESET_UNDO)) || !rsvi_w32_prot_valid(flProtect) || /* VA-12 */
        (type & (MEM_WRITE_WATCH | MEM_PHYSICAL))) {
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    if (type & MEM_LARGE_PAGES) { /* VA-21: no lock-memory privilege here */
        rsvi_w32_set_error((type & (MEM_RESERVE | MEM_COMMIT)) == (MEM_RESERVE | MEM_COMMIT)
                               ? ERROR_PRIVILEGE_NOT_HELD : ERROR_INVALID_PARAMETER);
        return NULL;
    }
    uintptr_t a = (uintptr_t)lpAddress;
    if ((a && a < W32_VGRAN) || dwSize > W32_MAX_USER || (a && dwSize > W32_MAX_USER - a)) { /* VA-23 */
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    rsvi_lock(&v_lock);
    if (w32_vinit_locked() != 0) {
        rsvi_unlock(&v_lock);
        rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    LPVOID result = NULL;
    DWORD error = 0;
    int err = 0;
    if (!a && !(type & (MEM_RESET | MEM_RESET_UNDO))) {
        /* VA-2, VA-3, VA-8: a new allocation at a 64 KiB boundary. */
        size_t n = (dwSize + pg - 1) & ~(pg - 1);
        w32_valloc_t *v = w32_vnew(n, flProtect, &err);
        if (v && (type & MEM_COMMIT)) {
            err = w32_commit(v, v->base, v->base + n, flProtect);
            if (err) {
                w32_vrelease(v);
                v = NULL;
            }
        }
        if (v) result = (LPVOID)v->base;
        else error = rsvi_w32_error_from_errno(err);
    } else if (!a) {
        error = ERROR_INVALID_PARAMETER;
    } else if ((type & MEM_RESERVE) && !(type & MEM_RESET)) {
        /* VA-4, VA-5: an explicit base must not overlap an allocation; a
         * placement the vm layer cannot request is refused (docs/win32.md). */
        error = ERROR_INVALID_ADDRESS;
    } else {
        uintptr_t s = a & ~(uintptr_t)(pg - 1);
        uintptr_t e = (a + dwSize + pg - 1) & ~(uintptr_t)(pg - 1);
        w32_valloc_t *v = w32_vfind(s);
        if (!v || e > v->base + v->size) { /* VA-9, VA-18 */
            error = ERROR_INVALID_ADDRESS;
        } else if (type & (MEM_RESET | MEM_RESET_UNDO)) {
            /* VA-18/19: contents are kept (MEM_RESET is advisory), so
             * MEM_RESET_UNDO always finds them intact. */
            result = (LPVOID)s;
        } else {
            err = w32_commit(v, s, e, flProtect);
            if (err) error = rsvi_w32_error_from_errno(err);
            else result = (LPVOID)s;
        }
    }
    rsvi_unlock(&v_lock);
    if (!result) rsvi_w32_set_error(error);
    return result;
}

/* Mimics kernel32 VirtualFree (VF-1..VF-11). */
BOOL RSV_WINAPI RsvVirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType)
{
    size_t pg = w32_pg();
    uintptr_t a = (uintptr_t)lpAddress;
    if ((dwFreeType != MEM_DECOMMIT && dwFreeType != MEM_RELEASE) || !a ||
        (dwFreeType == MEM_RELEASE && dwSize != 0)) { /* VF-1, VF-2, VF-9, VF-10 */
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    rsvi_lock(&v_lock);
    DWORD error = 0;
    uintptr_t s = a & ~(uintptr_t)(pg - 1);
    w32_valloc_t *v = v_ready ? w32_vfind(s) : NULL;
    if (!v || s - v->base >= v->size) {
        error = ERROR_INVALID_ADDRESS; /* VF-10: no allocation there */
    } else if (dwFreeType == MEM_RELEASE) {
        if (s != v->base) error = ERROR_INVALID_ADDRESS; /* VF-3, VF-4 */
        else w32_vrelease(v);
    } else {
        uintptr_t e;
        if (dwSize == 0) { /* VF-6 */
            if (s != v->base) error = ERROR_INVALID_ADDRESS;
            e = v->base + v->size;
        } else {
            e = (a + dwSize + pg - 1) & ~(uintptr_t)(pg - 1);
            if (a + dwSize < a || e > v->base + v->size) error = ERROR_INVALID_PARAMETER; /* VF-10 */
        }
        if (!error) { /* VF-5, VF-7, VF-8 */
            int err = rsv_vm_decommit((void *)s, e - s);
            if (err) error = rsvi_w32_error_from_errno(err);
            else memset(v->pages + (s - v->base) / pg, 0, (e - s) / pg);
        }
    }
    rsvi_unlock(&v_lock);
    if (error) {
        rsvi_w32_set_error(error);
        return FALSE;
    }
    return TRUE;
}

/* Mimics kernel32 VirtualProtect (VP-1..VP-7). */
BOOL RSV_WINAPI RsvVirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect, PDWORD lpflOldProtect)
{
    size_t pg = w32_pg();
    uintptr_t a = (uintptr_t)lpAddress;
    if (!lpflOldProtect) { /* VP-3 */
        rsvi_w32_set_error(ERROR_NOACCESS);
        return FALSE;
    }
    if (!rsvi_w32_prot_valid(flNewProtect) || dwSize == 0 || a + dwSize < a) { /* VP-4 */
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    uintptr_t s = a & ~(uintptr_t)(pg - 1);
    uintptr_t e = (a + dwSize + pg - 1) & ~(uintptr_t)(pg - 1);
    DWORD error = 0;
    rsvi_lock(&v_lock);
    w32_valloc_t *v = v_ready ? w32_vfind(s) : NULL;
    if (!v || s - v->base >= v->size) {
        error = ERROR_INVALID_ADDRESS;
    } else if (e > v->base + v->size) { /* VP-5 */
        error = ERROR_INVALID_PARAMETER;
    } else {
        unsigned char *pb = v->pages + (s - v->base) / pg;
        size_t n = (e - s) / pg;
        for (size_t i = 0; i < n && !error; i++)
            if (!(pb[i] & PG_COMMITTED)) error = ERROR_INVALID_ADDRESS; /* VP-1 */
        if (!error) {
            DWORD old = w32_pg_prot(pb[0]); /* VP-2, VP-7 */
            int err = w32_apply(v, s, e, flNewProtect);
            if (err) error = rsvi_w32_error_from_errno(err);
            else *lpflOldProtect = old;
        }
    }
    rsvi_unlock(&v_lock);
    if (error) {
        rsvi_w32_set_error(error);
        return FALSE;
    }
    return TRUE;
}

static DWORD w32_state(rsv_vm_state_t st)
{
    return st == RSV_VM_COMMITTED ? MEM_COMMIT : st == RSV_VM_RESERVED ? MEM_RESERVE : MEM_FREE;
}

static DWORD w32_prot_from_rsv(unsigned prot)
{
    switch (prot & RSV_PROT_RWX) {
    case RSV_PROT_READ: return PAGE_READONLY;
    case RSV_PROT_RW: case RSV_PROT_WRITE: return PAGE_READWRITE;
    case RSV_PROT_EXEC: return PAGE_EXECUTE;
    case RSV_PROT_READ | RSV_PROT_EXEC: return PAGE_EXECUTE_READ;
    case RSV_PROT_RWX: case RSV_PROT_WRITE | RSV_PROT_EXEC: return PAGE_EXECUTE_READWRITE;
    default: return PAGE_NOACCESS;
    }
}

/* Mimics kernel32 VirtualQuery (VQ-1..VQ-9). */
SIZE_T RSV_WINAPI RsvVirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength)
{
    size_t pg = w32_pg();
    uintptr_t a = (uintptr_t)lpAddress;
    if (!lpBuffer || dwLength < sizeof(MEMORY_BASIC_INFORMATION)) { /* VQ-8 */
        rsvi_w32_set_error(ERROR_BAD_LENGTH);
        return 0;
    }
    if (a >= W32_MAX_USER) { /* VQ-7 */
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    uintptr_t s = a & ~(uintptr_t)(pg - 1); /* VQ-2 */
    MEMORY_BASIC_INFORMATION m;
    memset(&m, 0, sizeof m);
    m.BaseAddress = (PVOID)s;
    rsvi_lock(&v_lock);
    w32_valloc_t *v = v_ready ? w32_vfind(s) : NULL;
    uintptr_t next = UINTPTR_MAX; /* base of the next façade allocation */
    if (v_ready) {
        unsigned i = w32_upper(s);
        if (i < v_count) next = v_idx[i]->base;
    }
    if (v && s - v->base < v->size) { /* VQ-3, VQ-5, VQ-6 */
        const unsigned char *pb = v->pages + (s - v->base) / pg;
        size_t n = 1, max = (v->base + v->size - s) / pg;
        while (n < max && pb[n] == pb[0]) n++;
        m.AllocationBase = (PVOID)v->base;
        m.AllocationProtect = v->alloc_prot;
        m.RegionSize = n * pg;
        m.State = (pb[0] & PG_COMMITTED) ? MEM_COMMIT : MEM_RESERVE;
        m.Protect = (pb[0] & PG_COMMITTED) ? w32_pg_prot(pb[0]) : 0;
        m.Type = MEM_PRIVATE;
    } else if (v) { /* the unusable tail of a 64 KiB granule reads as free */
        m.State = MEM_FREE;
        m.Protect = PAGE_NOACCESS;
        m.RegionSize = v->base + v->reserved - s;
    } else {
        rsv_vm_info_t info;
        int err = rsv_vm_query((const void *)s, &info);
        if (err) {
            rsvi_unlock(&v_lock);
            rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
            return 0;
        }
        uintptr_t end = (uintptr_t)info.base + info.size;
        if (end <= s) end = s + pg;
        if (end > next) end = next; /* VQ-9: never into the next allocation */
        m.RegionSize = end - s;
        m.State = w32_state(info.state);
        if (m.State == MEM_FREE) { /* VQ-4 */
            m.Protect = PAGE_NOACCESS;
        } else {
            m.AllocationBase = info.alloc_base ? info.alloc_base : (PVOID)s;
            m.AllocationProtect = PAGE_READWRITE;
            m.Protect = m.State == MEM_COMMIT ? w32_prot_from_rsv(info.prot) : 0;
            m.Type = MEM_PRIVATE;
        }
    }
    rsvi_unlock(&v_lock);
    memcpy(lpBuffer, &m, sizeof m); /* VQ-1 */
    return sizeof m;
}
