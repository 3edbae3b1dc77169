/* tests/test_debug_mt.c — the debug layer under threads (meson suites
 * "debug" and "mt", so the ThreadSanitizer build runs it).  Started with
 * RSV_DEBUG=fill,canary,quarantine,leaks (see tests/meson.build): the
 * default heap is decorated from before main.  Threads allocate with
 * rsv_malloc, write their blocks whole, and hand a share of them to another
 * thread to free; an explicit heap with debug options is shared by all;
 * afterwards nothing was reported (a report under RSV_DEBUG aborts), every
 * heap validates, and no block is live.
 *
 * A TAP program: Criterion cannot start under ThreadSanitizer.  Counts
 * shrink under sanitizers.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug/dbg.h"
#include "heap/heap_internal.h"
#include "reservoir.h"
#include "win/tap.h"

#include "test_sanitize.h"

#define THREADS 4
#define ROUNDS (RSV_TEST_SLOW ? 2000 : 20000)
#define HANDOFF 64

static rsv_heap_t *shared;
static atomic_int reports;

static void count_report(void *user, const rsv_debug_report_t *r)
{
    (void)user;
    (void)r;
    atomic_fetch_add(&reports, 1);
}

/* A mailbox per thread: blocks another thread must free. */
static struct {
    pthread_mutex_t mu;
    void *box[HANDOFF];
    int n;
} mail[THREADS];

static atomic_int bad_fill;

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    unsigned x = 1234567u + (unsigned)me * 7919u;
    void *keep[32] = {0};
    for (int i = 0; i < ROUNDS; i++) {
        x = x * 1103515245u + 12345u;
        size_t n = 1 + (x >> 20) % 300;
        unsigned char *p = (x & 1) ? rsv_malloc(n) : rsv_heap_alloc(shared, n);
        if (!p) continue;
        if (p[0] != RSV_DEBUG_NEW_BYTE || p[n - 1] != RSV_DEBUG_NEW_BYTE) atomic_fetch_add(&bad_fill, 1);
        memset(p, me, n);
        int k = (int)((x >> 8) % 32);
        if (keep[k]) rsv_free(keep[k]); /* rsv_free finds blocks of either heap */
        keep[k] = p;
        if ((x >> 4) % 8 == 0) { /* hand one to the next thread */
            int to = (me + 1) % THREADS;
            pthread_mutex_lock(&mail[to].mu);
            if (mail[to].n < HANDOFF) {
                mail[to].box[mail[to].n++] = keep[k];
                keep[k] = NULL;
            }
            pthread_mutex_unlock(&mail[to].mu);
        }
        pthread_mutex_lock(&mail[me].mu);
        while (mail[me].n > 0) rsv_free(mail[me].box[--mail[me].n]);
        pthread_mutex_unlock(&mail[me].mu);
    }
    for (int k = 0; k < 32; k++) rsv_free(keep[k]);
    return NULL;
}

int main(void)
{
    rsv_heap_t *def = rsv_heap_default();
    CHECK(def->debug != 0 && def->dbg != NULL, "RSV_DEBUG decorated the default heap before main");

    rsv_debug_opts_t o;
    memset(&o, 0, sizeof o);
    o.flags = RSV_DEBUG_FILL | RSV_DEBUG_CANARY | RSV_DEBUG_QUARANTINE | RSV_DEBUG_LEAKS;
    o.quarantine_blocks = 256;
    o.report.fn = count_report;
    rsv_heap_opts_t ho = {0};
    ho.name = "shared";
    ho.debug = &o;
    shared = rsv_heap_create(&ho);
    CHECK(shared != NULL, "explicit heap with debug options");

    for (int t = 0; t < THREADS; t++) pthread_mutex_init(&mail[t].mu, NULL);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS; t++)
        while (mail[t].n > 0) rsv_free(mail[t].box[--mail[t].n]);

    CHECK(atomic_load(&bad_fill) == 0, "every new block read 0xCD (%d did not)", atomic_load(&bad_fill));
    size_t live = 1, q = 0;
    rsvi_dbg_counts(def->dbg, &live, NULL, &q);
    CHECK(live == 0, "default heap: no live block after the threads (%zu)", live);
    CHECK(q > 0, "default heap: freed blocks held in quarantine (%zu)", q);
    rsvi_dbg_counts(shared->dbg, &live, NULL, NULL);
    CHECK(live == 0, "shared heap: no live block after the threads (%zu)", live);
    CHECK(rsv_heap_validate(def, NULL, NULL, 0) == 0, "default heap validates (canaries, quarantine fill)");
    CHECK(rsv_heap_validate(shared, NULL, NULL, 0) == 0, "shared heap validates");
    rsv_heap_destroy(shared);
    CHECK(atomic_load(&reports) == 0, "no report from the shared heap (%d)", atomic_load(&reports));
    return tap_done();
}
