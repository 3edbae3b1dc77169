/* tests/test_heap_mt.c — the heap under threads (meson suites "heap" and
 * "mt", so the ThreadSanitizer build runs it): a seeded random stress
 * against a per-thread model of live blocks, with contents checked, on 1, 2
 * and 8 threads of the default heap where a share of the blocks is handed
 * to another thread to free (remote frees, delayed frees into full pages,
 * pages abandoned at thread exit); a serialized explicit heap shared by
 * several threads; and a producer/consumer pair.  Afterwards the heaps
 * validate and hold no block.
 *
 * A TAP program rather than a Criterion suite: Criterion cannot start
 * under ThreadSanitizer.  Sizes and counts shrink under sanitizers.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reservoir/heap.h"
#include "reservoir/malloc.h"
#include "win/tap.h"

#include "test_rss.h"
#include "test_sanitize.h"
#include "test_rng.h"

enum { MAX_THREADS = 8, SLOTS = 256, MAILBOX = 64 };

typedef struct block_hdr {
    uint32_t tag;     /* contents seed */
    uint32_t len;     /* bytes filled after the header (capped) */
} block_hdr_t;

typedef struct shared {
    rsv_heap_t *heap;      /* NULL: the malloc family */
    int threads;
    long ops;
    /* mailbox[t]: blocks other threads hand to thread t to check and free */
    _Atomic(block_hdr_t *) mailbox[MAX_THREADS][MAILBOX];
    atomic_int errors;
    atomic_int running;
} shared_t;

typedef struct worker {
    shared_t *sh;
    int id;
    uint64_t rng;
} worker_t;

static uint64_t next(worker_t *w)
{
    return test_rng_next(&w->rng);
}

static size_t pick_size(worker_t *w)
{
    unsigned r = (unsigned)(next(w) % 1000);
    size_t max = r == 0 ? ((size_t)3 << 20) : r < 50 ? 200000 : r < 300 ? 5000 : 300;
    return sizeof(block_hdr_t) + (size_t)(next(w) % max);
}

static void *w_alloc(shared_t *sh, size_t n)
{
    return sh->heap ? rsv_heap_alloc(sh->heap, n) : rsv_malloc(n);
}
static void w_free(shared_t *sh, void *p)
{
    if (sh->heap) rsv_heap_free(sh->heap, p);
    else rsv_free(p);
}
static void *w_realloc(shared_t *sh, void *p, size_t n)
{
    return sh->heap ? rsv_heap_realloc(sh->heap, p, n) : rsv_realloc(p, n);
}

static void stamp(block_hdr_t *b, size_t size, uint32_t tag)
{
    size_t n = size - sizeof *b;
    if (n > 256) n = 256;
    b->tag = tag;
    b->len = (uint32_t)n;
    unsigned char *c = (unsigned char *)(b + 1);
    for (size_t i = 0; i < n; i++) c[i] = (unsigned char)(tag + i);
}

static int intact(const block_hdr_t *b)
{
    const unsigned char *c = (const unsigned char *)(b + 1);
    if (b->len > 256) return 0;
    for (size_t i = 0; i < b->len; i++)
        if (c[i] != (unsigned char)(b->tag + i)) return 0;
    return 1;
}

