/* tests/win/test_pool.c — pools in the Windows build (TAP under Wine): the
 * behaviors of tests/test_pool.c and tests/test_pool_mt.c — geometry, LIFO
 * reuse, every bad free, hardened links against a corrupted block, reset,
 * ownership, stats, a full reservation, fault injection at each commit,
 * and a shared pool used by several Windows threads with cross-thread
 * frees.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "arena_internal.h"
#include "internal.h"
#include "reservoir/pool.h"
#include "tap.h"

static volatile LONG err_count;
static int err_code;
static void on_error(void *user, int code, const char *message)
{
    (void)user;
    (void)message;
    InterlockedIncrement(&err_count);
    err_code = code;
}

static void reset_errors(void)
{
    err_count = 0;
    err_code = 0;
    rsvi_fault_clear();
}

static rsv_pool_t *make_pool(size_t block, size_t align, unsigned flags)
{
    rsv_pool_opts_t o = { 0 };
    o.block_size = block;
    o.alignment = align;
    o.flags = flags;
    return rsv_pool_create(&o);
}

static void test_geometry(void)
{
    reset_errors();
    static const struct { size_t ask, align, stride, natural; } cases[] = {
        { 1, 0, 8, 8 }, { 12, 0, 16, 16 }, { 24, 0, 24, 8 }, { 100, 0, 104, 8 },
        { 10, 64, 64, 64 }, { 100, 4096, 4096, 4096 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rsv_pool_t *p = make_pool(cases[c].ask, cases[c].align, 0);
        rsv_pool_stats_t s;
        rsv_pool_stats(p, &s);
        int ok = s.block_size == cases[c].stride && s.alignment == cases[c].natural;
        unsigned char *prev = NULL;
        for (int i = 0; i < 100; i++) {
            unsigned char *b = rsv_pool_alloc(p);
            if (!b || (uintptr_t)b % s.alignment || (prev && b != prev + s.block_size)) ok = 0;
            else memset(b, i, cases[c].ask);
            prev = b;
        }
        CHECK(ok && rsvi_pool_validate(p), "block %zu align %zu: stride %zu, carved in order",
              cases[c].ask, cases[c].align, s.block_size);
        rsv_pool_destroy(p);
    }
    rsv_pool_opts_t o = { 0 };
    o.alignment = 24;
    CHECK(rsv_pool_create(&o) == NULL && err_code == EINVAL, "bad alignment refused");
}

static void test_lifo_and_bad_frees(void)
{
    reset_errors();
    rsv_pool_t *p = make_pool(48, 0, 0);
    void *a = rsv_pool_alloc(p), *b = rsv_pool_alloc(p), *c = rsv_pool_alloc(p);
    rsv_pool_free(p, a);
    rsv_pool_free(p, c);
    CHECK(rsv_pool_alloc(p) == c && rsv_pool_alloc(p) == a, "LIFO reuse");
    rsv_pool_free(p, NULL);
    CHECK(err_count == 0, "free(NULL) ignored");

    int local;
    void *heap = malloc(48);
    void *bad[] = { &local, heap, (char *)b + 8, (char *)b - 1, (char *)c + 48 * 1000 };
    const char *what[] = { "stack pointer", "malloc pointer", "inside a block", "inside the previous block",
                           "past the carved blocks" };
    for (int i = 0; i < 5; i++) {
        LONG before = err_count;
        rsv_pool_free(p, bad[i]);
        rsv_pool_stats_t s;
        rsv_pool_stats(p, &s);
        CHECK(err_count == before + 1 && err_code == EINVAL && s.in_use == 3 && rsvi_pool_validate(p),
              "bad free (%s) reported, pool unchanged", what[i]);
    }
    free(heap);
    rsv_pool_free(p, b);
    LONG before = err_count;
    rsv_pool_free(p, b);
    CHECK(err_count == before + 1 && rsvi_pool_validate(p), "double free reported");
    void *n1 = rsv_pool_alloc(p), *n2 = rsv_pool_alloc(p);
    CHECK(n1 == b && n2 != b, "a double-freed block is handed out once");
    CHECK(rsv_pool_owns(p, (char *)a + 47) && !rsv_pool_owns(p, &local), "owns");
    rsv_pool_destroy(p);
}

static void test_hardening(void)
{
    for (int hardened = 1; hardened >= 0; hardened--) {
        reset_errors();
        rsv_pool_t *p = make_pool(32, 0, hardened ? 0 : RSV_POOL_NO_HARDEN);
        void *blocks[8];
        for (int i = 0; i < 8; i++) blocks[i] = rsv_pool_alloc(p);
        rsv_pool_free(p, blocks[5]);
        rsv_pool_free(p, blocks[6]);
        CHECK((*(uintptr_t *)blocks[6] == (uintptr_t)blocks[5]) == !hardened,
              "links are %s", hardened ? "encoded" : "plain");
        *(uintptr_t *)blocks[6] = (uintptr_t)blocks[0];   /* write after free */
        void *h = rsv_pool_alloc(p);
        void *n = rsv_pool_alloc(p);
        rsv_pool_stats_t s;
        rsv_pool_stats(p, &s);
        CHECK(h == blocks[6] && n != blocks[0] && err_code == EFAULT && s.corrupted == 1 && rsvi_pool_validate(p),
              "%s: corrupted link detected, not followed", hardened ? "hardened" : "plain");
        rsv_pool_destroy(p);
    }
}

