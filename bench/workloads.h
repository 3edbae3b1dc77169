/* bench/workloads.h — the workloads of issue 8, written once against
 * rsvb_alloc_t, plus RSVB_DEFINE_ALLOCATOR, which instantiates all of them
 * for one allocator file.
 *
 * Owns: what each workload does and how its time is counted.  Every
 * workload writes the first word of each block it gets (the first byte of
 * every page for large blocks), so the cost of memory an allocator hands out
 * untouched shows up, as it would in a program.
 *
 *   pair/S        alloc + free of one S-byte block, repeated; time per pair.
 *                 Batches of 1,000 pairs (128 at 64 KiB, 8 at 1 MiB);
 *                 allocators without free() reset after every batch, so
 *                 they hand out up to 8 MiB between resets.
 *   batch/O-D     allocate 100,000 blocks (D: all 64 B, or the mixed
 *                 16 B-64 KiB table), then free them in order O (lifo, fifo,
 *                 random); time per block (alloc + free), after one untimed
 *                 batch (steady state, not first touch).
 *   realloc       grow one block from 64 B to 64 MiB by 1/8 per step,
 *                 writing each new tail, like a growing vector; time per
 *                 growth (after one untimed growth, so steady state).
 *   frame         10,000 objects of the small table per frame, then free
 *                 all one by one (FIFO), or reset; time per frame.
 *   entities      10,000 live 192-byte entities; each step frees a random
 *                 one and allocates its replacement; time per step.
 *   request/tN    a server request: 200 objects of the small table, then
 *                 free them all (or reset); N threads, each with its own
 *                 allocator instance; time per request at the combined rate.
 *   prodcons      one thread allocates small-table blocks and passes them
 *                 through a ring to a second thread that frees them (blocks
 *                 freed on another thread); time per block.
 *   xthread/tN    N threads share one allocator instance; each allocates
 *                 200 objects of the small table, hands them to the next
 *                 thread's mailbox (or frees them itself when that is still
 *                 full) and frees what its own mailbox holds, so most blocks
 *                 die on another thread; time per block.  Registered only
 *                 with RSVB_SCALING=list of N (the 16-core scaling run).
 *   large         alloc, touch every page, free of blocks of 1-64 MiB
 *                 (log-uniform); time per block, after one untimed block of
 *                 the largest size (steady state, not first touch).
 *   rss/W         runs workload W twice in a fresh process and
 *                 reports peak_kib (peak resident minus the resident size
 *                 before the first run, taken once the allocator instance
 *                 exists and has served one block) and after_kib (resident after
 *                 everything was freed or reset, minus the same baseline).
 *
 * Must never: call the allocator under test outside the measured loop
 * except to set up and tear down; allocate its own bookkeeping from the
 * allocator under test (arrays come from the process malloc before timing).
 */
#ifndef RSVB_WORKLOADS_H
#define RSVB_WORKLOADS_H

#include "alloc.h"
#include "rss.h"
#include "shim.h"
#include "tables.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RSVB_INLINE static inline __attribute__((always_inline))
/* Makes p escape, so a compiler cannot drop an alloc/free pair. */
#define RSVB_ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")
#define RSVB_MIB ((size_t)1 << 20)

RSVB_INLINE void rsvb_touch(void *p)
{
    *(volatile size_t *)p = (size_t)p;
    RSVB_ESCAPE(p);
}

/* Without free(), an allocator gives its memory back by reset. */
RSVB_INLINE void rsvb_end_batch(const rsvb_alloc_t *a, void *ctx)
{
    if (!(a->caps & RSVB_CAP_FREE)) a->reset(ctx);
}

RSVB_INLINE void *rsvb_open(rsvb_state *st, const rsvb_alloc_t *a, size_t block)
{
    void *ctx = a->create(block);
    if (!ctx) rsvb_skip(st, "allocator create failed");
    return ctx;
}

/* ---- parameters (one static table per workload, shared by all files) ---- */

typedef struct rsvb_pair_param { size_t size; int64_t batch; const char *label; } rsvb_pair_param;
static const rsvb_pair_param rsvb_pair_params[] = {
    {16, 1000, "16"},     {64, 1000, "64"},    {256, 1000, "256"},
    {1024, 1000, "1KiB"}, {4096, 1000, "4KiB"}, {65536, 128, "64KiB"},
    {1048576, 8, "1MiB"},
};

enum { RSVB_LIFO, RSVB_FIFO, RSVB_RANDOM };
typedef struct rsvb_batch_param { int order; int mixed; const char *label; } rsvb_batch_param;
static const rsvb_batch_param rsvb_batch_params[] = {
    {RSVB_LIFO, 0, "lifo-64"},     {RSVB_FIFO, 0, "fifo-64"},
    {RSVB_RANDOM, 0, "random-64"}, {RSVB_LIFO, 1, "lifo-mixed"},
    {RSVB_FIFO, 1, "fifo-mixed"},  {RSVB_RANDOM, 1, "random-mixed"},
};

