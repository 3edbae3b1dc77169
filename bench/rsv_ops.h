/* bench/rsv_ops.h — the rsvb_alloc_t operations of Reservoir's heap, arena
 * and pool, shared by their allocator files and by alloc_debug.c (which
 * differ only in how they create the allocator).  Static inline, so each
 * file's constant table still turns into direct, inlinable calls.
 * Must never: create allocators (each file's create function does, with
 * its own options). */
#ifndef RSVB_RSV_OPS_H
#define RSVB_RSV_OPS_H

#include <reservoir/arena.h>
#include <reservoir/heap.h>
#include <reservoir/pool.h>

#include <stddef.h>

/* rsv_heap_t: any block size, individual free, realloc. */
static inline void rsvb_heap_destroy(void *ctx) { rsv_heap_destroy((rsv_heap_t *)ctx); }
static inline void *rsvb_heap_alloc(void *ctx, size_t size)
{
    return rsv_heap_alloc((rsv_heap_t *)ctx, size);
}
static inline void rsvb_heap_free(void *ctx, void *p, size_t size)
{
    (void)size;
    rsv_heap_free((rsv_heap_t *)ctx, p);
}
static inline void *rsvb_heap_realloc(void *ctx, void *p, size_t old, size_t size)
{
    (void)old;
    return rsv_heap_realloc((rsv_heap_t *)ctx, p, size);
}

/* rsv_arena_t: free is a no-op, reset frees all, realloc grows the last
 * block in place. */
static inline void rsvb_arena_destroy(void *ctx) { rsv_arena_destroy((rsv_arena_t *)ctx); }
static inline void *rsvb_arena_alloc(void *ctx, size_t size)
{
    return rsv_arena_alloc((rsv_arena_t *)ctx, size);
}
static inline void rsvb_arena_free(void *ctx, void *p, size_t size) { (void)ctx; (void)p; (void)size; }
static inline void *rsvb_arena_realloc(void *ctx, void *p, size_t old, size_t size)
{
    return rsv_arena_realloc((rsv_arena_t *)ctx, p, old, size);
}
static inline void rsvb_arena_reset(void *ctx) { rsv_arena_reset((rsv_arena_t *)ctx); }

/* rsv_pool_t: one block size (create's), individual free, reset. */
static inline void rsvb_pool_destroy(void *ctx) { rsv_pool_destroy((rsv_pool_t *)ctx); }
static inline void *rsvb_pool_alloc(void *ctx, size_t size)
{
    (void)size;
    return rsv_pool_alloc((rsv_pool_t *)ctx);
}
static inline void rsvb_pool_free(void *ctx, void *p, size_t size)
{
    (void)size;
    rsv_pool_free((rsv_pool_t *)ctx, p);
}
static inline void rsvb_pool_reset(void *ctx) { rsv_pool_reset((rsv_pool_t *)ctx); }

#endif /* RSVB_RSV_OPS_H */
