/* reservoir/vm.h — a portable VirtualAlloc: reserve address space, commit,
 * decommit, purge, protect, release and query pages.
 *
 * Owns the page states of the seed article: FREE (no reservation),
 * RESERVED (address range held, no memory behind it, inaccessible) and
 * COMMITTED (backed, accessible with its protection).
 *
 * Every function returns 0 on success or an errno-style code:
 *   EINVAL  bad argument (size 0, unaligned address, non-power-of-two
 *           alignment, a range that is not inside one Reservoir reservation)
 *   ENOMEM  the OS refused (address space or commit charge exhausted)
 * Nothing here crashes on a bad argument and nothing allocates from a heap.
 * Includes no OS header.
 */
#ifndef RESERVOIR_VM_H
#define RESERVOIR_VM_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Page states, as rsv_vm_query reports them. */
typedef enum rsv_vm_state {
    RSV_VM_FREE = 0,
    RSV_VM_RESERVED = 1,
    RSV_VM_COMMITTED = 2
} rsv_vm_state_t;

/* Protections (a bit set).  RSV_PROT_NONE is "no access". */
enum {
    RSV_PROT_NONE = 0,
    RSV_PROT_READ = 1,
    RSV_PROT_WRITE = 2,
    RSV_PROT_EXEC = 4,
    RSV_PROT_RW = RSV_PROT_READ | RSV_PROT_WRITE,
    RSV_PROT_RWX = RSV_PROT_READ | RSV_PROT_WRITE | RSV_PROT_EXEC
};

/* Flags for rsv_vm_reserve. */
enum {
    /* Ask for 2 MiB pages; falls back to normal pages.  *granted tells which
     * was obtained (the bit is cleared on fallback). */
    RSV_VM_LARGE_PAGES = 1u << 0,
    /* Pages committed later in this reservation are read/write/execute. */
    RSV_VM_EXECUTABLE = 1u << 1
};

typedef struct rsv_vm_info {
    void *base;            /* first page of the run containing the address */
    size_t size;           /* bytes in the run of pages sharing state+prot */
    void *alloc_base;      /* base of the reservation (NULL when FREE) */
    size_t alloc_size;     /* size of the reservation (0 when FREE or unknown) */
    rsv_vm_state_t state;
    unsigned prot;         /* RSV_PROT_* of the run (RSV_PROT_NONE unless COMMITTED) */
    unsigned flags;        /* RSV_VM_* granted to the reservation */
    size_t page_size;      /* the reservation's unit of commit/protect: the
                              page size, or the large page size when the
                              reservation got hard large pages (MAP_HUGETLB /
                              MEM_LARGE_PAGES); 0 when FREE */
    int exact;             /* 1: from Reservoir's bookkeeping or the OS's own
                              query; 0: best effort (outside any Reservoir
                              reservation on POSIX) */
} rsv_vm_info_t;

/* System page size (4096 on x86-64) and reservation granularity (64 KiB on
 * Windows, the page size on POSIX).  Both are constant for the process. */
RSV_API size_t rsv_vm_page_size(void);
RSV_API size_t rsv_vm_granularity(void);

/* Reserves `size` bytes (rounded up to the granularity) aligned to
 * `alignment` (0 = granularity; otherwise a power of two >= granularity).
 * The range is RESERVED: inaccessible and not counted as memory (Linux:
 * PROT_NONE + MAP_NORESERVE).  On success stores the base in *out and the
 * flags actually granted in *granted (may be NULL).  On failure *out is left
 * unchanged.  EINVAL: out NULL, size 0, bad alignment, unknown flag; ENOMEM:
 * no address space.
 *
 * RSV_VM_LARGE_PAGES, for sizes of at least one large page: Linux tries
 * MAP_HUGETLB (needs a hugetlb pool; the reservation's page_size is then
 * 2 MiB and every range in it must be 2 MiB-aligned and is rounded to
 * 2 MiB), else transparent huge pages (MADV_HUGEPAGE, 2 MiB-aligned base,
 * granted unless THP is "never").  Windows tries MEM_LARGE_PAGES, which needs
 * SeLockMemoryPrivilege and arrives COMMITTED.  On fallback the bit is
 * cleared in *granted and normal pages are used. */
RSV_API int rsv_vm_reserve(size_t size, size_t alignment, unsigned flags,
                           void **out, unsigned *granted);

/* Commits [p, p+n): p page-aligned, n > 0 (rounded up to pages), the range
 * inside one reservation (otherwise EINVAL).  "Page" is the reservation's
 * page_size as rsv_vm_query reports it.  Committed pages are readable and writable (and
 * executable for RSV_VM_EXECUTABLE reservations); pages that were not
 * committed before read as zero.  Committing committed pages is allowed and
 * keeps their contents. */
RSV_API int rsv_vm_commit(void *p, size_t n);

/* Returns [p, p+n) to RESERVED: contents discarded, memory returned to the
 * OS (Linux: MADV_DONTNEED + PROT_NONE, never MADV_FREE; Windows:
 * MEM_DECOMMIT), a later commit reads zero.  Same range rules as commit;
 * pages already reserved may be part of the range. */
RSV_API int rsv_vm_decommit(void *p, size_t n);

/* Tells the OS the contents of committed [p, p+n) may be discarded; the
 * pages stay COMMITTED and accessible and read either as before or as zero
 * (MADV_FREE, else MADV_DONTNEED; MEM_RESET).  EINVAL unless every page of
 * the range is committed. */
RSV_API int rsv_vm_purge(void *p, size_t n);

/* Sets the protection of committed pages [p, p+n) (EINVAL unless all are
 * committed, or for bits outside RSV_PROT_RWX).  On success stores the
 * previous protection of the first page in *old (may be NULL).  Pages set
 * to RSV_PROT_NONE stay COMMITTED. */
RSV_API int rsv_vm_protect(void *p, size_t n, unsigned prot, unsigned *old);

/* Releases the whole reservation starting at `base` (the value
 * rsv_vm_reserve returned); `size` must be 0 (look it up) or a size that
 * rounds to the reservation's, like the one passed to rsv_vm_reserve.
 * EINVAL for any other base or size, including a second release. */
RSV_API int rsv_vm_release(void *base, size_t size);

/* Describes the pages at `addr`, like VirtualQuery: info->base/size is the
 * maximal run of pages around addr that share state and protection.
 * Exact inside a Reservoir reservation on every OS (from the library's own
 * record of its reservations and committed runs).  Outside one, Windows
 * answers exactly (VirtualQuery); POSIX answers best effort from
 * /proc/self/maps (an inaccessible mapping is called RESERVED, any other
 * COMMITTED, a hole FREE; alloc_base is the mapping's start) and sets
 * info->exact = 0.  EINVAL only when info is NULL.  Thread-safe: every vm
 * function may be called from any thread. */
RSV_API int rsv_vm_query(const void *addr, rsv_vm_info_t *info);

#ifdef __cplusplus
}
#endif

#endif /* RESERVOIR_VM_H */
