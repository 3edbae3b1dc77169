/* bench/alloc_pool.c — Reservoir's fixed-size pool behind rsvb_alloc_t:
 * one pool per instance with the block size the workload asks for, default
 * options (hardened free list, single-thread).  Inline alloc and free from
 * the header.  Must never: be given a size other than create()'s. */
#include "rsv_ops.h"
#include "workloads.h"

static void *ap_create(size_t block)
{
    rsv_pool_opts_t o = {0};
    o.block_size = block;
    return rsv_pool_create(&o);
}

static const rsvb_alloc_t ap_ops = {
    RSVB_CAP_FREE | RSVB_CAP_RESET | RSVB_CAP_FIXED,
    ap_create, rsvb_pool_destroy, rsvb_pool_alloc, rsvb_pool_free, NULL, rsvb_pool_reset,
};

RSVB_DEFINE_ALLOCATOR(pool, ap_ops)
