/* bench/alloc_debug.c — Reservoir's heap, arena and pool with one debug
 * feature switched on through their options (reservoir/debug.h), so the
 * report shows what each feature costs against the same allocator with the
 * debug layer off (issue 7).  Rows are named "<allocator>+<feature>" and
 * run a small subset of the workloads (RSVB_CAP_DEBUGROW); with_base adds
 * the same subset for the allocator with debug off, named plainly.
 * Must never: switch features on any other way than the public options. */
#include "rsv_ops.h"
#include "workloads.h"

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
        dh_##FEAT##_create, rsvb_heap_destroy, rsvb_heap_alloc, rsvb_heap_free,    \
        rsvb_heap_realloc, NULL,                                                   \
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
        da_##FEAT##_create, rsvb_arena_destroy, rsvb_arena_alloc, rsvb_arena_free, \
        rsvb_arena_realloc, rsvb_arena_reset,                                      \
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
        dp_##FEAT##_create, rsvb_pool_destroy, rsvb_pool_alloc, rsvb_pool_free, NULL, \
        rsvb_pool_reset,                                                           \
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
