/* reservoir/arena.h — bump arenas on regions: allocate by moving a
 * position forward, free everything past a saved position at once.
 *
 * Owns: rsv_arena_t and its options, positions and temporary scopes
 * (rsv_temp_t), the per-thread scratch arenas, and the typed helpers
 * RSV_NEW / RSV_NEW_ARRAY.  Includes no OS header.  An arena belongs to one
 * thread at a time; nothing here locks.
 *
 * Layout.  An arena is one region; its header (this struct) sits at the
 * region's start, and allocations follow it:
 *
 *   base                  pos              limit/committed end      reserve
 *   [rsv_arena_t|  used   |   committed, free  |     reserved only      ]
 *
 * With RSV_ARENA_CHAIN, a full reservation links a new region (a block with
 * the same header) and allocation continues there; `current` names it.
 *
 * The fast path (rsv_arena_alloc, inline below) compares the request with
 * `limit - pos` and bumps `pos`; anything else — more commit, a chained
 * block, zeroing recycled memory, sanitizer bookkeeping, the debug layer —
 * happens out of line in rsv_arena_alloc_slow.  The library forces a call
 * onto the slow path by setting `limit` to `pos`, so the inline code never
 * changes shape whatever is switched on (DESIGN decision 7).
 */
#ifndef RESERVOIR_ARENA_H
#define RESERVOIR_ARENA_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "debug.h"
#include "region.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    /* Every allocation reads as zero (recycled memory is cleared lazily). */
    RSV_ARENA_ZERO = 1u << 0,
    /* When the reservation is full, reserve a new region and go on there
     * instead of returning NULL. */
    RSV_ARENA_CHAIN = 1u << 1
};

/* Zero in any field means its default; NULL options mean all defaults. */
typedef struct rsv_arena_opts {
    size_t reserve;      /* address space per region; default 4 GiB (64 MiB on 32-bit) */
    size_t commit_step;  /* commit granularity; default 64 KiB */
    size_t retain;       /* bytes kept committed past what the arena used
                            before pop_to/reset; default 1 MiB */
    size_t alignment;    /* alignment of rsv_arena_alloc, a power of two
                            <= 4096; default alignof(max_align_t) */
    unsigned flags;      /* RSV_ARENA_* */
    const char *name;    /* debug name; the pointer is kept, not copied */
    /* Debug layer (reservoir/debug.h), NULL = off; copied.  With it on every
     * allocation takes the out-of-line path; pop_to/reset free the blocks
     * past the position.  Ignored when rsv_debug_available() is 0. */
    const rsv_debug_opts_t *debug;
} rsv_arena_opts_t;

typedef struct rsv_arena rsv_arena_t;
struct rsv_arena {
    /* Hot: read and written by the inline fast path. */
    char *pos;             /* next free byte of the current block, aligned */
    char *limit;           /* the inline path serves n only when n < limit - pos;
                              the library sets it to pos to force the slow path */
    size_t align_mask;     /* default alignment - 1 */
    /* Cold: the library's own. */
    rsv_arena_t *current;  /* block that allocations come from (this one unless chained) */
    rsv_arena_t *prev;     /* in a chained block: the block before it */
    size_t base_pos;       /* logical position of this block's first byte */
    char *dirty;           /* end of the memory handed out since its last commit */
    unsigned flags;        /* RSV_ARENA_* */
    unsigned slow;         /* reasons to keep limit == pos (RSVI_ARENA_SLOW_* bits) */
    void *debug;           /* the debug layer's per-arena state; NULL when off */
    const char *name;
    size_t chain_reserve;  /* reserve asked for (chained blocks use at least this) */
    rsv_region_t region;   /* this block's region; the struct lives inside it */
};

/* A saved position; rsv_temp_end returns the arena to it. */
typedef struct rsv_temp {
    rsv_arena_t *arena;
    size_t pos;
} rsv_temp_t;

/* Creates an arena described by `opts` (NULL = defaults).  Returns NULL when
 * an option is invalid (EINVAL) or the reservation or first commit fails;
 * the error handler has been told.  Free it with rsv_arena_destroy. */
RSV_API rsv_arena_t *rsv_arena_create(const rsv_arena_opts_t *opts);

/* Releases every region of the arena: O(blocks), never walks allocations.
 * NULL is allowed.  Every pointer from the arena becomes invalid. */
RSV_API void rsv_arena_destroy(rsv_arena_t *a);

#define RSV_ARENA_MAX_ALIGN ((size_t)1 << 30)

/* Out-of-line part of every allocation: align must be 0 (the default) or a
 * power of two <= RSV_ARENA_MAX_ALIGN.  Returns NULL on a bad argument
 * (EINVAL), a full reservation (ENOMEM, unless RSV_ARENA_CHAIN) or a failed
 * commit; the arena is then unchanged and still usable. */
RSV_API void *rsv_arena_alloc_slow(rsv_arena_t *a, size_t size, size_t align) RSV_MALLOC_ATTR;

/* `size` bytes aligned to the arena's alignment; NULL as rsv_arena_alloc_slow.
 * Size 0 gives a valid pointer that must not be dereferenced.  The memory
 * lives until the position moves back past it. */
RSV_INLINE void *rsv_arena_alloc(rsv_arena_t *a, size_t size)
{
    char *p = a->pos;
    /* limit - pos is a multiple of the alignment, so size < limit - pos
     * implies the rounded size fits and cannot overflow. */
    if (RSV_LIKELY(size < (size_t)(a->limit - p))) {
        a->pos = p + ((size + a->align_mask) & ~a->align_mask);
        return p;
    }
    return rsv_arena_alloc_slow(a, size, 0);
}

