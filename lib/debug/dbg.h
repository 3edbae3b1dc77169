/* lib/debug/dbg.h — the debug layer as the allocators see it: a decorator
 * over a raw backend (the arena's bump, the pool's slots, the heap's
 * blocks).  An allocator created with debug options keeps an rsvi_dbg_t
 * and, behind one predictable branch, routes alloc/free/realloc through it;
 * with debug off nothing here is called.
 *
 * Owns the block decoration (fills, canaries, guard pages), the live-block
 * table, the quarantine and the reports.  Never allocates from a heap: its
 * memory comes from reservoir/vm.h.  Never calls stdio.
 *
 * Block layout with RSV_DEBUG_CANARY (raw = what the backend returned):
 *
 *   raw             user                  user+size
 *   | 0xFD x pre    | user bytes (0xCD)   | 0xFD x post (>= 16) |
 *
 * pre = max(16, align) so user keeps its alignment.  Without canaries
 * raw == user.  With RSV_DEBUG_GUARD the block lives in its own reservation
 * (see guard.c) and the backend is not used (except for an anchor byte when
 * the backend asks for one, RSVI_DBG_BE_ANCHOR).
 */
#ifndef RSV_DEBUG_DBG_H
#define RSV_DEBUG_DBG_H

#include <stddef.h>
#include "reservoir/debug.h"

typedef struct rsvi_dbg rsvi_dbg_t;

/* Backend flags. */
enum {
    /* The allocator takes memory back in bulk (arena pop/reset, pool reset)
     * and tells the debug layer with rsvi_dbg_reclaim; reclaimed blocks are
     * checked when the backend hands their memory out again. */
    RSVI_DBG_BE_RECLAIMS = 1u << 0,
    /* Guard blocks also take one byte from the backend, so that reclaiming
     * an address range (arena pop) covers them. */
    RSVI_DBG_BE_ANCHOR = 1u << 1
};

/* The raw allocator under the decoration.  alloc returns size bytes
 * aligned to align (a power of two), or NULL without applying any OOM
 * policy; free (NULL for an arena) gives a raw block back. */
typedef struct rsvi_dbg_backend {
    void *(*alloc)(void *ctx, size_t size, size_t align);
    void (*free)(void *ctx, void *raw);
    void *ctx;
    unsigned flags;   /* RSVI_DBG_BE_* */
    /* Optional: usable bytes of a plain backend block p, 0 when p is none.
     * Lets blocks allocated before the decoration was switched on (the
     * default heap's first blocks, made while the unwinder loads) be freed
     * and reallocated without a false report. */
    size_t (*usable)(void *ctx, const void *p);
    /* A pool's block size and alignment as its user asked for them (the
     * pool itself is created with rsvi_dbg_raw_size-sized blocks). */
    size_t block_size, block_align;
} rsvi_dbg_backend_t;

/* Caller address of the public function that uses it. */
#define RSVI_DBG_SITE() __builtin_return_address(0)

/* 1 when the options ask for per-block decoration (anything but an OOM
 * policy), i.e. when the allocator must route blocks through rsvi_dbg_*. */
int rsvi_dbg_wanted(const rsv_debug_opts_t *o);

/* Creates the debug state for one allocator.  `allocator` is "heap",
 * "arena" or "pool"; `name` may be NULL; both must outlive the state.
 * Copies *o and *be.  Returns NULL (error handler called) when memory runs
 * out.  Primes the backtrace unwinder when backtraces are asked for. */
rsvi_dbg_t *rsvi_dbg_create(const rsv_debug_opts_t *o, const rsvi_dbg_backend_t *be,
                            const char *allocator, const char *name);

/* Checks every live and quarantined block, reports leaks (RSV_DEBUG_LEAKS),
 * releases guard blocks and the state itself.  Does not give plain blocks
 * back to the backend: the allocator is about to release its memory.
 * Returns the number of live blocks there were. */
size_t rsvi_dbg_destroy(rsvi_dbg_t *d, const void *site);

/* Decorated allocation of size bytes aligned to align (0 = 16).  zero != 0
 * gives zeroed bytes (calloc) whatever the fill.  On failure returns NULL
 * after applying the OOM policy. */
void *rsvi_dbg_alloc(rsvi_dbg_t *d, size_t size, size_t align, int zero, const void *site);

