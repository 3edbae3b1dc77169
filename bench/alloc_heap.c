/* bench/alloc_heap.c — Reservoir's general-purpose heap (rsv_heap_t) behind
 * rsvb_alloc_t: one private heap per instance, serialized (the default), so
 * it may be shared between threads.  Must never: use the default heap
 * (that is the rsv_malloc row). */
#include "workloads.h"

#include <reservoir/heap.h>

static void *ah_create(size_t block)
{
    (void)block;
    return rsv_heap_create(NULL);
}
static void ah_destroy(void *ctx) { rsv_heap_destroy((rsv_heap_t *)ctx); }
static void *ah_alloc(void *ctx, size_t size) { return rsv_heap_alloc((rsv_heap_t *)ctx, size); }
static void ah_free(void *ctx, void *p, size_t size)
{
    (void)size;
    rsv_heap_free((rsv_heap_t *)ctx, p);
}
static void *ah_realloc(void *ctx, void *p, size_t old, size_t size)
{
    (void)old;
    return rsv_heap_realloc((rsv_heap_t *)ctx, p, size);
}

static const rsvb_alloc_t ah_ops = {
    RSVB_CAP_FREE | RSVB_CAP_REALLOC | RSVB_CAP_SHARED | RSVB_CAP_LARGE,
    ah_create, ah_destroy, ah_alloc, ah_free, ah_realloc, NULL,
};

RSVB_DEFINE_ALLOCATOR(heap, ah_ops)