#define RSVB_FRAME_N 10000u
#define RSVB_ENTITY_N 10000u
#define RSVB_ENTITY_SIZE 192u
#define RSVB_REQUEST_N 200u
#define RSVB_REALLOC_MAX (64 * RSVB_MIB)

/* ---- one unit of each workload (shared by the timed and the RSS runs) --- */

/* One batch of the batch workload; returns 0, or -1 when an allocation
 * failed (everything allocated so far is freed). */
RSVB_INLINE int rsvb_batch_once(const rsvb_alloc_t *a, void *ctx, void **ptrs,
                                const rsvb_batch_param *bp)
{
    const uint32_t *sz = rsvb_tab.mixed;
    const uint32_t n = RSVB_TABLE_N;
    uint32_t got = 0;
    for (; got < n; got++) {
        size_t s = bp->mixed ? sz[got] : 64;
        void *p = a->alloc(ctx, s);
        if (!p) break;
        rsvb_touch(p);
        ptrs[got] = p;
    }
    if (got < n || !(a->caps & RSVB_CAP_FREE)) {
        for (uint32_t i = 0; i < got && (a->caps & RSVB_CAP_FREE); i++)
            a->free(ctx, ptrs[i], bp->mixed ? sz[i] : 64);
        rsvb_end_batch(a, ctx);
        return got < n ? -1 : 0;
    }
    if (bp->order == RSVB_LIFO) {
        for (uint32_t i = n; i-- > 0;) a->free(ctx, ptrs[i], bp->mixed ? sz[i] : 64);
    } else if (bp->order == RSVB_FIFO) {
        for (uint32_t i = 0; i < n; i++) a->free(ctx, ptrs[i], bp->mixed ? sz[i] : 64);
    } else {
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = rsvb_tab.perm[k];
            a->free(ctx, ptrs[i], bp->mixed ? sz[i] : 64);
        }
    }
    return 0;
}

/* One growth from 64 B to 64 MiB, freed at the end.  0 or -1. */
RSVB_INLINE int rsvb_realloc_once(const rsvb_alloc_t *a, void *ctx)
{
    size_t cap = 64;
    char *p = (char *)a->alloc(ctx, cap);
    if (!p) return -1;
    memset(p, 1, cap);
    while (cap < RSVB_REALLOC_MAX) {
        size_t next = (cap + cap / 8 + 15) & ~(size_t)15;
        if (next > RSVB_REALLOC_MAX) next = RSVB_REALLOC_MAX;
        char *q = (char *)a->realloc(ctx, p, cap, next);
        if (!q) {
            a->free(ctx, p, cap);
            rsvb_end_batch(a, ctx);
            return -1;
        }
        memset(q + cap, 2, next - cap);
        p = q;
        cap = next;
    }
    RSVB_ESCAPE(p);
    a->free(ctx, p, cap);
    rsvb_end_batch(a, ctx);
    return 0;
}

/* Allocates n objects with sizes sz[0..n-1] into ptrs, then frees them all
 * (FIFO) or resets.  Used by frame and request.  0 or -1. */
RSVB_INLINE int rsvb_group_once(const rsvb_alloc_t *a, void *ctx, void **ptrs,
                                const uint32_t *sz, uint32_t n)
{
    uint32_t got = 0;
    for (; got < n; got++) {
        void *p = a->alloc(ctx, sz[got]);
        if (!p) break;
        rsvb_touch(p);
        ptrs[got] = p;
    }
    if (a->caps & RSVB_CAP_FREE)
        for (uint32_t i = 0; i < got; i++) a->free(ctx, ptrs[i], sz[i]);
    rsvb_end_batch(a, ctx);
    return got < n ? -1 : 0;
}

/* Fills live[] with RSVB_ENTITY_N entities; 0 or -1 (nothing left live). */
RSVB_INLINE int rsvb_entities_fill(const rsvb_alloc_t *a, void *ctx, void **live)
{
    for (uint32_t i = 0; i < RSVB_ENTITY_N; i++) {
        live[i] = a->alloc(ctx, RSVB_ENTITY_SIZE);
        if (!live[i]) {
            while (i-- > 0) a->free(ctx, live[i], RSVB_ENTITY_SIZE);
            return -1;
        }
        rsvb_touch(live[i]);
    }
    return 0;
}

/* n churn steps starting at victim index *k.  0 or -1 (live[] stays whole:
 * a failed replacement keeps the old entity). */
RSVB_INLINE int rsvb_entities_steps(const rsvb_alloc_t *a, void *ctx, void **live,
                                    uint32_t *k, uint32_t n)
{
    for (uint32_t s = 0; s < n; s++) {
        uint32_t i = rsvb_tab.victim[*k];
        *k = *k + 1 < RSVB_TABLE_N ? *k + 1 : 0;
        void *p = a->alloc(ctx, RSVB_ENTITY_SIZE);
        if (!p) return -1;
        rsvb_touch(p);
        a->free(ctx, live[i], RSVB_ENTITY_SIZE);
        live[i] = p;
    }
    return 0;
}

