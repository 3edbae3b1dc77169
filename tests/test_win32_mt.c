/* tests/test_win32_mt.c — the Win32 façade under threads, as a TAP program
 * (suites 'win32' and 'mt': the ThreadSanitizer build runs it, which
 * Criterion cannot do).  Covers the lock-free paths: the process heap's
 * per-thread bins with blocks freed by other threads, the moveable-handle
 * caches, concurrent GlobalLock/GlobalUnlock of one handle, HeapLock against
 * allocating threads on a private heap, and thread exit returning caches;
 * and the per-thread front (lib/win32/front.c): HeapLock holding off
 * another thread's lock-free HeapAlloc/HeapFree, bins that give blocks back
 * beyond their bound, and a heap destroyed while another thread's bins
 * still hold its blocks.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reservoir/win32.h"
#include "test_sanitize.h"
#include "win/tap.h"

#define THREADS 4
#define OPS (RSV_TEST_SLOW ? 5000 : 100000)

typedef struct worker {
    HANDLE heap;
    unsigned seed;
    int failures;
    void *handoff[32];
    HGLOBAL handles[32];
} worker_t;

static HGLOBAL shared_handle;

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void *worker(void *arg)
{
    worker_t *w = arg;
    void *live[64] = {0};
    SIZE_T size[64] = {0};
    unsigned s = w->seed;
    for (int op = 0; op < OPS; op++) {
        unsigned i = rnd(&s) % 64;
        if (live[i]) {
            const unsigned char *c = live[i];
            for (SIZE_T k = 0; k < size[i]; k++)
                if (c[k] != (unsigned char)i) w->failures++;
            if (RsvHeapSize(w->heap, 0, live[i]) != size[i] || !RsvHeapFree(w->heap, 0, live[i])) w->failures++;
            live[i] = NULL;
        } else {
            size[i] = rnd(&s) % 700;
            live[i] = RsvHeapAlloc(w->heap, 0, size[i]);
            if (!live[i]) w->failures++;
            else memset(live[i], (int)i, size[i]);
        }
        /* moveable objects and the shared handle's lock count */
        HGLOBAL g = RsvGlobalAlloc(GMEM_MOVEABLE, 1 + op % 200);
        char *p = RsvGlobalLock(g);
        if (!p) w->failures++;
        else p[0] = 1;
        RsvGlobalUnlock(g);
        if (RsvGlobalFree(g)) w->failures++;
        if (RsvGlobalLock(shared_handle) == NULL) w->failures++;
        RsvGlobalUnlock(shared_handle);
    }
    for (int i = 0; i < 32; i++) {
        w->handoff[i] = live[i];  /* freed by the main thread */
        w->handles[i] = RsvGlobalAlloc(GMEM_MOVEABLE, 10);
    }
    for (int i = 32; i < 64; i++)
        if (live[i] && !RsvHeapFree(w->heap, 0, live[i])) w->failures++;
    return NULL;
}

static void run_heap(HANDLE heap, const char *what)
{
    worker_t w[THREADS];
    pthread_t t[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].heap = heap;
        w[i].seed = 99u + (unsigned)i;
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    int failures = 0, freed = 1;
    for (int i = 0; i < THREADS; i++) {
        failures += w[i].failures;
        for (int k = 0; k < 32; k++) {
            if (w[i].handoff[k] && !RsvHeapFree(heap, 0, w[i].handoff[k])) freed = 0;
            if (RsvGlobalFree(w[i].handles[k])) freed = 0;
        }
    }
    CHECK(failures == 0, "%s: %d threads x %d ops, contents and sizes intact", what, THREADS, OPS);
    CHECK(freed, "%s: blocks and handles of exited threads freed by another thread", what);
    CHECK(RsvHeapValidate(heap, 0, NULL), "%s: validates afterwards", what);
}