/* Frees p (non-NULL).  Returns 0 when p was a live block (now freed or
 * quarantined), or the rsv_debug_kind_t reported (double, invalid or
 * interior free: nothing was freed).  A corrupted canary is reported and
 * the block is freed anyway (returns 0). */
int rsvi_dbg_free(rsvi_dbg_t *d, void *p, const void *site);

/* realloc semantics on a decorated block: p == NULL allocates; otherwise a
 * new block with min(old, size) bytes copied (growth filled like a new
 * block), the old one freed as by rsvi_dbg_free.  Returns NULL when p is no
 * live block (reported) or memory runs out (OOM policy; p untouched). */
void *rsvi_dbg_realloc(rsvi_dbg_t *d, void *p, size_t size, const void *site);

/* The requested size of live block p, or 0 when p is no live block. */
size_t rsvi_dbg_usable(rsvi_dbg_t *d, const void *p);

/* 1 when p is a live block of d. */
int rsvi_dbg_owns(rsvi_dbg_t *d, const void *p);

/* 1 when p is a block of d, live or still in quarantine (so a free of it
 * belongs to d, even a double one). */
int rsvi_dbg_knows(rsvi_dbg_t *d, const void *p);

/* Checks one live block's canaries (p != NULL) or every live and
 * quarantined block (p == NULL).  Reports what it finds; returns 0 when all
 * is well, RSV_BUG_INVALID_FREE (not reported) when p is no live block, or
 * the kind of the first corruption found. */
int rsvi_dbg_validate(rsvi_dbg_t *d, const void *p, const void *site);

/* The allocator took back the memory of every block whose anchor lies in
 * [lo, hi) (arena pop_to / reset); lo == hi == NULL means every block (pool
 * reset).  Their canaries are checked, they are filled 0xDD and held in
 * quarantine until the backend hands the memory out again. */
void rsvi_dbg_reclaim(rsvi_dbg_t *d, const void *lo, const void *hi, const void *site);

/* Writes the leak report now (whatever RSV_DEBUG_LEAKS says); returns the
 * number of live blocks (0: nothing printed). */
size_t rsvi_dbg_report_leaks(rsvi_dbg_t *d, const char *when);

/* Applies the OOM policy of o (NULL: return NULL) for a failed allocation
 * of size bytes from allocator `name`.  Returns when the policy is NULL or
 * the handler returns. */
void rsvi_dbg_oom(const rsv_debug_opts_t *o, const char *allocator, const char *name, size_t size);

/* Raw bytes a block of size/align needs with the decoration of o (for a
 * pool that sizes its slots at creation); SIZE_MAX on overflow. */
size_t rsvi_dbg_raw_size(const rsv_debug_opts_t *o, size_t size, size_t align);

/* The options in force (defaults filled in) and the backend given at
 * creation. */
const rsv_debug_opts_t *rsvi_dbg_opts(const rsvi_dbg_t *d);
const rsvi_dbg_backend_t *rsvi_dbg_backend(const rsvi_dbg_t *d);

/* Maps RSV_DEBUG's RSVI_DBG_* bits (lib/env.c) onto options: the feature
 * bits, oom_abort -> RSV_OOM_ABORT, and RSV_DEBUG_ABORT (a corrupted heap
 * under malloc stops the program, as glibc's checks do).  Zero bits give
 * zeroed options. */
void rsvi_dbg_opts_from_env(unsigned bits, rsv_debug_opts_t *out);

/* Like rsvi_dbg_report_leaks, for the exit report of the default heap:
 * blocks allocated by the C runtime itself (stdio buffers, the C++
 * emergency pool: sites in libc, ld.so, libstdc++, libgcc) are never freed
 * by design and are left out, so that a program without leaks prints
 * nothing.  Returns the blocks reported. */
size_t rsvi_dbg_report_leaks_at_exit(rsvi_dbg_t *d);

/* Takes / releases the state's lock around fork(), so that a child never
 * inherits it held (pthread_atfork prepare / parent+child). */
void rsvi_dbg_fork_lock(rsvi_dbg_t *d);
void rsvi_dbg_fork_unlock(rsvi_dbg_t *d);

/* Live blocks and their bytes (tests, stats). */
void rsvi_dbg_counts(rsvi_dbg_t *d, size_t *live, size_t *live_bytes, size_t *quarantined);

#endif /* RSV_DEBUG_DBG_H */