/* `size` bytes aligned to `align`, a power of two up to RSV_ARENA_MAX_ALIGN
 * (0 = the arena's alignment); NULL with EINVAL for any other align.
 * Inline when align is no more than the arena's alignment. */
RSV_INLINE void *rsv_arena_alloc_aligned(rsv_arena_t *a, size_t size, size_t align)
{
    if ((align & (align - 1)) == 0 && align - 1 <= a->align_mask)
        return rsv_arena_alloc(a, size);
    return rsv_arena_alloc_slow(a, size, align);
}

/* n * size zeroed bytes; NULL (EINVAL) when n * size overflows. */
RSV_API void *rsv_arena_calloc(rsv_arena_t *a, size_t n, size_t size) RSV_MALLOC_ATTR;

/* Resizes p, a block of `old_size` bytes from this arena.  The last block
 * grows or shrinks in place; another block is copied into a new one (a
 * smaller size returns p unchanged).  p == NULL acts as rsv_arena_alloc.
 * Returns NULL on failure with p still valid; with checks on, a p that the
 * arena did not hand out is reported (EINVAL) and NULL returned. */
RSV_API void *rsv_arena_realloc(rsv_arena_t *a, void *p, size_t old_size, size_t new_size);

/* The current position: a number that only grows as memory is allocated. */
RSV_API size_t rsv_arena_pos(const rsv_arena_t *a);

/* Frees everything allocated after position `pos` (from rsv_arena_pos).
 * Keeps committed what the arena used just before the pop plus `retain`
 * bytes, and decommits the rest, so a steady frame never re-faults and a
 * spike is given back at the next pop that does not reach it again; releases
 * chained blocks that lie wholly after it.  A pos ahead of the current one
 * does nothing. */
RSV_API void rsv_arena_pop_to(rsv_arena_t *a, size_t pos);

/* Frees every allocation (pop_to the first byte). */
RSV_API void rsv_arena_reset(rsv_arena_t *a);

/* The debug name given at creation, or NULL. */
RSV_API const char *rsv_arena_name(const rsv_arena_t *a);

typedef struct rsv_arena_stats {
    size_t pos;          /* as rsv_arena_pos */
    size_t used;         /* bytes between the first allocation and pos (all blocks) */
    size_t committed;    /* committed bytes, all blocks */
    size_t reserved;     /* reserved bytes, all blocks */
    size_t peak;         /* most committed at once in the current block's region */
    size_t blocks;       /* regions in the chain (1 unless chained) */
} rsv_arena_stats_t;

RSV_API void rsv_arena_stats(const rsv_arena_t *a, rsv_arena_stats_t *out);

/* Temporary scopes: everything allocated between begin and end is freed at
 * end.  Scopes nest like a stack. */
RSV_API rsv_temp_t rsv_temp_begin(rsv_arena_t *a);
RSV_API void rsv_temp_end(rsv_temp_t t);

/* Per-thread scratch arenas.  Returns a scope on one of the calling
 * thread's RSV_SCRATCH_COUNT scratch arenas that is none of conflicts[0..n)
 * (pass the arenas the caller is allocating its results in; n may be 0 and
 * conflicts NULL).  The arenas are created on first use and released when
 * the thread exits.  Returns a scope whose arena is NULL when every scratch
 * arena conflicts or one cannot be created (the error handler is told).
 * End it with rsv_scratch_end (or rsv_temp_end). */
#define RSV_SCRATCH_COUNT 2
RSV_API rsv_temp_t rsv_scratch_begin(rsv_arena_t *const *conflicts, size_t n);
RSV_API void rsv_scratch_end(rsv_temp_t t);

/* n * size bytes aligned to `align` (0 = the arena's), zeroed; NULL with
 * EINVAL when n * size overflows. */
RSV_API void *rsv_arena_calloc_aligned(rsv_arena_t *a, size_t n, size_t size,
                                       size_t align) RSV_MALLOC_ATTR;

/* n elements of `size` bytes aligned to `align`, zeroed when zero != 0;
 * NULL (EINVAL) when n * size overflows.  Used by the macros below. */
RSV_INLINE void *rsv_arena_alloc_array(rsv_arena_t *a, size_t n, size_t size,
                                       size_t align, int zero)
{
    if (zero || (size != 0 && n > SIZE_MAX / size))
        return rsv_arena_calloc_aligned(a, n, size, align);
    return rsv_arena_alloc_aligned(a, n * size, align);
}

/* Typed helpers.  Each yields a T * (NULL on failure); the ARRAY forms check
 * n * sizeof(T) for overflow; the ZERO forms return zeroed memory.  `a` and
 * `n` are evaluated once. */
#define RSV_NEW(a, T) \
    ((T *)rsv_arena_alloc_aligned((a), sizeof(T), alignof(T)))
#define RSV_NEW_ZERO(a, T) \
    ((T *)rsv_arena_calloc_aligned((a), 1, sizeof(T), alignof(T)))
#define RSV_NEW_ARRAY(a, T, n) \
    ((T *)rsv_arena_alloc_array((a), (n), sizeof(T), alignof(T), 0))
#define RSV_NEW_ARRAY_ZERO(a, T, n) \
    ((T *)rsv_arena_alloc_array((a), (n), sizeof(T), alignof(T), 1))

#ifdef __cplusplus
}
#endif

#endif /* RESERVOIR_ARENA_H */
