/* tests/test_pool_mt.c — the threaded pool tests (meson suites "pool" and
 * "mt", so the ThreadSanitizer build runs them): a RSV_POOL_SHARED pool
 * used by several threads at once, with blocks freed by threads other than
 * the one that allocated them.
 *
 * A TAP program rather than a Criterion suite: Criterion cannot start
 * under ThreadSanitizer ("Could not initialize inheritable arena",
 * Snaipe/Criterion#274).  Meson's timeout bounds it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "arena_internal.h"
#include "reservoir/pool.h"
#include "win/tap.h"

#include "test_sanitize.h"

enum { THREADS = 4, SLOTS = 64 };

typedef struct shared {
    rsv_pool_t *pool;
    int rounds;
    /* One mailbox per thread: others drop blocks here for it to free. */
    _Atomic(uint32_t *) mailbox[THREADS][SLOTS];
    atomic_int errors;
} shared_t;

typedef struct worker {
    shared_t *sh;
    int id;
} worker_t;

static void check_and_free(shared_t *sh, uint32_t *b)
{
    uint32_t owner = b[0];
    if (owner >= THREADS || b[1] != ~owner || b[2] != 0xC0FFEEu) atomic_fetch_add(&sh->errors, 1);
    memset(b, 0xDD, 16);
    rsv_pool_free(sh->pool, b);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    shared_t *sh = w->sh;
    uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(w->id + 1);
    uint32_t *mine[16] = { 0 };
    for (int r = 0; r < sh->rounds; r++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        unsigned k = (unsigned)(seed >> 40) % 16;
        if (mine[k]) {
            /* Half the time hand the block to another thread to free. */
            if (seed & (1ull << 20)) {
                int to = (int)((seed >> 24) % THREADS);
                unsigned slot = (unsigned)(seed >> 8) % SLOTS;
                uint32_t *old = atomic_exchange(&sh->mailbox[to][slot], mine[k]);
                if (old) check_and_free(sh, old);
            } else {
                check_and_free(sh, mine[k]);
            }
            mine[k] = NULL;
        } else {
            uint32_t *b = rsv_pool_alloc(sh->pool);
            if (!b) {
                atomic_fetch_add(&sh->errors, 1);
                continue;
            }
            b[0] = (uint32_t)w->id;
            b[1] = ~(uint32_t)w->id;
            b[2] = 0xC0FFEEu;
            mine[k] = b;
        }
        /* Free what others sent us. */
        unsigned slot = (unsigned)(seed >> 16) % SLOTS;
        uint32_t *got = atomic_exchange(&sh->mailbox[w->id][slot], NULL);
        if (got) check_and_free(sh, got);
    }
    for (int k = 0; k < 16; k++)
        if (mine[k]) check_and_free(sh, mine[k]);
    return NULL;
}

static void shared_pool_cross_thread_frees(void)
{
    rsv_pool_opts_t o = { 0 };
    o.block_size = 24;
    o.flags = RSV_POOL_SHARED;
    shared_t sh;
    memset(&sh, 0, sizeof sh);
    sh.pool = rsv_pool_create(&o);
    CHECK(sh.pool != NULL, "shared pool created");
    if (!sh.pool) return;
    sh.rounds = RSV_TEST_SLOW ? 20000 : 200000;
    pthread_t th[THREADS];
    worker_t w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].sh = &sh;
        w[i].id = i;
        CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0, "thread %d started", i);
    }
    for (int i = 0; i < THREADS; i++) CHECK(pthread_join(th[i], NULL) == 0, "thread %d joined", i);
    for (int t = 0; t < THREADS; t++)
        for (int s = 0; s < SLOTS; s++) {
            uint32_t *b = atomic_load(&sh.mailbox[t][s]);
            if (b) check_and_free(&sh, b);
        }
    CHECK(atomic_load(&sh.errors) == 0, "no block handed to two owners or lost");
    rsv_pool_stats_t s;
    rsv_pool_stats(sh.pool, &s);
    CHECK(s.in_use == 0, "every block back (in_use %zu)", s.in_use);
    CHECK(s.bad_frees == 0, "no bad free");
    CHECK(s.peak <= THREADS * (16 + 2) + SLOTS * THREADS, "peak %zu bounded by the live blocks", s.peak);
    CHECK(rsvi_pool_validate(sh.pool), "pool consistent");
    rsv_pool_destroy(sh.pool);
}

/* Shared pools refuse bad frees from any thread without corrupting. */
static void *double_free_main(void *arg)
{
    shared_t *sh = arg;
    for (int i = 0; i < 1000; i++) {
        void *b = rsv_pool_alloc(sh->pool);
        rsv_pool_free(sh->pool, b);
        rsv_pool_free(sh->pool, b);
    }
    return NULL;
}

static atomic_int mt_errors;
static void mt_capture(void *user, int code, const char *message)
{
    (void)user;
    (void)code;
    (void)message;
    atomic_fetch_add(&mt_errors, 1);
}

static void shared_pool_double_frees(void)
{
    rsv_error_handler_t h = { mt_capture, NULL };
    rsv_set_error_handler(h);
    rsv_pool_opts_t o = { 0 };
    o.block_size = 64;
    o.flags = RSV_POOL_SHARED;
    shared_t sh;
    memset(&sh, 0, sizeof sh);
    sh.pool = rsv_pool_create(&o);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&th[i], NULL, double_free_main, &sh) == 0, "thread %d started", i);
    for (int i = 0; i < THREADS; i++) CHECK(pthread_join(th[i], NULL) == 0, "thread %d joined", i);
    /* A second free may land after another thread took the block again;
     * then it is a valid free of that thread's block — but never a
     * corruption: the pool stays consistent. */
    CHECK(atomic_load(&mt_errors) > 0, "double frees reported");
    CHECK(rsvi_pool_validate(sh.pool), "pool consistent after double frees");
    rsv_pool_stats_t s;
    rsv_pool_stats(sh.pool, &s);
    CHECK(s.corrupted == 0, "no corrupted link");
    CHECK(s.in_use == 0, "every block back");
    rsv_pool_destroy(sh.pool);
}

int main(void)
{
    shared_pool_cross_thread_frees();
    shared_pool_double_frees();
    return tap_done();
}
