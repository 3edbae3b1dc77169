/* lib/arena_internal.h — second-tier (rsvi_) functions of the arena and
 * pool layer for the rest of the library: the debug layer's switch onto the
 * out-of-line paths, and the validators tests call.
 *
 * Owned by lib/arena.c and lib/pool.c.  Not installed.  Nothing declared
 * here may be called on a fast path.
 */
#ifndef RSV_ARENA_INTERNAL_H
#define RSV_ARENA_INTERNAL_H

#include "reservoir/arena.h"
#include "reservoir/pool.h"

/* ---- arena.c ------------------------------------------------------------ */
/* Reasons that keep an arena's inline path off (limit == pos), so every
 * allocation goes through rsv_arena_alloc_slow. */
enum {
    RSVI_ARENA_SLOW_TOOLS = 1u << 0,   /* ASan or Valgrind must see each block */
    RSVI_ARENA_SLOW_DEBUG = 1u << 1    /* the debug layer (issue 7) */
};
/* Sets (on != 0) or clears one reason.  The debug layer sets
 * RSVI_ARENA_SLOW_DEBUG right after rsv_arena_create and keeps its state in
 * a->debug; see the HOOK(debug) comments in lib/arena.c. */
void rsvi_arena_set_slow(rsv_arena_t *a, unsigned reason, int on);
/* 1 when the arena's invariants (lib/arena.c) hold, 0 otherwise. */
int rsvi_arena_validate(const rsv_arena_t *a);

/* ---- pool.c ------------------------------------------------------------- */
/* Reasons that keep a pool's inline paths off (see reservoir/pool.h). */
enum {
    RSVI_POOL_SLOW_SHARED = 1u << 0,   /* RSV_POOL_SHARED: take the lock */
    RSVI_POOL_SLOW_TOOLS = 1u << 1,    /* ASan or Valgrind tracking */
    RSVI_POOL_SLOW_DEBUG = 1u << 2     /* the debug layer (issue 7) */
};
/* Sets or clears one reason; only while no other thread uses the pool. */
void rsvi_pool_set_slow(rsv_pool_t *p, unsigned reason, int on);
/* Walks the free list and the in-use map: 1 when consistent, 0 otherwise. */
int rsvi_pool_validate(rsv_pool_t *p);

#endif /* RSV_ARENA_INTERNAL_H */
