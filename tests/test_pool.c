/* tests/test_pool.c — Criterion suite for the pool layer
 * (reservoir/pool.h): options, block geometry, LIFO reuse, every bad free,
 * free-list hardening against a corrupted link, reset, ownership, stats, a
 * full reservation, fault injection at each commit, slow mode, and a seeded
 * stress test.  The threaded tests are in test_pool_mt.c (suite "mt").
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena_internal.h"
#include "internal.h"
#include "reservoir/pool.h"
#include "test_errors.h"

#if defined(__SANITIZE_ADDRESS__)
#  define TEST_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define TEST_ASAN 1
#  endif
#endif
#ifndef TEST_ASAN
#  define TEST_ASAN 0
#endif
#if TEST_ASAN
#  include <sanitizer/asan_interface.h>
#  define UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#  define UNPOISON(p, n) ((void)(p), (void)(n))
#endif


TestSuite(pool, .init = err_setup, .fini = err_teardown, .timeout = 30);

static rsv_pool_t *make_pool(size_t block, size_t align, unsigned flags)
{
    rsv_pool_opts_t o = { 0 };
    o.block_size = block;
    o.alignment = align;
    o.flags = flags;
    rsv_pool_t *p = rsv_pool_create(&o);
    cr_assert_not_null(p);
    return p;
}

Test(pool, create_defaults)
{
    rsv_pool_t *p = rsv_pool_create(NULL);
    cr_assert_not_null(p);
    rsv_pool_stats_t s;
    rsv_pool_stats(p, &s);
    cr_assert_eq(s.block_size, 64);
    cr_assert_eq(s.alignment, alignof(max_align_t));
    cr_assert_eq(s.in_use, 0);
    cr_assert_eq(s.carved, 0);
    cr_assert_geq(s.reserved, (size_t)1 << 30);
    cr_assert_null(rsv_pool_name(p));
    cr_assert(rsvi_pool_validate(p));
    rsv_pool_destroy(p);
    rsv_pool_destroy(NULL);
    cr_assert_eq(err_count, 0);
}

Test(pool, bad_options)
{
    rsv_pool_opts_t o = { 0 };
    o.alignment = 24;
    cr_assert_null(rsv_pool_create(&o));
    cr_assert_eq(err_code, EINVAL);
    o.alignment = RSV_POOL_MAX_ALIGN << 1;
    cr_assert_null(rsv_pool_create(&o));
    o.alignment = 0;
    o.block_size = SIZE_MAX - 3;
    cr_assert_null(rsv_pool_create(&o));
    o.block_size = 8;
    o.flags = 1u << 9;
    cr_assert_null(rsv_pool_create(&o));
    cr_assert_eq(err_count, 4);
    rsvi_fault_set(RSVI_FAULT_RESERVE, 1, 0);
    cr_assert_null(rsv_pool_create(NULL));
    rsvi_fault_set(RSVI_FAULT_RESERVE, 2, 0);
    cr_assert_null(rsv_pool_create(NULL), "bitmap reservation fails");
    rsvi_fault_set(RSVI_FAULT_COMMIT, 1, 0);
    cr_assert_null(rsv_pool_create(NULL), "header commit fails");
    rsvi_fault_clear();
}

Test(pool, block_geometry)
{
    static const struct { size_t ask, align, stride, natural; } cases[] = {
        { 1, 0, 8, 8 }, { 3, 0, 8, 8 }, { 8, 0, 8, 8 }, { 12, 0, 16, 16 },
        { 24, 0, 24, 8 }, { 100, 0, 104, 8 }, { 4096, 0, 4096, 16 },
        { 10, 64, 64, 64 }, { 100, 4096, 4096, 4096 }, { 40, 32, 64, 32 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rsv_pool_t *p = make_pool(cases[c].ask, cases[c].align, 0);
        rsv_pool_stats_t s;
        rsv_pool_stats(p, &s);
        cr_assert_eq(s.block_size, cases[c].stride, "block %zu", cases[c].ask);
        cr_assert_eq(s.alignment, cases[c].natural, "block %zu", cases[c].ask);
        unsigned char *prev = NULL;
        for (int i = 0; i < 100; i++) {
            unsigned char *b = rsv_pool_alloc(p);
            cr_assert_not_null(b);
            cr_assert_eq((uintptr_t)b % s.alignment, 0);
            if (prev) cr_assert_eq(b, prev + s.block_size, "carved in order");
            memset(b, i, cases[c].ask);
            prev = b;
        }
        cr_assert(rsvi_pool_validate(p));
        rsv_pool_destroy(p);
    }
    cr_assert_eq(err_count, 0);
}

Test(pool, free_list_is_lifo)
{
    rsv_pool_t *p = make_pool(32, 0, 0);
    void *a = rsv_pool_alloc(p), *b = rsv_pool_alloc(p), *c = rsv_pool_alloc(p);
    rsv_pool_free(p, a);
    rsv_pool_free(p, c);
    rsv_pool_free(p, b);
    cr_assert_eq(rsv_pool_alloc(p), b);
    cr_assert_eq(rsv_pool_alloc(p), c);
    cr_assert_eq(rsv_pool_alloc(p), a);
    void *d = rsv_pool_alloc(p);
    cr_assert_neq(d, a);
    cr_assert_neq(d, b);
    cr_assert_neq(d, c);
    rsv_pool_free(p, NULL);
    cr_assert_eq(err_count, 0);
    rsv_pool_stats_t s;
    rsv_pool_stats(p, &s);
    cr_assert_eq(s.in_use, 4);
    cr_assert_eq(s.carved, 4);
    rsv_pool_destroy(p);
}

/* Each bad free is reported once, counted, and changes nothing. */
static void check_bad_free(rsv_pool_t *p, void *bad, void *live[], int nlive)
{
    rsv_pool_stats_t before, after;
    rsv_pool_stats(p, &before);
    int errs = err_count;
    rsv_pool_free(p, bad);
    cr_assert_eq(err_count, errs + 1);
    cr_assert_eq(err_code, EINVAL);
    rsv_pool_stats(p, &after);
    cr_assert_eq(after.in_use, before.in_use);
    cr_assert_eq(after.bad_frees, before.bad_frees + 1);
    cr_assert(rsvi_pool_validate(p));
    /* Fresh blocks are none of the live ones. */
    void *n = rsv_pool_alloc(p);
    for (int i = 0; i < nlive; i++) cr_assert_neq(n, live[i]);
    rsv_pool_free(p, n);
}