static void test_reset_stats_full(void)
{
    reset_errors();
    rsv_pool_t *p = make_pool(100, 0, 0);
    void *first = rsv_pool_alloc(p);
    for (int i = 0; i < 5000; i++) rsv_pool_alloc(p);
    rsv_pool_stats_t s, t;
    rsv_pool_stats(p, &s);
    rsv_pool_reset(p);
    rsv_pool_stats(p, &t);
    CHECK(s.in_use == 5001 && s.peak == 5001 && t.in_use == 0 && t.carved == 0 && t.committed == s.committed,
          "reset frees every block and keeps the memory");
    CHECK(rsv_pool_alloc(p) == first, "carving starts again");
    rsv_pool_destroy(p);

    rsv_pool_opts_t o = { 0 };
    o.block_size = 1000;
    o.reserve = 64 << 10;
    p = rsv_pool_create(&o);
    int n = 0;
    void *last = NULL;
    while (n < 100 && (last = rsv_pool_alloc(p)) != NULL) n++;
    CHECK(n >= 60 && n < 100 && err_code == ENOMEM, "full reservation -> NULL after %d", n);
    rsv_pool_destroy(p);
}

static void test_faults(void)
{
    for (int persistent = 0; persistent < 2; persistent++) {
        int ok = 1;
        for (unsigned n = 1; n <= 8; n++) {
            reset_errors();
            rsv_pool_opts_t o = { 0 };
            o.block_size = 1000;
            o.commit_step = 4096;
            rsv_pool_t *p = rsv_pool_create(&o);
            rsvi_fault_set(RSVI_FAULT_COMMIT, n, persistent);
            int failures = 0;
            for (int i = 0; i < 100; i++) {
                rsv_pool_stats_t before, after;
                rsv_pool_stats(p, &before);
                void *b = rsv_pool_alloc(p);
                if (!b) {
                    failures++;
                    rsv_pool_stats(p, &after);
                    if (after.in_use != before.in_use || after.carved != before.carved || !rsvi_pool_validate(p))
                        ok = 0;
                    continue;
                }
                memset(b, 0x33, 1000);
                if (i % 3 == 0) rsv_pool_free(p, b);
            }
            if (failures == 0 || (!persistent && failures != 1)) ok = 0;
            rsvi_fault_clear();
            for (int i = 0; i < 100; i++)
                if (!rsv_pool_alloc(p)) ok = 0;
            if (!rsvi_pool_validate(p)) ok = 0;
            rsv_pool_destroy(p);
        }
        CHECK(ok, "commit fault at N = 1..8 (%s): NULL, pool unchanged and usable",
              persistent ? "persistent" : "transient");
    }
}

enum { THREADS = 4, SLOTS = 64, ROUNDS = 100000 };
static rsv_pool_t *mt_pool;
static uint32_t *volatile mailbox[THREADS][SLOTS];
static volatile LONG mt_errors;

static void mt_free(uint32_t *b)
{
    if (b[0] >= THREADS || b[1] != ~b[0]) InterlockedIncrement(&mt_errors);
    memset(b, 0xDD, 8);
    rsv_pool_free(mt_pool, b);
}

static DWORD WINAPI mt_worker(LPVOID arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    uint64_t seed = 0x9E3779B97F4A7C15ull * (id + 1);
    uint32_t *mine[16] = { 0 };
    for (int r = 0; r < ROUNDS; r++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        unsigned k = (unsigned)(seed >> 40) % 16;
        if (mine[k]) {
            if (seed & (1ull << 20)) {
                unsigned to = (unsigned)(seed >> 24) % THREADS, slot = (unsigned)(seed >> 8) % SLOTS;
                uint32_t *old = InterlockedExchangePointer((PVOID volatile *)&mailbox[to][slot], mine[k]);
                if (old) mt_free(old);
            } else {
                mt_free(mine[k]);
            }
            mine[k] = NULL;
        } else {
            uint32_t *b = rsv_pool_alloc(mt_pool);
            if (!b) {
                InterlockedIncrement(&mt_errors);
                continue;
            }
            b[0] = id;
            b[1] = ~id;
            mine[k] = b;
        }
        unsigned slot = (unsigned)(seed >> 16) % SLOTS;
        uint32_t *got = InterlockedExchangePointer((PVOID volatile *)&mailbox[id][slot], NULL);
        if (got) mt_free(got);
    }
    for (int k = 0; k < 16; k++)
        if (mine[k]) mt_free(mine[k]);
    return 0;
}

static void test_shared(void)
{
    reset_errors();
    mt_pool = make_pool(24, 0, RSV_POOL_SHARED);
    HANDLE th[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++) th[i] = CreateThread(NULL, 0, mt_worker, (LPVOID)i, 0, NULL);
    WaitForMultipleObjects(THREADS, th, TRUE, INFINITE);
    for (int i = 0; i < THREADS; i++) CloseHandle(th[i]);
    for (int t = 0; t < THREADS; t++)
        for (int s = 0; s < SLOTS; s++)
            if (mailbox[t][s]) mt_free(mailbox[t][s]);
    rsv_pool_stats_t s;
    rsv_pool_stats(mt_pool, &s);
    CHECK(mt_errors == 0 && err_count == 0, "shared pool: no block handed to two threads, no bad free");
    CHECK(s.in_use == 0 && rsvi_pool_validate(mt_pool), "shared pool: every block back, consistent");
    rsv_pool_destroy(mt_pool);
}

int main(void)
{
    rsv_error_handler_t h = { on_error, NULL };
    rsv_set_error_handler(h);
    test_geometry();
    test_lifo_and_bad_frees();
    test_hardening();
    test_reset_stats_full();
    test_faults();
    test_shared();
    return tap_done();
}
