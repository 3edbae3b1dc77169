/* bench/alloc_heap.c — Reservoir's general-purpose heap (rsv_heap_t) behind
 * rsvb_alloc_t: one private heap per instance, serialized (the default), so
 * it may be shared between threads.  Must never: use the default heap
 * (that is the rsv_malloc row). */
#include "rsv_ops.h"
#include "workloads.h"

static void *ah_create(size_t block)
{
    (void)block;
    return rsv_heap_create(NULL);
}

static const rsvb_alloc_t ah_ops = {
    RSVB_CAP_FREE | RSVB_CAP_REALLOC | RSVB_CAP_SHARED | RSVB_CAP_LARGE,
    ah_create, rsvb_heap_destroy, rsvb_heap_alloc, rsvb_heap_free, rsvb_heap_realloc, NULL,
};

RSVB_DEFINE_ALLOCATOR(heap, ah_ops)
