/* bench/alloc_pool.c — Reservoir's fixed-size pool behind rsvb_alloc_t:
 * one pool per instance with the block size the workload asks for, default
 * options (hardened free list, single-thread).  Inline alloc and free from
 * the header.  Must never: be given a size other than create()'s. */
#include "workloads.h"

#include <reservoir/pool.h>

static void *ap_create(size_t block)
{
    rsv_pool_opts_t o = {0};
    o.block_size = block;
    return rsv_pool_create(&o);
}
static void ap_destroy(void *ctx) { rsv_pool_destroy((rsv_pool_t *)ctx); }
static void *ap_alloc(void *ctx, size_t size)
{
    (void)size;
    return rsv_pool_alloc((rsv_pool_t *)ctx);
}
static void ap_free(void *ctx, void *p, size_t size)
{
    (void)size;
    rsv_pool_free((rsv_pool_t *)ctx, p);
}
static void ap_reset(void *ctx) { rsv_pool_reset((rsv_pool_t *)ctx); }

static const rsvb_alloc_t ap_ops = {
    RSVB_CAP_FREE | RSVB_CAP_RESET | RSVB_CAP_FIXED,
    ap_create, ap_destroy, ap_alloc, ap_free, NULL, ap_reset,
};

RSVB_DEFINE_ALLOCATOR(pool, ap_ops)