/* HeapLock on a private heap holds off other threads' allocations. */
static atomic_int lock_phase;
static void *locker_probe(void *arg)
{
    HANDLE h = arg;
    void *p = RsvHeapAlloc(h, 0, 10); /* blocks while the main thread holds the lock */
    atomic_store(&lock_phase, atomic_load(&lock_phase) == 1 ? 2 : 3);
    RsvHeapFree(h, 0, p);
    return NULL;
}

/* ---- the front ------------------------------------------------------------------ */

static void wait_stage(atomic_int *stage, int want)
{
    while (atomic_load(stage) < want) sched_yield();
}

/* Waits up to ~50 ms for *flag to become non-zero; returns it.  Used only
 * to give a thread that should be blocked the chance to run wrongly. */
static int settle(atomic_int *flag)
{
    for (int i = 0; i < 50 && !atomic_load(flag); i++) usleep(1000);
    return atomic_load(flag);
}

/* HeapLock against a thread whose bin for the heap is warm, so that its
 * HeapAlloc and HeapFree would take the lock-free path: each must wait for
 * HeapUnlock.  ran_locked counts calls that completed while locked. */
static HANDLE lk_heap;
static atomic_int lk_stage, lk_freed, lk_allocated, lk_ran_locked;
static void *lock_fast_prober(void *arg)
{
    (void)arg;
    void *p = RsvHeapAlloc(lk_heap, 0, 24);
    void *q = RsvHeapAlloc(lk_heap, 0, 24);
    RsvHeapFree(lk_heap, 0, q); /* q is now this thread's cached block */
    atomic_store(&lk_stage, 1);
    wait_stage(&lk_stage, 2);   /* the main thread holds HeapLock */
    int ok = RsvHeapFree(lk_heap, 0, p);
    if (atomic_load(&lk_stage) == 2) atomic_fetch_add(&lk_ran_locked, 1);
    atomic_store(&lk_freed, ok ? 1 : -1);
    wait_stage(&lk_stage, 4);   /* locked again */
    void *r = RsvHeapAlloc(lk_heap, 0, 24);
    if (atomic_load(&lk_stage) == 4) atomic_fetch_add(&lk_ran_locked, 1);
    atomic_store(&lk_allocated, r ? 1 : -1);
    RsvHeapFree(lk_heap, 0, r);
    return NULL;
}

static void test_lock_holds_off_fast_paths(void)
{
    lk_heap = RsvHeapCreate(0, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, lock_fast_prober, NULL);
    wait_stage(&lk_stage, 1);
    RsvHeapLock(lk_heap);
    atomic_store(&lk_stage, 2);
    int early_free = settle(&lk_freed);
    atomic_store(&lk_stage, 3);
    RsvHeapUnlock(lk_heap);
    while (!atomic_load(&lk_freed)) sched_yield();
    RsvHeapLock(lk_heap);
    atomic_store(&lk_stage, 4);
    int early_alloc = settle(&lk_allocated);
    atomic_store(&lk_stage, 5);
    RsvHeapUnlock(lk_heap);
    pthread_join(t, NULL);
    CHECK(!early_free && !early_alloc && atomic_load(&lk_ran_locked) == 0,
          "HeapLock holds off another thread's lock-free HeapFree and HeapAlloc until HeapUnlock");
    CHECK(atomic_load(&lk_freed) == 1 && atomic_load(&lk_allocated) == 1, "both complete after HeapUnlock");
    CHECK(RsvHeapValidate(lk_heap, 0, NULL) && RsvHeapDestroy(lk_heap), "heap valid and destroyed");
}

/* Bins are bounded: blocks one thread frees beyond the bound go back to
 * the heap, where another thread finds them, while the first thread is
 * still alive (thread exit would return them all anyway). */
