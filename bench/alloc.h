/* bench/alloc.h — the one C interface every measured allocator sits behind,
 * so a workload is written once and run against each of them.
 *
 * Owns: rsvb_alloc_t (the operations table and its capability bits) and the
 * registration entry points of the allocator files (alloc_*.c).
 * Must never: contain workload logic (workloads.h) or allocator code.
 *
 * Each allocator file defines a `static const rsvb_alloc_t` with static
 * functions and expands RSVB_DEFINE_ALLOCATOR (workloads.h).  Because the
 * table is a compile-time constant and the workloads are inlined into that
 * file, the compiler turns every call through the table into a direct (and
 * usually inlined) call: an inline fast path such as the arena's is measured
 * as the user gets it, not through a function pointer.
 */
#ifndef RSVB_ALLOC_H
#define RSVB_ALLOC_H

#include <stddef.h>

enum {
    RSVB_CAP_FREE = 1u << 0,    /* free() makes one block reusable */
    RSVB_CAP_RESET = 1u << 1,   /* reset() frees every block at once */
    RSVB_CAP_REALLOC = 1u << 2, /* realloc() exists */
    RSVB_CAP_SHARED = 1u << 3,  /* one ctx may be used from two threads,
                                   including frees on another thread */
    RSVB_CAP_FIXED = 1u << 4,   /* one block size per ctx (a pool): every
                                   size equals create()'s block_size */
    RSVB_CAP_LARGE = 1u << 5,   /* blocks of 1-64 MiB are supported */
    RSVB_CAP_FEW = 1u << 6,     /* the 100,000-block batch cannot run: one
                                   OS mapping per block would exceed
                                   Linux's vm.max_map_count under Wine, or
                                   kernel32 holds at most 0x10000 moveable
                                   handles (GL-5); skip it */
    RSVB_CAP_DEBUGROW = 1u << 7 /* a debug-feature row: only the workloads
                                   of the debug-cost table (pair 16-4 KiB,
                                   frame, entities, request/t1) */
};

typedef struct rsvb_alloc {
    unsigned caps; /* RSVB_CAP_* */
    /* A fresh allocator instance (or a dummy non-NULL pointer for the
     * process-wide malloc).  block_size: the one size a FIXED allocator will
     * be asked for; 0 when sizes vary.  NULL on failure. */
    void *(*create)(size_t block_size);
    /* Releases the instance and everything still allocated from it. */
    void (*destroy)(void *ctx);
    /* NULL on failure.  Blocks are at least 16-byte aligned. */
    void *(*alloc)(void *ctx, size_t size);
    /* size is the size p was allocated (or last reallocated) with. */
    void (*free)(void *ctx, void *p, size_t size);
    /* Only with RSVB_CAP_REALLOC.  NULL on failure, p untouched. */
    void *(*realloc)(void *ctx, void *p, size_t old_size, size_t new_size);
    /* Only with RSVB_CAP_RESET: every block is free, memory is kept. */
    void (*reset)(void *ctx);
} rsvb_alloc_t;

/* Registration functions, one per allocator file; `name` is the row name
 * in the report (copied).  Each registers only the workloads its caps allow. */
void rsvb_register_malloc(const char *name);
void rsvb_register_bump(const char *name);
void rsvb_register_arena(const char *name);
void rsvb_register_pool(const char *name);
void rsvb_register_heap(const char *name);
void rsvb_register_rsv_malloc(const char *name);
void rsvb_register_mimalloc_linked(const char *name);
void rsvb_register_facade_heap(const char *name);
void rsvb_register_facade_global(const char *name);
void rsvb_register_cxx_new(const char *name);
void rsvb_register_k32_process_heap(const char *name);
void rsvb_register_k32_private_heap(const char *name);
void rsvb_register_k32_private_heap_noser(const char *name);
void rsvb_register_k32_global_fixed(const char *name);
void rsvb_register_k32_global_moveable(const char *name);
void rsvb_register_k32_local(const char *name);
void rsvb_register_k32_virtual(const char *name);
/* alloc_debug.c: heap, arena and pool rows with one debug feature each,
 * named "<allocator>+<feature>"; with_base: also the rows with debug off,
 * over the same workloads, named "rsv-heap", "rsv-arena", "rsv-pool". */
void rsvb_register_debug(int with_base);

#endif /* RSVB_ALLOC_H */