Test(pool, bad_frees_are_detected)
{
    rsv_pool_t *p = make_pool(48, 0, 0);
    void *live[3];
    for (int i = 0; i < 3; i++) live[i] = rsv_pool_alloc(p);
    void *freed = rsv_pool_alloc(p);
    rsv_pool_free(p, freed);

    int local;
    check_bad_free(p, &local, live, 3);                      /* not owned: stack */
    void *heap = malloc(48);
    check_bad_free(p, heap, live, 3);                        /* not owned: malloc */
    free(heap);
    check_bad_free(p, (char *)live[1] + 8, live, 3);         /* inside a block */
    check_bad_free(p, (char *)live[1] - 1, live, 3);         /* inside the previous one */
    check_bad_free(p, (char *)live[2] + 48 * 1000, live, 3); /* past the carved blocks */
    check_bad_free(p, freed, live, 3);                       /* double free */
    rsv_pool_free(p, live[0]);
    check_bad_free(p, live[0], live + 1, 2);                 /* double free again */

    /* Another pool's block is foreign too. */
    rsv_pool_t *q = make_pool(48, 0, 0);
    void *other = rsv_pool_alloc(q);
    check_bad_free(p, other, live + 1, 2);
    cr_assert(rsv_pool_owns(q, other));
    cr_assert_not(rsv_pool_owns(p, other));
    rsv_pool_destroy(q);
    rsv_pool_destroy(p);
}

