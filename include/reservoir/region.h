/* reservoir/region.h — a reservation that commits a contiguous prefix on
 * demand.
 *
 *   base                          committed            usable     reserved
 *   |<------ COMMITTED ------>|<------ RESERVED ------>|<- guard ->|
 *   [=========================|.......................|###########]
 *
 * DESIGN decision 1: commit grows a prefix, so on Linux a region is at most
 * two kernel mappings whatever its history.  Decision 2: commit in steps and
 * keep `retain` bytes committed past the end when shrinking, because first
 * touch of a page costs microseconds.
 *
 * The struct is public so that allocators can embed it (an arena keeps its
 * region inside its own header) and read `base`/`committed` inline; change
 * it only through these functions.
 */
#ifndef RESERVOIR_REGION_H
#define RESERVOIR_REGION_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    /* Keep one never-committed page after the usable range, so running off
     * the end faults. */
    RSV_REGION_GUARD = 1u << 0,
    /* Ask for large pages (see RSV_VM_LARGE_PAGES). */
    RSV_REGION_LARGE_PAGES = 1u << 1,
    /* Committed pages are executable. */
    RSV_REGION_EXECUTABLE = 1u << 2
};

/* Zero in any field means its default. */
typedef struct rsv_region_opts {
    size_t reserve;      /* bytes to reserve; default 64 GiB (256 MiB on 32-bit) */
    size_t commit_step;  /* commit granularity; default 64 KiB (rounded to pages) */
    size_t retain;       /* bytes kept committed past the end on shrink; default = commit_step */
    size_t alignment;    /* base alignment; default the granularity */
    unsigned flags;      /* RSV_REGION_* */
} rsv_region_opts_t;

typedef struct rsv_region {
    char *base;          /* start of the reservation; NULL when not initialised */
    size_t reserved;     /* bytes reserved, guard included */
    size_t usable;       /* bytes that may ever be committed (reserved - guard) */
    size_t committed;    /* committed prefix, a multiple of the page size */
    size_t peak;         /* largest `committed` ever */
    size_t step;         /* commit step in bytes */
    size_t retain;       /* retention in bytes */
    size_t commits;      /* number of OS commit calls made */
    size_t decommits;    /* number of OS decommit calls made */
    unsigned flags;      /* RSV_REGION_* as granted (LARGE_PAGES cleared on fallback) */
    size_t page;         /* unit of commit: the page size, or the large page
                            size when the reservation got hard large pages */
} rsv_region_t;

typedef struct rsv_region_stats {
    size_t reserved, committed, peak, commits, decommits;
} rsv_region_stats_t;

/* Reserves the region described by `opts` (NULL = defaults) into *r.
 * Returns 0, EINVAL (bad options) or ENOMEM; on failure *r is zeroed and the
 * error handler has been called. Commits nothing. */
RSV_API int rsv_region_init(rsv_region_t *r, const rsv_region_opts_t *opts);

/* Releases the whole reservation and zeroes *r.  Safe on a zeroed region.
 * Note: when *r lives inside the region itself, copy it out first. */
RSV_API void rsv_region_release(rsv_region_t *r);

/* Ensures [0, offset) is committed: the new end is offset rounded up to a
 * multiple of the commit step (counted from base), never past `usable`.
 * Returns 0, or ENOMEM when offset > usable or the OS refuses; on failure
 * the region (memory, fields and stats) is exactly as before, the error
 * handler has been called once, and the region stays usable. */
RSV_API int rsv_region_commit_to(rsv_region_t *r, size_t offset);

/* Shrinks the committed prefix: keeps [0, offset + retain) committed
 * (rounded up to pages) and decommits the rest, whose contents are lost (a
 * later commit reads zero).  Does nothing when that is not smaller than what
 * is committed.  Returns 0 or an error code (handler called, region as
 * before). */
RSV_API int rsv_region_decommit_from(rsv_region_t *r, size_t offset);

RSV_API void rsv_region_stats(const rsv_region_t *r, rsv_region_stats_t *out);

/* 1 when p lies inside [base, base + reserved). */
RSV_INLINE int rsv_region_contains(const rsv_region_t *r, const void *p)
{
    return (uintptr_t)p - (uintptr_t)r->base < r->reserved;
}

#ifdef __cplusplus
}
#endif

#endif /* RESERVOIR_REGION_H */