RSVB_INLINE void rsvb_entities_drop(const rsvb_alloc_t *a, void *ctx, void **live)
{
    for (uint32_t i = 0; i < RSVB_ENTITY_N; i++) a->free(ctx, live[i], RSVB_ENTITY_SIZE);
}

/* One large block: alloc, touch every page, free.  0 or -1. */
RSVB_INLINE int rsvb_large_once(const rsvb_alloc_t *a, void *ctx, size_t size)
{
    char *p = (char *)a->alloc(ctx, size);
    if (!p) return -1;
    for (size_t off = 0; off < size; off += 4096) p[off] = (char)off;
    RSVB_ESCAPE(p);
    a->free(ctx, p, size);
    rsvb_end_batch(a, ctx);
    return 0;
}

/* ---- timed bodies ------------------------------------------------------- */

RSVB_INLINE void rsvb_w_pair(rsvb_state *st, const rsvb_alloc_t *a, const rsvb_pair_param *pp)
{
    const size_t size = pp->size;
    void *ctx = rsvb_open(st, a, size);
    if (!ctx) return;
    while (rsvb_keep_running(st, pp->batch)) {
        for (int64_t i = 0; i < pp->batch; i++) {
            void *p = a->alloc(ctx, size);
            if (!p) { rsvb_skip(st, "allocation failed"); goto out; }
            rsvb_touch(p);
            a->free(ctx, p, size);
        }
        rsvb_end_batch(a, ctx);
    }
out:
    a->destroy(ctx);
}

RSVB_INLINE void rsvb_w_batch(rsvb_state *st, const rsvb_alloc_t *a, const rsvb_batch_param *bp)
{
    void **ptrs = (void **)malloc(RSVB_TABLE_N * sizeof *ptrs);
    void *ctx = ptrs ? rsvb_open(st, a, bp->mixed ? 0 : 64) : NULL;
    if (!ctx) { free(ptrs); if (!ptrs) rsvb_skip(st, "no memory for the table"); return; }
    /* Steady state, not first touch: one untimed batch first.  A full run
     * times only one or two batches per round (0.02 s), so without it an
     * allocator instance created for the benchmark (rsv-heap, the façade's
     * private heaps, an arena) paid the page faults of its whole working
     * set inside the figure while a process malloc warmed by the previous
     * benchmarks did not. */
    if (rsvb_batch_once(a, ctx, ptrs, bp) != 0) rsvb_skip(st, "allocation failed");
    while (rsvb_keep_running(st, RSVB_TABLE_N))
        if (rsvb_batch_once(a, ctx, ptrs, bp) != 0) { rsvb_skip(st, "allocation failed"); break; }
    a->destroy(ctx);
    free(ptrs);
}

RSVB_INLINE void rsvb_w_realloc(rsvb_state *st, const rsvb_alloc_t *a)
{
    void *ctx = rsvb_open(st, a, 0);
    if (!ctx) return;
    if (rsvb_realloc_once(a, ctx) != 0) rsvb_skip(st, "allocation failed"); /* warm-up */
    while (rsvb_keep_running(st, 1))
        if (rsvb_realloc_once(a, ctx) != 0) { rsvb_skip(st, "allocation failed"); break; }
    a->destroy(ctx);
}

RSVB_INLINE void rsvb_w_frame(rsvb_state *st, const rsvb_alloc_t *a)
{
    void **ptrs = (void **)malloc(RSVB_FRAME_N * sizeof *ptrs);
    void *ctx = ptrs ? rsvb_open(st, a, 0) : NULL;
    if (!ctx) { free(ptrs); if (!ptrs) rsvb_skip(st, "no memory for the table"); return; }
    uint32_t off = 0;
    while (rsvb_keep_running(st, 1)) {
        if (rsvb_group_once(a, ctx, ptrs, rsvb_tab.small + off, RSVB_FRAME_N) != 0) {
            rsvb_skip(st, "allocation failed");
            break;
        }
        off = off + 2 * RSVB_FRAME_N <= RSVB_TABLE_N ? off + RSVB_FRAME_N : 0;
    }
    a->destroy(ctx);
    free(ptrs);
}

RSVB_INLINE void rsvb_w_entities(rsvb_state *st, const rsvb_alloc_t *a)
{
    void **live = (void **)malloc(RSVB_ENTITY_N * sizeof *live);
    void *ctx = live ? rsvb_open(st, a, RSVB_ENTITY_SIZE) : NULL;
    if (!ctx) { free(live); if (!live) rsvb_skip(st, "no memory for the table"); return; }
    uint32_t k = 0;
    if (rsvb_entities_fill(a, ctx, live) != 0) {
        rsvb_skip(st, "allocation failed");
    } else {
        while (rsvb_keep_running(st, 1000))
            if (rsvb_entities_steps(a, ctx, live, &k, 1000) != 0) {
                rsvb_skip(st, "allocation failed");
                break;
            }
        rsvb_entities_drop(a, ctx, live);
    }
    a->destroy(ctx);
    free(live);
}