Test(pool, hardened_links_are_encoded)
{
    rsv_pool_t *p = make_pool(16, 0, 0);
    uintptr_t *a = rsv_pool_alloc(p), *b = rsv_pool_alloc(p);
    rsv_pool_free(p, a);
    rsv_pool_free(p, b);
    UNPOISON(b, 8);
    cr_assert_neq(*b, (uintptr_t)a, "the link is not the plain address");
    rsv_pool_destroy(p);

    p = make_pool(16, 0, RSV_POOL_NO_HARDEN);
    a = rsv_pool_alloc(p);
    b = rsv_pool_alloc(p);
    rsv_pool_free(p, a);
    rsv_pool_free(p, b);
    UNPOISON(b, 8);
    cr_assert_eq(*b, (uintptr_t)a, "hardening off: plain links");
    rsv_pool_destroy(p);
}

/* A write after free plants the address of a live block in a free block's
 * link: hardened, the pool must detect it and never hand that block out. */
static void corrupt_run(unsigned flags, uintptr_t (*plant)(void *target, void *self))
{
    rsv_pool_t *p = make_pool(32, 0, flags);
    err_count = 0;
    void *blocks[8];
    for (int i = 0; i < 8; i++) blocks[i] = rsv_pool_alloc(p);
    void *target = blocks[0];
    rsv_pool_free(p, blocks[5]);
    rsv_pool_free(p, blocks[6]);
    UNPOISON(blocks[6], 8);
    *(uintptr_t *)blocks[6] = plant(target, blocks[6]);   /* the use after free */
    cr_assert_eq(rsv_pool_alloc(p), blocks[6], "the head itself is still good");
    void *n = rsv_pool_alloc(p);
    cr_assert_not_null(n);
    cr_assert_neq(n, target, "the planted pointer is not followed");
    cr_assert_eq(err_count, 1);
    cr_assert_eq(err_code, EFAULT);
    rsv_pool_stats_t s;
    rsv_pool_stats(p, &s);
    cr_assert_eq(s.corrupted, 1);
    cr_assert(rsvi_pool_validate(p));
    for (int i = 0; i < 100; i++) cr_assert_neq(rsv_pool_alloc(p), target);
    rsv_pool_reset(p);
    cr_assert(rsvi_pool_validate(p));
    rsv_pool_destroy(p);
}

static uintptr_t plant_plain(void *target, void *self)
{
    (void)self;
    return (uintptr_t)target;
}

static uintptr_t plant_garbage(void *target, void *self)
{
    (void)target;
    return (uintptr_t)self + 3;
}

Test(pool, corrupted_link_is_detected_not_followed)
{
    corrupt_run(0, plant_plain);
    corrupt_run(0, plant_garbage);
    /* Even unhardened, a link to a block in use is refused. */
    corrupt_run(RSV_POOL_NO_HARDEN, plant_plain);
    corrupt_run(RSV_POOL_NO_HARDEN, plant_garbage);
}

Test(pool, reset_frees_everything_and_keeps_memory)
{
    rsv_pool_t *p = make_pool(100, 0, 0);
    void *first = rsv_pool_alloc(p);
    for (int i = 0; i < 5000; i++) cr_assert_not_null(rsv_pool_alloc(p));
    rsv_pool_stats_t s;
    rsv_pool_stats(p, &s);
    size_t committed = s.committed;
    cr_assert_eq(s.in_use, 5001);
    cr_assert_eq(s.peak, 5001);
    rsv_pool_reset(p);
    rsv_pool_stats(p, &s);
    cr_assert_eq(s.in_use, 0);
    cr_assert_eq(s.carved, 0);
    cr_assert_eq(s.committed, committed, "memory kept");
    cr_assert_not(rsv_pool_owns(p, first));
    cr_assert_eq(rsv_pool_alloc(p), first);
    cr_assert(rsvi_pool_validate(p));
    rsv_pool_destroy(p);
}

