/* bench/alloc_arena.c — Reservoir's arena behind rsvb_alloc_t, with its
 * default options.  An arena frees by reset (free is a no-op); realloc grows
 * the last block in place.  The allocation fast path is the header's inline
 * one, so this row is measured against the raw bump loop as users get it.
 * Must never: free individual blocks (the arena cannot). */
#include "workloads.h"

#include <reservoir/arena.h>

static void *aa_create(size_t block)
{
    (void)block;
    return rsv_arena_create(NULL);
}
static void aa_destroy(void *ctx) { rsv_arena_destroy((rsv_arena_t *)ctx); }
static void *aa_alloc(void *ctx, size_t size) { return rsv_arena_alloc((rsv_arena_t *)ctx, size); }
static void aa_free(void *ctx, void *p, size_t size) { (void)ctx; (void)p; (void)size; }
static void *aa_realloc(void *ctx, void *p, size_t old, size_t size)
{
    return rsv_arena_realloc((rsv_arena_t *)ctx, p, old, size);
}
static void aa_reset(void *ctx) { rsv_arena_reset((rsv_arena_t *)ctx); }

static const rsvb_alloc_t aa_ops = {
    RSVB_CAP_RESET | RSVB_CAP_REALLOC | RSVB_CAP_LARGE,
    aa_create, aa_destroy, aa_alloc, aa_free, aa_realloc, aa_reset,
};

RSVB_DEFINE_ALLOCATOR(arena, aa_ops)
