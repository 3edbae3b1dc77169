/* bench/alloc_debug.c — Reservoir's heap, arena and pool with one debug
 * feature switched on through their options (reservoir/debug.h), so the
 * report shows what each feature costs against the same allocator with the
 * debug layer off (issue 7).  Rows are named "<allocator>+<feature>" and
 * run a small subset of the workloads (RSVB_CAP_DEBUGROW); with_base adds
 * the same subset for the allocator with debug off, named plainly.
 * Must never: switch features on any other way than the public options. */
#include "workloads.h"

#include <reservoir/arena.h>
#include <reservoir/heap.h>
#include <reservoir/pool.h>

/* ---- shared operations (the create functions differ per feature) ------- */
static void dh_destroy(void *ctx) { rsv_heap_destroy((rsv_heap_t *)ctx); }
static void *dh_alloc(void *ctx, size_t size) { return rsv_heap_alloc((rsv_heap_t *)ctx, size); }
static void dh_free(void *ctx, void *p, size_t size)
{
    (void)size;
    rsv_heap_free((rsv_heap_t *)ctx, p);
}
static void *dh_realloc(void *ctx, void *p, size_t old, size_t size)
{
    (void)old;
    return rsv_heap_realloc((rsv_heap_t *)ctx, p, size);
}

static void da_destroy(void *ctx) { rsv_arena_destroy((rsv_arena_t *)ctx); }
static void *da_alloc(void *ctx, size_t size) { return rsv_arena_alloc((rsv_arena_t *)ctx, size); }
static void da_free(void *ctx, void *p, size_t size) { (void)ctx; (void)p; (void)size; }
static void *da_realloc(void *ctx, void *p, size_t old, size_t size)
{
    return rsv_arena_realloc((rsv_arena_t *)ctx, p, old, size);
}
static void da_reset(void *ctx) { rsv_arena_reset((rsv_arena_t *)ctx); }

static void dp_destroy(void *ctx) { rsv_pool_destroy((rsv_pool_t *)ctx); }
static void *dp_alloc(void *ctx, size_t size)
{
    (void)size;
    return rsv_pool_alloc((rsv_pool_t *)ctx);
}
static void dp_free(void *ctx, void *p, size_t size)
{
    (void)size;
    rsv_pool_free((rsv_pool_t *)ctx, p);
}
static void dp_reset(void *ctx) { rsv_pool_reset((rsv_pool_t *)ctx); }

/* One heap, arena and pool row per feature.  The options are copied by the
 * create functions, so they may live on the stack. */
#define DBG_ROWS(FEAT, FLAGS)                                                      \
    static void *dh_##FEAT##_create(size_t block)                                  \
    {                                                                              \
        rsv_debug_opts_t d = {0};                                                  \
        rsv_heap_opts_t o = {0};                                                   \
        (void)block;                                                               \
        d.flags = (FLAGS);                                                         \
        o.debug = &d;                                                              \
        return rsv_heap_create(&o);                                                \
    }                                                                              \
    static const rsvb_alloc_t dh_##FEAT##_ops = {                                  \
        RSVB_CAP_FREE | RSVB_CAP_REALLOC | RSVB_CAP_SHARED | RSVB_CAP_LARGE |      \
            RSVB_CAP_DEBUGROW,                                                     \
        dh_##FEAT##_create, dh_destroy, dh_alloc, dh_free, dh_realloc, NULL,       \
    };                                                                             \
    RSVB_DEFINE_ALLOCATOR(heap_##FEAT, dh_##FEAT##_ops)                            \
    static void *da_##FEAT##_create(size_t block)                                  \
    {                                                                              \
        rsv_debug_opts_t d = {0};                                                  \
        rsv_arena_opts_t o = {0};                                                  \
        (void)block;                                                               \
        d.flags = (FLAGS);                                                         \
        o.debug = &d;                                                              \
        return rsv_arena_create(&o);                                               \
    }                                                                              \
    static const rsvb_alloc_t da_##FEAT##_ops = {                                  \
        RSVB_CAP_RESET | RSVB_CAP_REALLOC | RSVB_CAP_LARGE | RSVB_CAP_DEBUGROW,    \
        da_##FEAT##_create, da_destroy, da_alloc, da_free, da_realloc, da_reset,   \
    };                                                                             \
    RSVB_DEFINE_ALLOCATOR(arena_##FEAT, da_##FEAT##_ops)                           \
    static void *dp_##FEAT##_create(size_t block)                                  \
    {                                                                              \
        rsv_debug_opts_t d = {0};                                                  \
        rsv_pool_opts_t o = {0};                                                   \
        d.flags = (FLAGS);                                                         \
        o.block_size = block;                                                      \
        o.debug = &d;                                                              \
        return rsv_pool_create(&o);                                                \
    }                                                                              \
    static const rsvb_alloc_t dp_##FEAT##_ops = {                                  \
        RSVB_CAP_FREE | RSVB_CAP_RESET | RSVB_CAP_FIXED | RSVB_CAP_DEBUGROW,       \
        dp_##FEAT##_create, dp_destroy, dp_alloc, dp_free, NULL, dp_reset,         \
    };                                                                             \
    RSVB_DEFINE_ALLOCATOR(pool_##FEAT, dp_##FEAT##_ops)

DBG_ROWS(off, 0)
DBG_ROWS(fill, RSV_DEBUG_FILL)
DBG_ROWS(canary, RSV_DEBUG_CANARY)
DBG_ROWS(quarantine, RSV_DEBUG_QUARANTINE)
DBG_ROWS(guard, RSV_DEBUG_GUARD)
DBG_ROWS(leaks, RSV_DEBUG_LEAKS)

void rsvb_register_debug(int with_base)
{
    if (with_base) {
        rsvb_register_heap_off("rsv-heap");
        rsvb_register_arena_off("rsv-arena");
        rsvb_register_pool_off("rsv-pool");
    }
    rsvb_register_heap_fill("rsv-heap+fill");
    rsvb_register_heap_canary("rsv-heap+canary");
    rsvb_register_heap_quarantine("rsv-heap+quarantine");
    rsvb_register_heap_guard("rsv-heap+guard");
    rsvb_register_heap_leaks("rsv-heap+leaks");
    rsvb_register_arena_fill("rsv-arena+fill");
    rsvb_register_arena_canary("rsv-arena+canary");
    rsvb_register_arena_quarantine("rsv-arena+quarantine");
    rsvb_register_arena_guard("rsv-arena+guard");
    rsvb_register_arena_leaks("rsv-arena+leaks");
    rsvb_register_pool_fill("rsv-pool+fill");
    rsvb_register_pool_canary("rsv-pool+canary");
    rsvb_register_pool_quarantine("rsv-pool+quarantine");
    rsvb_register_pool_guard("rsv-pool+guard");
    rsvb_register_pool_leaks("rsv-pool+leaks");
}