Test(pool, owns_and_stats)
{
    rsv_pool_opts_t o = { 0 };
    o.block_size = 40;
    o.name = "entities";
    rsv_pool_t *p = rsv_pool_create(&o);
    cr_assert_str_eq(rsv_pool_name(p), "entities");
    char *a = rsv_pool_alloc(p);
    char *b = rsv_pool_alloc(p);
    cr_assert(rsv_pool_owns(p, a));
    cr_assert(rsv_pool_owns(p, a + 39));
    cr_assert(rsv_pool_owns(p, b + 39));
    cr_assert_not(rsv_pool_owns(p, b + 40), "not carved yet");
    cr_assert_not(rsv_pool_owns(p, p));
    cr_assert_not(rsv_pool_owns(p, NULL));
    rsv_pool_free(p, a);
    cr_assert(rsv_pool_owns(p, a), "free blocks are still the pool's");
    rsv_pool_stats_t s;
    rsv_pool_stats(p, &s);
    cr_assert_eq(s.in_use, 1);
    cr_assert_eq(s.peak, 2);
    cr_assert_eq(s.carved, 2);
    cr_assert_gt(s.committed, 0);
    cr_assert_gt(s.capacity, 1000000);
    rsv_pool_destroy(p);
}

Test(pool, full_reservation)
{
    rsv_pool_opts_t o = { 0 };
    o.block_size = 1000;
    o.reserve = 64 << 10;
    rsv_pool_t *p = rsv_pool_create(&o);
    void *blocks[100];
    int n = 0;
    while (n < 100 && (blocks[n] = rsv_pool_alloc(p)) != NULL) n++;
    cr_assert_lt(n, 100);
    cr_assert_geq(n, 60);
    cr_assert_eq(err_code, ENOMEM);
    rsv_pool_free(p, blocks[10]);
    cr_assert_eq(rsv_pool_alloc(p), blocks[10]);
    cr_assert_null(rsv_pool_alloc(p));
    cr_assert(rsvi_pool_validate(p));
    rsv_pool_destroy(p);
}

static void pool_fault_run(unsigned n, int persistent)
{
    rsv_pool_opts_t o = { 0 };
    o.block_size = 1000;
    o.commit_step = 4096;
    rsv_pool_t *p = rsv_pool_create(&o);
    cr_assert_not_null(p);
    rsvi_fault_set(RSVI_FAULT_COMMIT, n, persistent);
    int failures = 0;
    for (int i = 0; i < 100; i++) {
        rsv_pool_stats_t before, after;
        rsv_pool_stats(p, &before);
        void *b = rsv_pool_alloc(p);
        if (!b) {
            failures++;
            rsv_pool_stats(p, &after);
            cr_assert_eq(after.in_use, before.in_use);
            cr_assert_eq(after.carved, before.carved);
            cr_assert(rsvi_pool_validate(p));
            continue;
        }
        memset(b, 0x33, 1000);
        if (i % 3 == 0) rsv_pool_free(p, b);
    }
    cr_assert_geq(failures, 1, "n=%u fired", n);
    if (!persistent) cr_assert_eq(failures, 1);
    rsvi_fault_clear();
    for (int i = 0; i < 100; i++) cr_assert_not_null(rsv_pool_alloc(p));
    cr_assert(rsvi_pool_validate(p));
    rsv_pool_destroy(p);
}

Test(pool, commit_fault_transient_each_n)
{
    for (unsigned n = 1; n <= 8; n++) pool_fault_run(n, 0);
}

Test(pool, commit_fault_persistent_each_n)
{
    for (unsigned n = 1; n <= 8; n++) pool_fault_run(n, 1);
}