RSVB_INLINE void rsvb_w_request(rsvb_state *st, const rsvb_alloc_t *a)
{
    void *ptrs[RSVB_REQUEST_N];
    void *ctx = rsvb_open(st, a, 0);
    if (!ctx) return;
    uint32_t off = (uint32_t)rsvb_thread_index(st) * 7919u % (RSVB_TABLE_N - RSVB_REQUEST_N);
    while (rsvb_keep_running(st, 1)) {
        if (rsvb_group_once(a, ctx, ptrs, rsvb_tab.small + off, RSVB_REQUEST_N) != 0) {
            rsvb_skip(st, "allocation failed");
            break;
        }
        off = off + 2 * RSVB_REQUEST_N <= RSVB_TABLE_N ? off + RSVB_REQUEST_N : 0;
    }
    a->destroy(ctx);
}

RSVB_INLINE void rsvb_w_large(rsvb_state *st, const rsvb_alloc_t *a)
{
    void *ctx = rsvb_open(st, a, 0);
    if (!ctx) return;
    uint32_t k = 0;
    /* Steady state, not first touch: one untimed block of the largest size. */
    size_t biggest = 0;
    for (uint32_t i = 0; i < RSVB_LARGE_N; i++)
        if (rsvb_tab.large[i] > biggest) biggest = rsvb_tab.large[i];
    if (rsvb_large_once(a, ctx, biggest) != 0) rsvb_skip(st, "allocation failed");
    while (rsvb_keep_running(st, 1)) {
        if (rsvb_large_once(a, ctx, rsvb_tab.large[k]) != 0) {
            rsvb_skip(st, "allocation failed");
            break;
        }
        k = (k + 1) % RSVB_LARGE_N;
    }
    a->destroy(ctx);
}

/* ---- producer/consumer -------------------------------------------------- */

/* Power of two.  Large, so that on a loaded machine either thread can run a
 * whole time slice without waiting for the other. */
#define RSVB_RING 16384u
typedef struct rsvb_ring {
    _Alignas(64) _Atomic uint32_t head; /* written by the producer */
    _Alignas(64) _Atomic uint32_t tail; /* written by the consumer */
    _Alignas(64) void *slot[RSVB_RING];
    const rsvb_alloc_t *a;
    void *ctx;
} rsvb_ring;

/* Waiting for the other thread: spin briefly, then give the core away, so
 * that on a loaded two-core machine the partner gets to run at all. */