static void drain_mailbox(worker_t *w)
{
    shared_t *sh = w->sh;
    for (int i = 0; i < MAILBOX; i++) {
        block_hdr_t *b = atomic_exchange(&sh->mailbox[w->id][i], NULL);
        if (!b) continue;
        if (!intact(b)) atomic_fetch_add(&sh->errors, 1);
        w_free(sh, b);
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    shared_t *sh = w->sh;
    block_hdr_t *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    for (long i = 0; i < sh->ops; i++) {
        size_t s = next(w) % SLOTS;
        unsigned op = (unsigned)(next(w) % 16);
        if (slot[s] && !intact(slot[s])) atomic_fetch_add(&sh->errors, 1);
        if (!slot[s]) {
            size[s] = pick_size(w);
            slot[s] = w_alloc(sh, size[s]);
            if (!slot[s]) {
                atomic_fetch_add(&sh->errors, 1);
                continue;
            }
            stamp(slot[s], size[s], (uint32_t)next(w));
        } else if (op < 4) {
            size_t n = pick_size(w);
            block_hdr_t *q = w_realloc(sh, slot[s], n);
            if (!q) {
                atomic_fetch_add(&sh->errors, 1);
                continue;
            }
            if (n >= size[s] && !intact(q)) atomic_fetch_add(&sh->errors, 1);
            slot[s] = q;
            size[s] = n;
            stamp(q, n, (uint32_t)next(w));
        } else if (op < 8 && sh->threads > 1) {
            /* Hand it to another thread. */
            int to = (int)(next(w) % (uint64_t)sh->threads);
            if (to == w->id) to = (to + 1) % sh->threads;
            block_hdr_t *expect = NULL;
            if (atomic_compare_exchange_strong(&sh->mailbox[to][next(w) % MAILBOX], &expect, slot[s]))
                slot[s] = NULL;
        } else {
            w_free(sh, slot[s]);
            slot[s] = NULL;
        }
        if ((i & 63) == 0) drain_mailbox(w);
    }
    for (size_t s = 0; s < SLOTS; s++)
        if (slot[s]) {
            if (!intact(slot[s])) atomic_fetch_add(&sh->errors, 1);
            w_free(sh, slot[s]);
        }
    atomic_fetch_sub(&sh->running, 1);
    /* Keep draining until everyone stopped handing blocks over. */
    while (atomic_load(&sh->running) > 0) drain_mailbox(w);
    drain_mailbox(w);
    return NULL;
}

static void run_stress(rsv_heap_t *heap, int threads, long ops, const char *what)
{
    static shared_t sh;
    memset(&sh, 0, sizeof sh);
    sh.heap = heap;
    sh.threads = threads;
    sh.ops = ops;
    atomic_store(&sh.running, threads);
    pthread_t t[MAX_THREADS];
    worker_t w[MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        w[i].sh = &sh;
        w[i].id = i;
        w[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) + (uint64_t)threads;
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    /* Blocks still parked in a mailbox of a thread that finished first. */
    for (int i = 0; i < threads; i++)
        for (int j = 0; j < MAILBOX; j++) {
            block_hdr_t *b = atomic_exchange(&sh.mailbox[i][j], NULL);
            if (b) {
                if (!intact(b)) sh.errors++;
                w_free(&sh, b);
            }
        }
    CHECK(atomic_load(&sh.errors) == 0, "%s: %d threads, %ld ops each: contents intact, no failure",
          what, threads, ops);
    rsv_heap_t *h = heap ? heap : rsv_heap_default();
    char msg[160] = "";
    int e = rsv_heap_validate(h, NULL, msg, sizeof msg);
    CHECK(e == 0, "%s: %d threads: heap validates (%s)", what, threads, msg);
    rsv_heap_trim(h);
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    CHECK(st.blocks == 0, "%s: %d threads: no block left (%zu)", what, threads, st.blocks);
    e = rsv_heap_validate(h, NULL, msg, sizeof msg);
    CHECK(e == 0, "%s: %d threads: validates after trim (%s)", what, threads, msg);
}

/* ---- producer / consumer ------------------------------------------------------- */

enum { RING = 256 };
static _Atomic(block_hdr_t *) ring[RING];
static atomic_int pc_errors;
static long pc_count;

static void *consumer(void *arg)
{
    (void)arg;
    long got = 0;
    unsigned i = 0;
    while (got < pc_count) {
        block_hdr_t *b = atomic_exchange(&ring[i % RING], NULL);
        if (!b) {
            sched_yield();
            continue;
        }
        if (!intact(b)) atomic_fetch_add(&pc_errors, 1);
        rsv_free(b);
        got++;
        i++;
    }
    return NULL;
}

static void producer_consumer(void)
{
    pc_count = RSV_TEST_SLOW ? 20000 : 400000;
    pthread_t t;
    pthread_create(&t, NULL, consumer, NULL);
    for (long k = 0; k < pc_count; k++) {
        size_t n = sizeof(block_hdr_t) + (size_t)(k % 500);
        block_hdr_t *b = rsv_malloc(n);
        if (!b) {
            atomic_fetch_add(&pc_errors, 1);
            continue;
        }
        stamp(b, n, (uint32_t)k);
        while (atomic_load(&ring[k % RING]) != NULL) sched_yield();
        atomic_store(&ring[k % RING], b);
    }
    pthread_join(t, NULL);
    CHECK(atomic_load(&pc_errors) == 0, "producer/consumer: %ld blocks crossed intact", pc_count);
    char msg[160] = "";
    CHECK(rsv_heap_validate(rsv_heap_default(), NULL, msg, sizeof msg) == 0,
          "producer/consumer: validates (%s)", msg);
}

/* Run as "test_heap_mt env" with RSV_RESERVE=96m and RSV_PURGE_DELAY=0 in
 * the environment (meson test heap_env): the default heap honours them. */
static int env_checks(void)
{
    const size_t mib = (size_t)1 << 20;
    rsv_heap_t *d = rsv_heap_default();
    char *p = rsv_malloc(100);
    rsv_heap_stats_t st;
    rsv_heap_stats(d, &st);
    CHECK(st.reserved == 96 * mib, "RSV_RESERVE=96m sizes the first area (%zu)", st.reserved);
    char *big = rsv_malloc(20 * mib);
    memset(big, 1, 20 * mib);
    size_t before = test_rss_bytes();
    rsv_free(big);
    CHECK(test_rss_bytes() + 16 * mib < before, "RSV_PURGE_DELAY=0 purges a released span at once");
    char *huge = rsv_malloc(200 * mib);
    CHECK(huge != NULL, "a block larger than the area gets an area of its own");
    rsv_free(huge);
    rsv_free(p);
    CHECK(rsv_heap_validate(d, NULL, NULL, 0) == 0, "validates");
    return tap_done();
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "env") == 0) return env_checks();
    long ops = RSV_TEST_SLOW ? 20000 : 200000;
    run_stress(NULL, 1, ops, "default heap");
    run_stress(NULL, 2, ops, "default heap");
    run_stress(NULL, 8, ops / 2, "default heap");
    rsv_heap_t *shared = rsv_heap_create(NULL);
    CHECK(shared != NULL, "explicit heap created");
    run_stress(shared, 4, ops / 2, "serialized explicit heap");
    rsv_heap_destroy(shared);
    producer_consumer();
    return tap_done();
}