Test(pool, slow_mode_behaves_the_same)
{
    rsv_pool_t *p = make_pool(24, 0, 0);
    void *a = rsv_pool_alloc(p), *b = rsv_pool_alloc(p);
    rsv_pool_free(p, a);
    rsvi_pool_set_slow(p, RSVI_POOL_SLOW_SHARED, 1);
    cr_assert_eq(p->fast.head, 0, "inline paths off");
    cr_assert_eq(p->fast.nblocks, 0);
    cr_assert_eq(rsv_pool_alloc(p), a);
    rsv_pool_free(p, b);
    rsv_pool_free(p, b);
    cr_assert_eq(err_count, 1, "double free seen in slow mode");
    rsvi_pool_set_slow(p, RSVI_POOL_SLOW_SHARED, 0);
    cr_assert_eq(rsv_pool_alloc(p), b);
    cr_assert(rsvi_pool_validate(p));
    rsv_pool_destroy(p);
}

static uint64_t rng_state;
static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

Test(pool, stress_seeded)
{
    int rounds = TEST_ASAN ? 20000 : 200000;
    rng_state = 99;
    rsv_pool_t *p = make_pool(20, 0, 0);
    enum { N = 2048 };
    static uint32_t *live[N];
    memset(live, 0, sizeof live);
    size_t in_use = 0;
    for (int i = 0; i < rounds; i++) {
        unsigned k = rng() % N;
        if (live[k]) {
            cr_assert_eq(live[k][0], k);
            cr_assert_eq(live[k][4], ~k);
            rsv_pool_free(p, live[k]);
            live[k] = NULL;
            in_use--;
        } else {
            live[k] = rsv_pool_alloc(p);
            cr_assert_not_null(live[k]);
            live[k][0] = k;
            live[k][4] = ~k;
            in_use++;
        }
        if (i % 10000 == 0) cr_assert(rsvi_pool_validate(p));
    }
    rsv_pool_stats_t s;
    rsv_pool_stats(p, &s);
    cr_assert_eq(s.in_use, in_use);
    cr_assert_leq(s.carved, N);
    cr_assert_eq(err_count, 0);
    rsv_pool_destroy(p);
}

/* ---- ASan cooperation (ASan builds only) -------------------------------- */
#if TEST_ASAN

Test(pool, asan_poisons_free_blocks_and_padding)
{
    rsv_pool_t *p = make_pool(20, 0, 0);   /* stride 24: 4 bytes of padding */
    char *a = rsv_pool_alloc(p);
    cr_assert_not(__asan_address_is_poisoned(a + 19));
    cr_assert(__asan_address_is_poisoned(a + 20), "padding after the block");
    char *b = rsv_pool_alloc(p);
    cr_assert(__asan_address_is_poisoned(b + 24), "not carved yet");
    rsv_pool_free(p, a);
    cr_assert(__asan_address_is_poisoned(a), "freed block");
    cr_assert(__asan_address_is_poisoned(a + 12));
    cr_assert_eq(rsv_pool_alloc(p), a);
    cr_assert_not(__asan_address_is_poisoned(a + 19), "reused block unpoisoned");
    rsv_pool_reset(p);
    cr_assert(__asan_address_is_poisoned(b), "reset");
    rsv_pool_destroy(p);
}

static void asan_report(const char *report)
{
    if (strstr(report, "use-after-poison")) _exit(42);
    _exit(43);
}

static void asan_setup(void)
{
    err_setup();
    __asan_set_error_report_callback(asan_report);
}

Test(pool, asan_catches_use_after_free, .init = asan_setup, .exit_code = 42)
{
    rsv_pool_t *p = make_pool(32, 0, 0);
    volatile char *b = rsv_pool_alloc(p);
    b[0] = 1;
    rsv_pool_free(p, (void *)b);
    char c = b[8];
    (void)c;
    rsv_pool_destroy(p);
}
#endif
