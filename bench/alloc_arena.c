/* bench/alloc_arena.c — Reservoir's arena behind rsvb_alloc_t, with its
 * default options.  An arena frees by reset (free is a no-op); realloc grows
 * the last block in place.  The allocation fast path is the header's inline
 * one, so this row is measured against the raw bump loop as users get it.
 * Must never: free individual blocks (the arena cannot). */
#include "rsv_ops.h"
#include "workloads.h"

static void *aa_create(size_t block)
{
    (void)block;
    return rsv_arena_create(NULL);
}

static const rsvb_alloc_t aa_ops = {
    RSVB_CAP_RESET | RSVB_CAP_REALLOC | RSVB_CAP_LARGE,
    aa_create, rsvb_arena_destroy, rsvb_arena_alloc, rsvb_arena_free, rsvb_arena_realloc,
    rsvb_arena_reset,
};

RSVB_DEFINE_ALLOCATOR(arena, aa_ops)
