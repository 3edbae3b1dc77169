/* bench/alloc_rsv_malloc.c — Reservoir's malloc family (rsv_malloc,
 * rsv_free, rsv_realloc on the default heap with its per-thread caches)
 * behind rsvb_alloc_t, linked statically next to the process malloc.
 * Must never: be confused with the LD_PRELOAD row, which measures the same
 * functions under the libc names (bench/run names that row). */
#include "workloads.h"

#include <reservoir/malloc.h>

static void *arm_create(size_t block)
{
    (void)block;
    static char dummy;
    return &dummy;
}
static void arm_destroy(void *ctx) { (void)ctx; }
static void *arm_alloc(void *ctx, size_t size) { (void)ctx; return rsv_malloc(size); }
static void arm_free(void *ctx, void *p, size_t size) { (void)ctx; (void)size; rsv_free(p); }
static void *arm_realloc(void *ctx, void *p, size_t old, size_t size)
{
    (void)ctx;
    (void)old;
    return rsv_realloc(p, size);
}

static const rsvb_alloc_t arm_ops = {
    RSVB_CAP_FREE | RSVB_CAP_REALLOC | RSVB_CAP_SHARED | RSVB_CAP_LARGE,
    arm_create, arm_destroy, arm_alloc, arm_free, arm_realloc, NULL,
};

RSVB_DEFINE_ALLOCATOR(rsv_malloc, arm_ops)