static inline void rsvb_cpu_relax(unsigned *spins)
{
    if ((++*spins & 63u) == 0) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* The consumer: frees what arrives until a NULL block ends the run. */
RSVB_INLINE void rsvb_consume(rsvb_ring *r, const rsvb_alloc_t *a)
{
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t k = 0;
    unsigned spins = 0;
    for (;;) {
        uint32_t head;
        while ((head = atomic_load_explicit(&r->head, memory_order_acquire)) == tail)
            rsvb_cpu_relax(&spins);
        while (tail != head) {
            void *p = r->slot[tail % RSVB_RING];
            if (!p) {
                atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
                return;
            }
            a->free(r->ctx, p, rsvb_tab.small[k]);
            k = k + 1 < RSVB_TABLE_N ? k + 1 : 0;
            tail++;
        }
        atomic_store_explicit(&r->tail, tail, memory_order_release);
    }
}

RSVB_INLINE void rsvb_produce(rsvb_ring *r, void *p)
{
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    unsigned spins = 0;
    while (head - atomic_load_explicit(&r->tail, memory_order_acquire) >= RSVB_RING)
        rsvb_cpu_relax(&spins);
    r->slot[head % RSVB_RING] = p;
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

/* One ring per translation unit; prodcons benchmarks run one at a time. */
static rsvb_ring rsvb_ring_storage;

RSVB_INLINE void rsvb_w_prodcons(rsvb_state *st, const rsvb_alloc_t *a,
                                 void *(*consumer)(void *))
{
    rsvb_ring *r = &rsvb_ring_storage;
    memset(r, 0, sizeof *r);
    r->a = a;
    r->ctx = rsvb_open(st, a, 0);
    pthread_t th;
    if (!r->ctx) return;
    if (pthread_create(&th, NULL, consumer, r) != 0) {
        rsvb_skip(st, "pthread_create failed");
        a->destroy(r->ctx);
        return;
    }
    uint32_t k = 0;
    while (rsvb_keep_running(st, 1000)) {
        for (int i = 0; i < 1000; i++) {
            void *p = a->alloc(r->ctx, rsvb_tab.small[k]);
            if (!p) { rsvb_skip(st, "allocation failed"); goto done; }
            k = k + 1 < RSVB_TABLE_N ? k + 1 : 0;
            rsvb_touch(p);
            rsvb_produce(r, p);
        }
    }
done:
    rsvb_produce(r, NULL);
    pthread_join(th, NULL);
    a->destroy(r->ctx);
}

/* ---- cross-thread scaling (xthread/tN) ---------------------------------- */

#define RSVB_XT_MAX 64
/* One mailbox per benchmark thread: a batch another thread handed over. */
typedef struct rsvb_mailbox {
    _Alignas(64) _Atomic int full;
    uint32_t first;                  /* table index of the first size */
    void *blocks[RSVB_REQUEST_N];
} rsvb_mailbox;
/* Shared by the threads of one xthread benchmark (they run one at a time
 * per translation unit): the allocator instance, the mailboxes, and a
 * counter of threads done draining (thread 0 destroys the instance last). */
typedef struct rsvb_xt {
    _Atomic(void *) ctx;
    _Atomic int failed;
    _Atomic int drained;
    rsvb_mailbox box[RSVB_XT_MAX];
} rsvb_xt;
static rsvb_xt rsvb_xt_storage;

RSVB_INLINE void rsvb_xt_free_box(const rsvb_alloc_t *a, void *ctx, rsvb_mailbox *m)
{
    for (uint32_t i = 0; i < RSVB_REQUEST_N; i++) a->free(ctx, m->blocks[i], rsvb_tab.small[m->first + i]);
    atomic_store_explicit(&m->full, 0, memory_order_release);
}

RSVB_INLINE void rsvb_w_xthread(rsvb_state *st, const rsvb_alloc_t *a)
{
    rsvb_xt *x = &rsvb_xt_storage;
    int me = rsvb_thread_index(st), n = rsvb_thread_count(st);
    if (n > RSVB_XT_MAX) { rsvb_skip(st, "too many threads"); return; }
    void *ctx;
    if (me == 0) {
        memset(x->box, 0, sizeof x->box);
        atomic_store(&x->drained, 0);
        atomic_store(&x->failed, 0);
        ctx = a->create(0);
        if (!ctx) atomic_store(&x->failed, 1);
        atomic_store_explicit(&x->ctx, ctx, memory_order_release);
    }
    unsigned spins = 0;
    while (!(ctx = atomic_load_explicit(&x->ctx, memory_order_acquire)) && !atomic_load(&x->failed))
        rsvb_cpu_relax(&spins);
    if (!ctx) { rsvb_skip(st, "allocator create failed"); return; }
    rsvb_mailbox *mine = &x->box[me], *next = &x->box[(me + 1) % n];
    void *local[RSVB_REQUEST_N];
    uint32_t off = (uint32_t)me * 7919u % (RSVB_TABLE_N - RSVB_REQUEST_N);
    while (rsvb_keep_running(st, RSVB_REQUEST_N)) {
        int handed = n > 1 && !atomic_load_explicit(&next->full, memory_order_acquire);
        void **dst = handed ? next->blocks : local;
        uint32_t got = 0;
        for (; got < RSVB_REQUEST_N; got++) {
            void *p = a->alloc(ctx, rsvb_tab.small[off + got]);
            if (!p) break;
            rsvb_touch(p);
            dst[got] = p;
        }
        if (got < RSVB_REQUEST_N) {
            for (uint32_t i = 0; i < got; i++) a->free(ctx, dst[i], rsvb_tab.small[off + i]);
            rsvb_skip(st, "allocation failed");
            break;
        }
        if (handed) {
            next->first = off;
            atomic_store_explicit(&next->full, 1, memory_order_release);
        } else {
            for (uint32_t i = 0; i < RSVB_REQUEST_N; i++) a->free(ctx, local[i], rsvb_tab.small[off + i]);
        }
        if (atomic_load_explicit(&mine->full, memory_order_acquire)) rsvb_xt_free_box(a, ctx, mine);
        off = off + 2 * RSVB_REQUEST_N <= RSVB_TABLE_N ? off + RSVB_REQUEST_N : 0;
    }
    /* Every thread has left its loop (Google Benchmark's stop barrier), so
     * no mailbox fills any more: drain our own, then thread 0 waits for
     * the others and destroys the instance. */
    if (atomic_load_explicit(&mine->full, memory_order_acquire)) rsvb_xt_free_box(a, ctx, mine);
    atomic_fetch_add(&x->drained, 1);
    if (me == 0) {
        while (atomic_load(&x->drained) < n) rsvb_cpu_relax(&spins);
        a->destroy(ctx);
        atomic_store(&x->ctx, NULL);
    }
}

/* ---- memory (RSS) ------------------------------------------------------- */

enum { RSVB_RSS_BATCH, RSVB_RSS_REALLOC, RSVB_RSS_FRAME, RSVB_RSS_ENTITIES,
       RSVB_RSS_REQUEST, RSVB_RSS_LARGE };
typedef struct rsvb_rss_param { int workload; unsigned needs; const char *label; } rsvb_rss_param;
static const rsvb_rss_param rsvb_rss_params[] = {
    {RSVB_RSS_BATCH, 0, "batch-random-mixed"},
    {RSVB_RSS_REALLOC, RSVB_CAP_REALLOC | RSVB_CAP_LARGE, "realloc"},
    {RSVB_RSS_FRAME, 0, "frame"},
    {RSVB_RSS_ENTITIES, RSVB_CAP_FREE, "entities"},
    {RSVB_RSS_REQUEST, 0, "request"},
    {RSVB_RSS_LARGE, RSVB_CAP_LARGE, "large"},
};

RSVB_INLINE int rsvb_rss_run(const rsvb_alloc_t *a, void *ctx, void **ptrs, int workload)
{
    static const rsvb_batch_param random_mixed = {RSVB_RANDOM, 1, "random-mixed"};
    int rc = 0;
    uint32_t k = 0;
    switch (workload) {
    case RSVB_RSS_BATCH: return rsvb_batch_once(a, ctx, ptrs, &random_mixed);
    case RSVB_RSS_REALLOC: return rsvb_realloc_once(a, ctx);
    case RSVB_RSS_FRAME: return rsvb_group_once(a, ctx, ptrs, rsvb_tab.small, RSVB_FRAME_N);
    case RSVB_RSS_ENTITIES:
        if (rsvb_entities_fill(a, ctx, ptrs) != 0) return -1;
        rc = rsvb_entities_steps(a, ctx, ptrs, &k, 20000);
        rsvb_entities_drop(a, ctx, ptrs);
        return rc;
    case RSVB_RSS_REQUEST:
        for (uint32_t off = 0; rc == 0 && off + RSVB_REQUEST_N <= 20000; off += RSVB_REQUEST_N)
            rc = rsvb_group_once(a, ctx, ptrs, rsvb_tab.small + off, RSVB_REQUEST_N);
        return rc;
    default:
        for (uint32_t i = 0; rc == 0 && i < 8; i++)
            rc = rsvb_large_once(a, ctx, rsvb_tab.large[i]);
        return rc;
    }
}

RSVB_INLINE void rsvb_w_rss(rsvb_state *st, const rsvb_alloc_t *a, const rsvb_rss_param *rp)
{
    size_t base = 0, peak = 0, cur = 0;
    void **ptrs = (void **)malloc(RSVB_TABLE_N * sizeof *ptrs);
    if (!ptrs) { rsvb_skip(st, "no memory for the table"); return; }
    /* The instance exists and has served one block before the baseline is
     * taken: a process malloc (glibc, a preloaded peer) set itself up
     * before main, so an allocator linked in (rsv_malloc's default heap)
     * must not have its one-time set-up counted as workload memory either.
     * The block is freed (or reset) again, so the workload starts empty. */
    void *ctx = rsvb_open(st, a, rp->workload == RSVB_RSS_ENTITIES ? RSVB_ENTITY_SIZE : 0);
    if (!ctx) { free(ptrs); return; }
    {
        size_t warm = rp->workload == RSVB_RSS_ENTITIES ? RSVB_ENTITY_SIZE : 16;
        void *w = a->alloc(ctx, warm);
        if (w && (a->caps & RSVB_CAP_FREE)) a->free(ctx, w, warm);
        rsvb_end_batch(a, ctx);
    }
    rsvb_rss_reset_peak();
    if (rsvb_rss(&base, &peak) != 0) { a->destroy(ctx); free(ptrs); rsvb_skip(st, "RSS unknown"); return; }
    while (rsvb_keep_running(st, 1)) {
        for (int i = 0; i < 2; i++)
            if (rsvb_rss_run(a, ctx, ptrs, rp->workload) != 0) {
                rsvb_skip(st, "allocation failed");
                break;
            }
    }
    rsvb_rss(&cur, &peak);
    rsvb_counter(st, "peak_kib", (double)(peak > base ? peak - base : 0) / 1024.0, 0);
    rsvb_counter(st, "after_kib", ((double)cur - (double)base) / 1024.0, 0);
    a->destroy(ctx);
    free(ptrs);
}

/* ---- instantiation ------------------------------------------------------ */

/* Which workloads an allocator with these caps can run. */
static inline int rsvb_can_batch(unsigned caps, const rsvb_batch_param *bp)
{
    if (caps & RSVB_CAP_FEW) return 0;
    if ((caps & RSVB_CAP_FIXED) && bp->mixed) return 0;
    return (caps & RSVB_CAP_FREE) || bp->order == RSVB_LIFO;
}
#define RSVB_VARIES(caps) (!((caps) & RSVB_CAP_FIXED))

/* Defines the benchmark bodies for the allocator table OPS (a static const
 * rsvb_alloc_t in the including file) and `void rsvb_register_ID(const
 * char *name)`, which registers every workload OPS's caps allow as
 * "<workload>/<variant>/<name>". */
#define RSVB_DEFINE_ALLOCATOR(ID, OPS)                                              \
    static void rsvb_b_##ID##_pair(rsvb_state *st, const void *p) { rsvb_w_pair(st, &OPS, p); }  \
    static void rsvb_b_##ID##_batch(rsvb_state *st, const void *p) { rsvb_w_batch(st, &OPS, p); } \
    static void rsvb_b_##ID##_realloc(rsvb_state *st, const void *p) { (void)p; rsvb_w_realloc(st, &OPS); } \
    static void rsvb_b_##ID##_frame(rsvb_state *st, const void *p) { (void)p; rsvb_w_frame(st, &OPS); } \
    static void rsvb_b_##ID##_entities(rsvb_state *st, const void *p) { (void)p; rsvb_w_entities(st, &OPS); } \
    static void rsvb_b_##ID##_request(rsvb_state *st, const void *p) { (void)p; rsvb_w_request(st, &OPS); } \
    static void rsvb_b_##ID##_large(rsvb_state *st, const void *p) { (void)p; rsvb_w_large(st, &OPS); } \
    static void *rsvb_b_##ID##_consumer(void *r) { rsvb_consume((rsvb_ring *)r, &OPS); return NULL; } \
    static void rsvb_b_##ID##_prodcons(rsvb_state *st, const void *p) { (void)p; rsvb_w_prodcons(st, &OPS, rsvb_b_##ID##_consumer); } \
    static void rsvb_b_##ID##_rss(rsvb_state *st, const void *p) { rsvb_w_rss(st, &OPS, p); } \
    static void rsvb_b_##ID##_xthread(rsvb_state *st, const void *p) { (void)p; rsvb_w_xthread(st, &OPS); } \
    void rsvb_register_##ID(const char *name);                                      \
    void rsvb_register_##ID(const char *name)                                       \
    {                                                                               \
        rsvb_register_all(name, (OPS).caps,                                         \
                          (rsvb_fn[]){rsvb_b_##ID##_pair, rsvb_b_##ID##_batch, rsvb_b_##ID##_realloc,          \
                                      rsvb_b_##ID##_frame, rsvb_b_##ID##_entities, rsvb_b_##ID##_request,      \
                                      rsvb_b_##ID##_large, rsvb_b_##ID##_prodcons, rsvb_b_##ID##_rss,   \
                                      rsvb_b_##ID##_xthread});        \
    }

/* A process-wide malloc-like allocator (no instance: create returns a
 * dummy) whose three functions take and return what malloc, free and
 * realloc do: the allocator table and RSVB_DEFINE_ALLOCATOR(ID, ...) in
 * one line.  Used by the process malloc, rsv_malloc and mimalloc-linked. */
#define RSVB_DEFINE_MALLOC_LIKE(ID, MALLOC, FREE, REALLOC)                              \
    static void *rsvb_ml_##ID##_create(size_t block)                                    \
    {                                                                                   \
        (void)block;                                                                    \
        static char dummy;                                                              \
        return &dummy;                                                                  \
    }                                                                                   \
    static void rsvb_ml_##ID##_destroy(void *ctx) { (void)ctx; }                        \
    static void *rsvb_ml_##ID##_alloc(void *ctx, size_t size)                           \
    {                                                                                   \
        (void)ctx;                                                                      \
        return MALLOC(size);                                                            \
    }                                                                                   \
    static void rsvb_ml_##ID##_free(void *ctx, void *p, size_t size)                    \
    {                                                                                   \
        (void)ctx;                                                                      \
        (void)size;                                                                     \
        FREE(p);                                                                        \
    }                                                                                   \
    static void *rsvb_ml_##ID##_realloc(void *ctx, void *p, size_t old, size_t size)    \
    {                                                                                   \
        (void)ctx;                                                                      \
        (void)old;                                                                      \
        return REALLOC(p, size);                                                        \
    }                                                                                   \
    static const rsvb_alloc_t rsvb_ml_##ID##_ops = {                                    \
        RSVB_CAP_FREE | RSVB_CAP_REALLOC | RSVB_CAP_SHARED | RSVB_CAP_LARGE,            \
        rsvb_ml_##ID##_create,  rsvb_ml_##ID##_destroy, rsvb_ml_##ID##_alloc,           \
        rsvb_ml_##ID##_free,    rsvb_ml_##ID##_realloc, NULL,                           \
    };                                                                                  \
    RSVB_DEFINE_ALLOCATOR(ID, rsvb_ml_##ID##_ops)

/* Registers the workloads `caps` allows; fns in the order of the macro. */
static inline void rsvb_register_all(const char *name, unsigned caps, const rsvb_fn *fns)
{
    char n[160];
    const int varies = RSVB_VARIES(caps), has_free = (caps & RSVB_CAP_FREE) != 0;
    if (caps & RSVB_CAP_DEBUGROW) { /* the debug-cost table's subset */
        for (size_t i = 0; i < sizeof rsvb_pair_params / sizeof *rsvb_pair_params; i++) {
            if (rsvb_pair_params[i].size > 4096 || rsvb_pair_params[i].size == 1024) continue;
            snprintf(n, sizeof n, "pair/%s/%s", rsvb_pair_params[i].label, name);
            rsvb_register(n, fns[0], &rsvb_pair_params[i]);
        }
        if (varies) {
            snprintf(n, sizeof n, "frame/10k/%s", name);
            rsvb_unit(rsvb_register(n, fns[3], NULL), 'u');
            snprintf(n, sizeof n, "request/t1/%s", name);
            rsvb_real_time(rsvb_register(n, fns[5], NULL));
        }
        if (has_free) {
            snprintf(n, sizeof n, "entities/192/%s", name);
            rsvb_register(n, fns[4], NULL);
        }
        return;
    }
    for (size_t i = 0; i < sizeof rsvb_pair_params / sizeof *rsvb_pair_params; i++) {
        snprintf(n, sizeof n, "pair/%s/%s", rsvb_pair_params[i].label, name);
        rsvb_register(n, fns[0], &rsvb_pair_params[i]);
    }
    for (size_t i = 0; i < sizeof rsvb_batch_params / sizeof *rsvb_batch_params; i++) {
        if (!rsvb_can_batch(caps, &rsvb_batch_params[i])) continue;
        snprintf(n, sizeof n, "batch/%s/%s", rsvb_batch_params[i].label, name);
        rsvb_register(n, fns[1], &rsvb_batch_params[i]);
    }
    if ((caps & RSVB_CAP_REALLOC) && (caps & RSVB_CAP_LARGE)) {
        snprintf(n, sizeof n, "realloc/64MiB/%s", name);
        rsvb_unit(rsvb_register(n, fns[2], NULL), 'm');
    }
    if (varies) {
        snprintf(n, sizeof n, "frame/10k/%s", name);
        rsvb_unit(rsvb_register(n, fns[3], NULL), 'u');
    }
    if (has_free) {
        snprintf(n, sizeof n, "entities/192/%s", name);
        rsvb_register(n, fns[4], NULL);
    }
    if (varies) {
        snprintf(n, sizeof n, "request/t1/%s", name);
        rsvb_real_time(rsvb_register(n, fns[5], NULL));
        snprintf(n, sizeof n, "request/t2/%s", name);
        rsvb_real_time(rsvb_threads(rsvb_register(n, fns[5], NULL), 2));
    }
    if (caps & RSVB_CAP_LARGE) {
        snprintf(n, sizeof n, "large/1-64MiB/%s", name);
        rsvb_unit(rsvb_register(n, fns[6], NULL), 'u');
    }
    if (varies && has_free && (caps & RSVB_CAP_SHARED)) {
        snprintf(n, sizeof n, "prodcons/small/%s", name);
        rsvb_real_time(rsvb_register(n, fns[7], NULL));
    }
    /* The thread-scaling run (RSVB_SCALING="1,2,4,8,16"): request/tN and
     * xthread/tN for each N, nothing else is needed from this list. */
    const char *scaling = getenv("RSVB_SCALING");
    for (const char *c = scaling; c && *c;) {
        char *end;
        long t = strtol(c, &end, 10);
        if (end == c) break;
        c = *end == ',' ? end + 1 : end;
        if (t < 1 || t > RSVB_XT_MAX || !varies) continue;
        if (t > 2) {   /* t1 and t2 are registered above */
            snprintf(n, sizeof n, "request/t%ld/%s", t, name);
            rsvb_real_time(rsvb_threads(rsvb_register(n, fns[5], NULL), (int)t));
        }
        if (has_free && (caps & RSVB_CAP_SHARED)) {
            snprintf(n, sizeof n, "xthread/t%ld/%s", t, name);
            rsvb_real_time(rsvb_threads(rsvb_register(n, fns[9], NULL), (int)t));
        }
    }
    for (size_t i = 0; i < sizeof rsvb_rss_params / sizeof *rsvb_rss_params; i++) {
        const rsvb_rss_param *rp = &rsvb_rss_params[i];
        if ((caps & rp->needs) != rp->needs) continue;
        if (!varies && rp->workload != RSVB_RSS_ENTITIES) continue;
        snprintf(n, sizeof n, "rss/%s/%s", rp->label, name);
        rsvb_iterations(rsvb_register(n, fns[8], rp), 1);
    }
}

#endif /* RSVB_WORKLOADS_H */