#define BOUND_N 4096
static HANDLE bd_heap;
static void *bd_blocks[BOUND_N];
static atomic_int bd_stage;
static void *bound_freer(void *arg)
{
    (void)arg;
    for (int i = 0; i < BOUND_N; i++) bd_blocks[i] = RsvHeapAlloc(bd_heap, 0, 48);
    for (int i = 0; i < BOUND_N; i++) RsvHeapFree(bd_heap, 0, bd_blocks[i]);
    atomic_store(&bd_stage, 1);
    wait_stage(&bd_stage, 2);
    return NULL;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

static void test_bins_are_bounded(HANDLE heap, const char *what)
{
    static void *mine[BOUND_N];
    bd_heap = heap;
    atomic_store(&bd_stage, 0);
    pthread_t t;
    pthread_create(&t, NULL, bound_freer, NULL);
    wait_stage(&bd_stage, 1);
    qsort(bd_blocks, BOUND_N, sizeof *bd_blocks, cmp_ptr);
    int reused = 0, failed = 0;
    for (int i = 0; i < BOUND_N; i++) {
        mine[i] = RsvHeapAlloc(heap, 0, 48);
        if (!mine[i]) failed++;
        else if (bsearch(&mine[i], bd_blocks, BOUND_N, sizeof *bd_blocks, cmp_ptr)) reused++;
    }
    atomic_store(&bd_stage, 2);
    pthread_join(t, NULL);
    for (int i = 0; i < BOUND_N; i++) RsvHeapFree(heap, 0, mine[i]);
    /* A bin keeps at most RSVI_W32_BIN_MAX (256) + 1 blocks. */
    CHECK(!failed && reused >= BOUND_N - 400,
          "%s: of %d blocks a live thread freed, another thread reuses %d (its bins are bounded)", what,
          BOUND_N, reused);
}

/* HeapDestroy while another thread's bins hold the heap's blocks: that
 * thread, using a new heap (on the same handle slot, its memory recycled)
 * or exiting, must neither hand out nor write the dead heap's blocks. */
#define DS_MAIN 3000
#define DS_OTHER 500
static HANDLE ds_old, ds_new;
static atomic_int ds_stage;
static int ds_use_new, ds_failures;
static char *ds_main[2 * DS_MAIN];

/* 1 when no two of the n blocks overlap (each p[i] holds ds_size(i)). */
typedef struct ds_block {
    uintptr_t at;
    SIZE_T size;
} ds_block_t;
static int cmp_block(const void *a, const void *b)
{
    uintptr_t x = ((const ds_block_t *)a)->at, y = ((const ds_block_t *)b)->at;
    return x < y ? -1 : x > y;
}
static int ds_disjoint(char **p, int n)
{
    static ds_block_t b[2 * DS_MAIN];
    for (int i = 0; i < n; i++) b[i] = (ds_block_t){(uintptr_t)p[i], (SIZE_T)(16 + i % 12 * 16)};
    qsort(b, (size_t)n, sizeof *b, cmp_block);
    for (int i = 0; i + 1 < n; i++)
        if (b[i].at + b[i].size > b[i + 1].at) return 0;
    return 1;
}
static SIZE_T ds_size(int i) { return (SIZE_T)(16 + i % 12 * 16); }
static void *destroy_victim(void *arg)
{
    (void)arg;
    static void *p[256];
    for (int i = 0; i < 256; i++) p[i] = RsvHeapAlloc(ds_old, 0, ds_size(i));
    for (int i = 0; i < 256; i++) RsvHeapFree(ds_old, 0, p[i]); /* all cached here */
    atomic_store(&ds_stage, 1);
    wait_stage(&ds_stage, 2); /* old heap destroyed, new heap filled */
    if (ds_use_new) {
        static char *q[DS_OTHER];
        for (int i = 0; i < DS_OTHER; i++) {
            q[i] = RsvHeapAlloc(ds_new, 0, ds_size(i));
            if (!q[i]) {
                ds_failures++;
                continue;
            }
            for (int k = 0; k < DS_MAIN; k++)
                if (q[i] == ds_main[k]) ds_failures++;
            memset(q[i], 0xEE, ds_size(i));
        }
        for (int i = 0; i < DS_OTHER; i++)
            if (q[i] && !RsvHeapFree(ds_new, 0, q[i])) ds_failures++;
    }
    return NULL; /* thread exit returns (or drops) this thread's bins */
}

static void test_destroy_with_foreign_bins(int use_new)
{
    ds_use_new = use_new;
    ds_failures = 0;
    atomic_store(&ds_stage, 0);
    ds_old = RsvHeapCreate(0, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, destroy_victim, NULL);
    wait_stage(&ds_stage, 1);
    int destroyed = RsvHeapDestroy(ds_old);
    ds_new = RsvHeapCreate(0, 0, 0);
    for (int i = 0; i < DS_MAIN; i++) {
        ds_main[i] = RsvHeapAlloc(ds_new, 0, ds_size(i));
        if (ds_main[i]) memset(ds_main[i], i & 0x7F, ds_size(i));
        else ds_failures++;
    }
    atomic_store(&ds_stage, 2);
    pthread_join(t, NULL);
    /* Whatever the other thread gave back to the new heap is handed out
     * now: none of it may overlap a live block. */
    for (int i = DS_MAIN; i < 2 * DS_MAIN; i++) {
        ds_main[i] = RsvHeapAlloc(ds_new, 0, ds_size(i));
        if (ds_main[i]) memset(ds_main[i], i & 0x7F, ds_size(i));
        else ds_failures++;
    }
    int intact = !ds_failures && ds_disjoint(ds_main, 2 * DS_MAIN);
    for (int i = 0; i < 2 * DS_MAIN; i++) {
        for (SIZE_T k = 0; ds_main[i] && k < ds_size(i); k++)
            if (ds_main[i][k] != (char)(i & 0x7F)) intact = 0;
        if (ds_main[i] && (RsvHeapSize(ds_new, 0, ds_main[i]) != ds_size(i) || !RsvHeapFree(ds_new, 0, ds_main[i])))
            intact = 0;
    }
    CHECK(destroyed && intact && ds_failures == 0 && RsvHeapValidate(ds_new, 0, NULL),
          "a heap destroyed while another thread caches its blocks: that thread %s without touching them "
          "(new heap %s the old handle)",
          use_new ? "uses a new heap and exits" : "exits", ds_new == ds_old ? "reuses" : "does not reuse");
    RsvHeapDestroy(ds_new);
}

int main(void)
{
    shared_handle = RsvGlobalAlloc(GMEM_MOVEABLE, 64);
    run_heap(RsvGetProcessHeap(), "process heap");
    HANDLE h = RsvHeapCreate(0, 0, 0);
    run_heap(h, "private heap");
    CHECK((RsvGlobalFlags(shared_handle) & GMEM_LOCKCOUNT) == 0,
          "concurrent GlobalLock/GlobalUnlock of one handle balance to 0");
    CHECK(RsvGlobalFree(shared_handle) == NULL, "shared handle freed");

    /* lock_phase: 0 before, 1 while locked, the probe sets 2 if it ran while
     * locked (wrong) or 3 after the unlock (right). */
    RsvHeapLock(h);
    atomic_store(&lock_phase, 1);
    pthread_t t;
    pthread_create(&t, NULL, locker_probe, h);
    for (volatile int i = 0; i < 2000000; i++) {
    }
    atomic_store(&lock_phase, 4);
    RsvHeapUnlock(h);
    pthread_join(t, NULL);
    CHECK(atomic_load(&lock_phase) == 3, "HeapLock holds off another thread's HeapAlloc until HeapUnlock");
    CHECK(RsvHeapDestroy(h), "private heap destroyed");

    test_lock_holds_off_fast_paths();
    HANDLE b = RsvHeapCreate(0, 0, 0);
    test_bins_are_bounded(b, "private heap");
    RsvHeapDestroy(b);
    test_bins_are_bounded(RsvGetProcessHeap(), "process heap");
    test_destroy_with_foreign_bins(0);
    test_destroy_with_foreign_bins(1);
    return tap_done();
}
