/* tests/test_heap.c — Criterion suite "heap" for reservoir/heap.h: every
 * function and bad input, alignment up to 1 GiB, realloc/expand keeping
 * contents, destroy releasing every reservation, validate and walk agreeing
 * with what was allocated, bad pointers (foreign, interior, double free)
 * reported and harmless, capped/zero/executable/no-serialize heaps, thread
 * exit, fork, fault injection at every reserve/commit point, RSS falling
 * after trim, the mapping count after 10^6 random operations, a second
 * round of allocations touching no new memory (the empty page a class
 * keeps), and a seeded random stress against a model of the live blocks.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heap/heap_internal.h"
#include "internal.h"
#include "reservoir/heap.h"
#include "reservoir/vm.h"


#include "test_sanitize.h"
#include "test_errors.h"
#include "test_fill.h"
#include "test_rng.h"
#include "test_rss.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)

/* ---- error capture ------------------------------------------------------------ */


static void assert_valid(rsv_heap_t *h)
{
    char msg[160] = "";
    int e = rsv_heap_validate(h, NULL, msg, sizeof msg);
    cr_assert_eq(e, 0, "validate: %s", msg);
}

static uint64_t rng_state;
static uint64_t rng(void)
{
    return test_rng_next(&rng_state);
}

/* A log-uniform size in [0, max]. */
static size_t rand_size(size_t max)
{
    unsigned bits = 0;
    while (((size_t)1 << bits) < max) bits++;
    size_t s = (size_t)(rng() % ((size_t)1 << (rng() % (bits + 1))));
    return s > max ? max : s;
}


static long maps_lines(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    long n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        if (c == '\n') n++;
    fclose(f);
    return n;
}


/* The metadata region (heap headers) is reserved once per process and kept;
 * baselines are taken after it exists. */
static void warm_up(void)
{
    rsv_heap_destroy(rsv_heap_create(NULL));
}

/* ---- creation ------------------------------------------------------------------- */

Test(heap, create_destroy_defaults, .timeout = 10)
{
    warm_up();
    size_t before = rsvi_vm_reservations();
    rsv_heap_t *h = rsv_heap_create(NULL);
    cr_assert_not_null(h);
    cr_assert_gt(rsvi_vm_reservations(), before);
    assert_valid(h);
    rsv_heap_destroy(h);
    cr_assert_eq(rsvi_vm_reservations(), before);
    rsv_heap_destroy(NULL);
}

Test(heap, create_bad_options, .timeout = 10)
{
    err_setup();
    rsv_heap_opts_t o = {0};
    o.flags = 1u << 20;
    cr_assert_null(rsv_heap_create(&o));
    cr_assert_eq(err_code, EINVAL);
    o.flags = 0;
    o.max_size = MIB;
    o.initial_commit = 2 * MIB;
    cr_assert_null(rsv_heap_create(&o));
    o.max_size = (size_t)1 << 50;
    o.initial_commit = 0;
    cr_assert_null(rsv_heap_create(&o));
}

Test(heap, initial_commit_is_committed, .timeout = 10)
{
    rsv_heap_opts_t o = {0};
    o.initial_commit = 8 * MIB;
    o.name = "initial";
    rsv_heap_t *h = rsv_heap_create(&o);
    cr_assert_not_null(h);
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    cr_assert_geq(st.committed, 8 * MIB);
    cr_assert_geq(st.reserved, st.committed);
    rsv_heap_destroy(h);
}

Test(heap, default_heap_is_process_wide, .timeout = 10)
{
    err_setup();
    rsv_heap_t *d = rsv_heap_default();
    cr_assert_not_null(d);
    cr_assert_eq(d, rsv_heap_default());
    rsv_heap_destroy(d);
    cr_assert_eq(err_code, EINVAL, "destroying the default heap is refused");
    void *p = rsv_heap_alloc(d, 100);
    cr_assert_not_null(p);
    cr_assert_eq(rsv_heap_of(p), d);
    rsv_heap_free(d, p);
    assert_valid(d);
}

/* ---- allocation ------------------------------------------------------------------- */

Test(heap, alloc_every_size_class_and_huge, .timeout = 30)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    static void *ptrs[400];
    size_t n = 0;
    for (size_t s = 0; s <= 3 * MIB; s = s < 64 ? s + 1 : s + s / 3) {
        void *p = rsv_heap_alloc(h, s);
        cr_assert_not_null(p, "size %zu", s);
        cr_assert_eq((uintptr_t)p % 16, 0, "16-byte aligned");
        cr_assert_geq(rsv_heap_usable_size(h, p), s);
        cr_assert_eq(rsv_heap_of(p), h);
        fill(p, s, (unsigned)s);
        ptrs[n++] = p;
    }
    assert_valid(h);
    size_t i = 0;
    for (size_t s = 0; s <= 3 * MIB; s = s < 64 ? s + 1 : s + s / 3, i++)
        cr_assert(filled(ptrs[i], s, (unsigned)s), "contents of size %zu", s);
    for (i = 0; i < n; i++) rsv_heap_free(h, ptrs[i]);
    assert_valid(h);
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.blocks, 0);
    cr_assert_eq(st.in_use, 0);
    rsv_heap_destroy(h);
}

Test(heap, size_zero_gives_unique_blocks, .timeout = 10)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    void *a = rsv_heap_alloc(h, 0), *b = rsv_heap_alloc(h, 0);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_neq(a, b);
    rsv_heap_free(h, a);
    rsv_heap_free(h, b);
    rsv_heap_destroy(h);
}

Test(heap, null_heap_and_null_pointer, .timeout = 10)
{
    err_setup();
    cr_assert_null(rsv_heap_alloc(NULL, 10));
    cr_assert_eq(err_code, EINVAL);
    rsv_heap_t *h = rsv_heap_create(NULL);
    rsv_heap_free(h, NULL);
    cr_assert_eq(rsv_heap_usable_size(h, NULL), 0);
    cr_assert_null(rsv_heap_of(NULL));
    cr_assert_null(rsv_heap_expand(h, NULL, 10));
    void *p = rsv_heap_realloc(h, NULL, 40);
    cr_assert_not_null(p, "realloc(NULL, n) allocates");
    rsv_heap_free(h, p);
    rsv_heap_destroy(h);
}

Test(heap, huge_request_fails_cleanly, .timeout = 10)
{
    err_setup();
    rsv_heap_t *h = rsv_heap_create(NULL);
    cr_assert_null(rsv_heap_alloc(h, SIZE_MAX));
    cr_assert_null(rsv_heap_alloc(h, SIZE_MAX / 2));
    cr_assert_null(rsv_heap_alloc_aligned(h, SIZE_MAX - 100, 64));
    cr_assert_gt(err_count, 0);
    assert_valid(h);
    void *p = rsv_heap_alloc(h, 100);
    cr_assert_not_null(p);
    rsv_heap_free(h, p);
    rsv_heap_destroy(h);
}

Test(heap, aligned_allocations, .timeout = 60)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    static const size_t sizes[] = {1, 24, 100, 4000, 9000, 70000, 600 * 1024, 3 * MIB};
    for (size_t a = 1; a <= 64 * MIB; a <<= 1) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            void *p = rsv_heap_alloc_aligned(h, sizes[i], a);
            cr_assert_not_null(p, "size %zu align %zu", sizes[i], a);
            cr_assert_eq((uintptr_t)p % a, 0, "size %zu align %zu", sizes[i], a);
            cr_assert_geq(rsv_heap_usable_size(h, p), sizes[i]);
            fill(p, sizes[i], 3);
            cr_assert_eq(rsv_heap_validate(h, p, NULL, 0), 0);
            rsv_heap_free(h, p);
        }
    }
    void *g = rsv_heap_alloc_aligned(h, 100, GIB);
    cr_assert_not_null(g);
    cr_assert_eq((uintptr_t)g % GIB, 0);
    fill(g, 100, 1);
    assert_valid(h);
    rsv_heap_free(h, g);
    assert_valid(h);
    rsv_heap_destroy(h);
}

Test(heap, aligned_bad_alignment, .timeout = 10)
{
    err_setup();
    rsv_heap_t *h = rsv_heap_create(NULL);
    cr_assert_null(rsv_heap_alloc_aligned(h, 10, 0));
    cr_assert_eq(err_code, EINVAL);
    cr_assert_null(rsv_heap_alloc_aligned(h, 10, 48));
    cr_assert_null(rsv_heap_alloc_aligned(h, 10, 2 * GIB));
    cr_assert_null(rsv_heap_alloc_ex(h, 10, 3, 0));
    cr_assert_null(rsv_heap_alloc_ex(h, 10, 0, 1u << 9));
    rsv_heap_destroy(h);
}

Test(heap, calloc_zeroes_and_checks_overflow, .timeout = 10)
{
    err_setup();
    rsv_heap_t *h = rsv_heap_create(NULL);
    for (size_t s = 16; s <= 4 * MIB; s *= 4) {
        void *d = rsv_heap_alloc(h, s);
        memset(d, 0xAB, s);
        rsv_heap_free(h, d);
        unsigned char *z = rsv_heap_calloc(h, 1, s);
        cr_assert_not_null(z);
        for (size_t i = 0; i < s; i += 1 + i / 64) cr_assert_eq(z[i], 0, "size %zu byte %zu", s, i);
        rsv_heap_free(h, z);
    }
    cr_assert_null(rsv_heap_calloc(h, SIZE_MAX / 2, 3));
    cr_assert_eq(err_code, ENOMEM);
    cr_assert_null(rsv_heap_calloc(h, (size_t)1 << 33, (size_t)1 << 33));
    void *p = rsv_heap_calloc(h, 0, 100);
    cr_assert_not_null(p);
    rsv_heap_free(h, p);
    rsv_heap_destroy(h);
}

Test(heap, realloc_keeps_contents, .timeout = 30)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    static const size_t steps[] = {1, 17, 200, 1000, 5000, 70000, 300000, 2 * MIB, 9 * MIB,
                                   600000, 3000, 40, 9 * MIB, 8};
    size_t n = 0;
    unsigned char *p = NULL;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t m = steps[i];
        unsigned char *q = rsv_heap_realloc(h, p, m);
        cr_assert_not_null(q, "realloc to %zu", m);
        size_t keep = n < m ? n : m;
        cr_assert(filled(q, keep, 9), "contents kept %zu -> %zu", n, m);
        fill(q, m, 9);
        p = q;
        n = m;
        assert_valid(h);
    }
    unsigned char *z = rsv_heap_realloc(h, p, 0);
    cr_assert_not_null(z, "the heap's realloc(p, 0) returns a minimal block");
    rsv_heap_free(h, z);
    assert_valid(h);
    rsv_heap_destroy(h);
}

Test(heap, realloc_failure_leaves_block, .timeout = 10)
{
    err_setup();
    rsv_heap_t *h = rsv_heap_create(NULL);
    void *p = rsv_heap_alloc(h, 1000);
    fill(p, 1000, 5);
    cr_assert_null(rsv_heap_realloc(h, p, SIZE_MAX / 2));
    cr_assert(filled(p, 1000, 5));
    cr_assert_eq(rsv_heap_validate(h, p, NULL, 0), 0);
    rsv_heap_free(h, p);
    rsv_heap_destroy(h);
}

Test(heap, expand_in_place_or_fail, .timeout = 10)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    void *p = rsv_heap_alloc(h, 100);
    size_t u = rsv_heap_usable_size(h, p);
    cr_assert_eq(rsv_heap_expand(h, p, u), p);
    cr_assert_eq(rsv_heap_expand(h, p, 10), p);
    cr_assert_null(rsv_heap_expand(h, p, u + 1));
    cr_assert_eq(rsv_heap_validate(h, p, NULL, 0), 0);
    /* A huge block grows in place while the following segments are free. */
    unsigned char *b = rsv_heap_alloc(h, 2 * MIB);
    fill(b, 2 * MIB, 1);
    cr_assert_eq(rsv_heap_expand(h, b, 20 * MIB), b);
    cr_assert_geq(rsv_heap_usable_size(h, b), 20 * MIB);
    cr_assert(filled(b, 2 * MIB, 1));
    memset(b + 2 * MIB, 1, 18 * MIB);
    cr_assert_eq(rsv_heap_expand(h, b, 3 * MIB), b, "shrinks in place");
    cr_assert_lt(rsv_heap_usable_size(h, b), 20 * MIB);
    /* Blocked by a neighbour: fails and leaves the block. */
    void *n = rsv_heap_alloc(h, 2 * MIB);
    size_t ub = rsv_heap_usable_size(h, b);
    if ((uintptr_t)n > (uintptr_t)b) {
        cr_assert_null(rsv_heap_expand(h, b, ((uintptr_t)n - (uintptr_t)b) + 8 * MIB));
        cr_assert_eq(rsv_heap_usable_size(h, b), ub);
    }
    cr_assert(filled(b, 2 * MIB, 1));
    rsv_heap_free(h, n);
    rsv_heap_free(h, b);
    rsv_heap_free(h, p);
    assert_valid(h);
    rsv_heap_destroy(h);
}

/* ---- bad pointers ------------------------------------------------------------------ */

Test(heap, bad_pointers_are_reported_and_harmless, .timeout = 10)
{
    err_setup();
    rsv_heap_t *h = rsv_heap_create(NULL);
    char *p = rsv_heap_alloc(h, 64);
    char *q = rsv_heap_alloc(h, 64);
    char *big = rsv_heap_alloc(h, 3 * MIB);
    int on_stack = 0;
    static char in_data[64];
    char *libc = malloc(64);

    rsv_heap_free(h, &on_stack);
    cr_assert_eq(err_count, 1);
    cr_assert_eq(err_code, EINVAL);
    rsv_heap_free(h, in_data);
    rsv_heap_free(h, libc);
    rsv_heap_free(h, p + 16);
    rsv_heap_free(h, p + 1);
    rsv_heap_free(h, big + 4096);
    rsv_heap_free(h, (void *)(uintptr_t)0xdeadbeefdeadbee0ull);
    cr_assert_eq(err_count, 7);
    cr_assert_null(rsv_heap_of(p + 16));
    cr_assert_null(rsv_heap_of(&on_stack));
    cr_assert_eq(rsv_heap_usable_size(h, p + 8), 0);
    cr_assert_neq(rsv_heap_validate(h, p + 16, NULL, 0), 0);
    assert_valid(h);

    rsv_heap_free(h, p);
    err_count = 0;
    rsv_heap_free(h, p);
    cr_assert_eq(err_count, 1, "double free reported");
    cr_assert_neq(rsv_heap_validate(h, p, NULL, 0), 0);
    cr_assert_null(rsv_heap_realloc(h, p, 100));
    rsv_heap_free(h, big);
    rsv_heap_free(h, big);
    cr_assert_eq(err_count, 3);
    assert_valid(h);
    /* The heap still hands out distinct blocks. */
    char *a = rsv_heap_alloc(h, 64), *b = rsv_heap_alloc(h, 64);
    cr_assert_neq(a, b);
    cr_assert_neq(a, q);
    cr_assert_neq(b, q);
    rsv_heap_free(h, a);
    rsv_heap_free(h, b);
    rsv_heap_free(h, q);
    assert_valid(h);
    free(libc);
    rsv_heap_destroy(h);
}

Test(heap, block_of_another_heap_is_refused, .timeout = 10)
{
    err_setup();
    rsv_heap_t *a = rsv_heap_create(NULL), *b = rsv_heap_create(NULL);
    void *p = rsv_heap_alloc(a, 32);
    rsv_heap_free(b, p);
    cr_assert_eq(err_count, 1);
    cr_assert_eq(rsv_heap_usable_size(b, p), 0);
    cr_assert_eq(rsv_heap_of(p), a);
    cr_assert_eq(rsv_heap_validate(a, p, NULL, 0), 0);
    cr_assert_neq(rsv_heap_validate(b, p, NULL, 0), 0);
    rsv_heap_free(a, p);
    assert_valid(a);
    assert_valid(b);
    rsv_heap_destroy(a);
    rsv_heap_destroy(b);
    cr_assert_null(rsv_heap_of(p), "released with its heap");
}

/* ---- walk / validate / stats ---------------------------------------------------------- */

typedef struct walk_rec {
    void **live;
    size_t *live_size;
    size_t nlive;
    size_t used_seen, used_matched, regions, free_seen, bad;
    uintptr_t last_end;
} walk_rec_t;

static int walk_cb(void *user, const rsv_heap_walk_entry_t *e)
{
    walk_rec_t *w = user;
    switch (e->kind) {
    case RSV_WALK_REGION:
        w->regions++;
        w->last_end = 0;
        break;
    case RSV_WALK_BLOCK_USED:
        w->used_seen++;
        for (size_t i = 0; i < w->nlive; i++)
            if (w->live[i] == e->addr && e->size >= w->live_size[i]) w->used_matched++;
        if (!e->committed) w->bad++;
        break;
    case RSV_WALK_BLOCK_FREE:
        w->free_seen++;
        break;
    case RSV_WALK_UNCOMMITTED:
        if (e->committed) w->bad++;
        break;
    default:
        w->bad++;
    }
    if (e->kind != RSV_WALK_REGION) {
        if ((uintptr_t)e->addr < w->last_end) w->bad++; /* entries in address order */
        w->last_end = (uintptr_t)e->addr + e->size;
    }
    return 0;
}

static int walk_stop_cb(void *user, const rsv_heap_walk_entry_t *e)
{
    (void)e;
    return ++*(int *)user == 3 ? 42 : 0;
}

Test(heap, walk_and_validate_agree_with_allocations, .timeout = 30)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    static void *live[300];
    static size_t live_size[300];
    rng_state = 12345;
    size_t n = 0;
    for (int i = 0; i < 600; i++) {
        size_t s = rand_size(i % 50 == 0 ? 3 * MIB : 20000);
        void *p = rsv_heap_alloc(h, s);
        cr_assert_not_null(p);
        if (i % 2) {
            rsv_heap_free(h, p);
        } else {
            live[n] = p;
            live_size[n++] = s;
        }
    }
    assert_valid(h);
    walk_rec_t w = {live, live_size, n, 0, 0, 0, 0, 0, 0};
    cr_assert_eq(rsv_heap_walk(h, walk_cb, &w), 0);
    cr_assert_eq(w.bad, 0);
    cr_assert_geq(w.regions, 1);
    cr_assert_eq(w.used_seen, n, "every used block is a live block");
    cr_assert_eq(w.used_matched, n, "every live block is walked");
    cr_assert_gt(w.free_seen, 0);
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.blocks, n);
    size_t bytes = 0, large = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += rsv_heap_usable_size(h, live[i]);
        large += live_size[i] > MIB;
    }
    cr_assert_eq(st.in_use, bytes);
    cr_assert_eq(st.large_blocks, large);
    cr_assert_geq(st.peak_in_use, st.in_use);
    cr_assert_geq(st.committed, st.in_use);
    cr_assert_geq(st.reserved, st.committed);
    cr_assert_geq(st.peak_committed, st.committed);
    cr_assert_eq(st.class_size[0], 16);
    size_t per_class = 0;
    for (int c = 0; c < RSV_HEAP_STAT_CLASSES; c++) per_class += st.class_blocks[c];
    cr_assert_eq(per_class + st.large_blocks, st.blocks);
    int calls = 0;
    cr_assert_eq(rsv_heap_walk(h, walk_stop_cb, &calls), 42, "walk stops on non-zero");
    cr_assert_eq(calls, 3);
    for (size_t i = 0; i < n; i++) rsv_heap_free(h, live[i]);
    assert_valid(h);
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.blocks, 0);
    rsv_heap_destroy(h);
}

Test(heap, validate_finds_corruption, .timeout = 10)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    uintptr_t *a = rsv_heap_alloc(h, 48);
    uintptr_t *b = rsv_heap_alloc(h, 48);
    rsv_heap_free(h, b);
    /* Use after free: scribble over the freed block's link. */
    b[0] = (uintptr_t)0x1234560;
    char msg[128];
    cr_assert_neq(rsv_heap_validate(h, NULL, msg, sizeof msg), 0);
    cr_assert_neq(msg[0], '\0');
    cr_assert_neq(rsv_heap_validate(h, NULL, NULL, 0), 0, "works without a buffer");
    char tiny[4];
    cr_assert_neq(rsv_heap_validate(h, NULL, tiny, sizeof tiny), 0);
    cr_assert_eq(strlen(tiny), 3);
    (void)a;
    rsv_heap_destroy(h);   /* destroy does not walk the corrupt list */
}

/* ---- flavours of heap ------------------------------------------------------------------- */

Test(heap, capped_heap_stops_at_max_size, .timeout = 30)
{
    err_setup();
    rsv_heap_opts_t o = {0};
    o.max_size = 2 * MIB;
    rsv_heap_t *h = rsv_heap_create(&o);
    cr_assert_not_null(h);
    static void *ptrs[100000];
    size_t n = 0, total = 0;
    rng_state = 99;
    for (;;) {
        size_t s = 1 + rand_size(100000);
        void *p = rsv_heap_alloc(h, s);
        if (!p) break;
        total += rsv_heap_usable_size(h, p);
        ptrs[n++] = p;
        cr_assert_lt(n, 100000);
    }
    cr_assert_eq(err_code, ENOMEM);
    cr_assert_leq(total, 2 * MIB);
    cr_assert_gt(total, MIB, "most of the cap is usable");
    cr_assert_null(rsv_heap_alloc(h, 3 * MIB));
    assert_valid(h);
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    cr_assert_leq(st.reserved, 4 * MIB + 19 * 4 * MIB);
    for (size_t i = 0; i < n; i++) rsv_heap_free(h, ptrs[i]);
    void *p = rsv_heap_alloc(h, MIB);
    cr_assert_not_null(p, "room again after frees");
    rsv_heap_free(h, p);
    assert_valid(h);
    rsv_heap_destroy(h);
}

Test(heap, zero_heap_zeroes_reused_blocks, .timeout = 10)
{
    rsv_heap_opts_t o = {0};
    o.flags = RSV_HEAP_ZERO;
    rsv_heap_t *h = rsv_heap_create(&o);
    for (size_t s = 8; s < 3 * MIB; s *= 3) {
        unsigned char *p = rsv_heap_alloc(h, s);
        memset(p, 0xEE, s);
        rsv_heap_free(h, p);
        p = rsv_heap_alloc(h, s);
        for (size_t i = 0; i < s; i++)
            if (p[i]) cr_assert_fail("byte %zu of size %zu not zero", i, s);
        memset(p, 0xEE, s);
        unsigned char *q = rsv_heap_realloc(h, p, s * 2 + 1000);
        for (size_t i = s; i < s * 2 + 1000; i++)
            if (q[i]) cr_assert_fail("grown byte %zu not zero", i);
        rsv_heap_free(h, q);
    }
    rsv_heap_t *plain = rsv_heap_create(NULL);
    unsigned char *z = rsv_heap_alloc_ex(plain, 100, 0, RSV_HEAP_ZERO);
    memset(z, 1, 100);
    rsv_heap_free(plain, z);
    z = rsv_heap_alloc_ex(plain, 100, 64, RSV_HEAP_ZERO);
    cr_assert_eq((uintptr_t)z % 64, 0);
    for (int i = 0; i < 100; i++) cr_assert_eq(z[i], 0);
    rsv_heap_free(plain, z);
    rsv_heap_destroy(plain);
    rsv_heap_destroy(h);
}

Test(heap, executable_heap, .timeout = 10)
{
    rsv_heap_opts_t o = {0};
    o.flags = RSV_HEAP_EXECUTABLE;
    rsv_heap_t *h = rsv_heap_create(&o);
    cr_assert_not_null(h);
    void *p = rsv_heap_alloc(h, 256);
    rsv_vm_info_t info;
    cr_assert_eq(rsv_vm_query(p, &info), 0);
    cr_assert_eq(info.state, RSV_VM_COMMITTED);
    cr_assert(info.prot & RSV_PROT_EXEC, "prot %u", info.prot);
    rsv_heap_t *plain = rsv_heap_create(NULL);
    void *q = rsv_heap_alloc(plain, 256);
    cr_assert_eq(rsv_vm_query(q, &info), 0);
    cr_assert_not(info.prot & RSV_PROT_EXEC);
    rsv_heap_destroy(plain);
    rsv_heap_destroy(h);
}

Test(heap, no_serialize_and_lock, .timeout = 10)
{
    err_setup();
    rsv_heap_opts_t o = {0};
    o.flags = RSV_HEAP_NO_SERIALIZE;
    rsv_heap_t *h = rsv_heap_create(&o);
    rsv_heap_lock(h);   /* no effect */
    void *p = rsv_heap_alloc(h, 10);
    rsv_heap_unlock(h);
    rsv_heap_free(h, p);
    assert_valid(h);
    rsv_heap_destroy(h);

    rsv_heap_t *s = rsv_heap_create(NULL);
    rsv_heap_lock(s);
    rsv_heap_lock(s);   /* recursive */
    p = rsv_heap_alloc(s, 10);
    cr_assert_not_null(p);
    rsv_heap_free(s, p);
    assert_valid(s);
    rsv_heap_unlock(s);
    rsv_heap_unlock(s);
    cr_assert_eq(err_count, 0);
    rsv_heap_unlock(s);
    cr_assert_eq(err_code, EPERM, "unlock without holding is reported");
    p = rsv_heap_alloc_ex(s, 10, 0, RSV_HEAP_NO_SERIALIZE);
    cr_assert_not_null(p);
    rsv_heap_free(s, p);
    rsv_heap_destroy(s);
}

typedef struct lock_arg {
    rsv_heap_t *h;
    volatile int done;
} lock_arg_t;

static void *lock_other(void *arg)
{
    lock_arg_t *a = arg;
    void *p = rsv_heap_alloc(a->h, 10);   /* blocks while main holds the lock */
    a->done = 1;
    rsv_heap_free(a->h, p);
    return NULL;
}

Test(heap, lock_blocks_other_threads, .timeout = 10)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    lock_arg_t a = {h, 0};
    rsv_heap_lock(h);
    pthread_t t;
    pthread_create(&t, NULL, lock_other, &a);
    usleep(50000);
    cr_assert_eq(a.done, 0, "other thread waits for the lock");
    rsv_heap_unlock(h);
    pthread_join(t, NULL);
    cr_assert_eq(a.done, 1);
    assert_valid(h);
    rsv_heap_destroy(h);
}

/* ---- destroy / memory return ------------------------------------------------------------- */

Test(heap, destroy_with_live_blocks_releases_everything, .timeout = 30)
{
    warm_up();
    size_t before = rsvi_vm_reservations();
    long maps_before = maps_lines();
    for (int round = 0; round < 20; round++) {
        rsv_heap_t *h = rsv_heap_create(NULL);
        for (int i = 0; i < 2000; i++) cr_assert_not_null(rsv_heap_alloc(h, (size_t)(i * 37) % 70000));
        cr_assert_not_null(rsv_heap_alloc(h, 5 * MIB));
        rsv_heap_destroy(h);
    }
    cr_assert_eq(rsvi_vm_reservations(), before);
    cr_assert_leq(maps_lines(), maps_before + 2);
}

Test(heap, huge_blocks_are_reused_while_cached, .timeout = 10)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    char *p = rsv_heap_alloc(h, 40 * MIB);
    memset(p, 1, 40 * MIB);
    rsv_heap_free(h, p);
    char *q = rsv_heap_alloc(h, 40 * MIB);
    cr_assert_eq(q, p, "the freed span is reused (still committed)");
    rsv_heap_free(h, q);
    rsv_heap_destroy(h);
}

Test(heap, trim_returns_memory_rss_falls, .timeout = 60)
{
    rsv_heap_t *h = rsv_heap_default();
    size_t n = 3000;
    void **v = calloc(n, sizeof *v);
    size_t before = test_rss_bytes();
    for (size_t i = 0; i < n; i++) {
        v[i] = rsv_heap_alloc(h, 64 * KIB + (i % 7) * 1000);
        memset(v[i], 1, 64 * KIB);
    }
    for (size_t i = 0; i < 40; i++) {
        char *big = rsv_heap_alloc(h, 3 * MIB);
        memset(big, 2, 3 * MIB);
        rsv_heap_free(h, big);
    }
    size_t high = test_rss_bytes();
    cr_assert_gt(high, before + 150 * MIB, "touched about 200 MiB");
    for (size_t i = 0; i < n; i++) rsv_heap_free(h, v[i]);
    size_t released = rsv_heap_trim(h);
    size_t after = test_rss_bytes();
    cr_assert_gt(released, 150 * MIB);
    cr_assert_lt(after, high - 150 * MIB, "RSS %zu -> %zu", high, after);
    assert_valid(h);
    /* Still usable after the trim. */
    void *p = rsv_heap_alloc(h, 70 * KIB);
    memset(p, 3, 70 * KIB);
    rsv_heap_free(h, p);
    free(v);
}

Test(heap, mapping_count_bounded_after_a_million_ops, .timeout = 120)
{
    rsv_heap_t *h = rsv_heap_default();
    enum { SLOTS = 2048 };
    static void *slot[SLOTS];
    long before = maps_lines();
    long ops = RSV_TEST_SLOW ? 100000 : 1000000;
    rng_state = 0xfeedbeef;
    for (long i = 0; i < ops; i++) {
        size_t k = rng() % SLOTS;
        if (slot[k]) {
            rsv_heap_free(h, slot[k]);
            slot[k] = NULL;
        } else {
            size_t s = rand_size(rng() % 64 == 0 ? 8 * MIB : 64 * KIB);
            slot[k] = rsv_heap_alloc(h, s);
            cr_assert_not_null(slot[k]);
            if (s) ((char *)slot[k])[0] = 1;
        }
        if (i % 100000 == 0) rsv_heap_trim(h);
    }
    long after = maps_lines();
    cr_assert_leq(after, 300, "maps %ld (before %ld)", after, before);
    cr_assert_leq(after - before, 16, "heap added %ld mappings", after - before);
    assert_valid(h);
    for (size_t k = 0; k < SLOTS; k++) rsv_heap_free(h, slot[k]);
}

/* ---- threads and fork ------------------------------------------------------------------------ */

static void *thread_leaves_blocks(void *arg)
{
    void **v = arg;
    for (int i = 0; i < 5000; i++) v[i] = rsv_heap_alloc(rsv_heap_default(), 16 + (size_t)(i % 300));
    for (int i = 0; i < 5000; i += 2) {
        rsv_heap_free(rsv_heap_default(), v[i]);
        v[i] = NULL;
    }
    return NULL;
}

Test(heap, thread_exit_hands_pages_back, .timeout = 30)
{
    rsv_heap_t *h = rsv_heap_default();
    rsv_heap_trim(h);
    rsv_heap_stats_t st0, st;
    rsv_heap_stats(h, &st0);
    static void *v[5000];
    pthread_t t;
    pthread_create(&t, NULL, thread_leaves_blocks, v);
    pthread_join(t, NULL);
    assert_valid(h);
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.blocks, st0.blocks + 2500);
    for (int i = 1; i < 5000; i += 2) rsv_heap_free(h, v[i]);   /* into abandoned pages */
    assert_valid(h);
    rsv_heap_trim(h);
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.blocks, st0.blocks);
    cr_assert_leq(st.committed, st0.committed + 4 * MIB);
    assert_valid(h);
}

/* ---- the empty page a class keeps ------------------------------------------------ */

/* Resident 4 KiB pages of h's regions (mincore over each reservation). */
typedef struct regions {
    char *base[16];
    size_t size[16];
    int n;
} regions_t;
static int collect_region(void *user, const rsv_heap_walk_entry_t *e)
{
    regions_t *r = user;
    if (e->kind == RSV_WALK_REGION && r->n < 16) {
        r->base[r->n] = e->addr;
        r->size[r->n++] = e->size;
    }
    return 0;
}
static size_t resident_pages(rsv_heap_t *h)
{
    regions_t r = {{0}, {0}, 0};
    cr_assert_eq(rsv_heap_walk(h, collect_region, &r), 0);
    size_t n = 0;
    for (int i = 0; i < r.n; i++) {
        size_t pages = r.size[i] / 4096;
        unsigned char *vec = malloc(pages);
        cr_assert_not_null(vec);
        cr_assert_eq(mincore(r.base[i], pages * 4096, vec), 0);
        for (size_t k = 0; k < pages; k++) n += vec[k] & 1;
        free(vec);
    }
    return n;
}

/* 600 blocks of 256 B: two 64 KiB pages carved to their end and a third
 * carved to a quarter (the 4 KiB pages after that untouched); freed in the
 * order allocated, which empties the third page last. */
enum { ROUND_N = 600, ROUND_SIZE = 256 };
static void round_in_order(rsv_heap_t *h)
{
    static void *v[ROUND_N];
    for (int i = 0; i < ROUND_N; i++) {
        v[i] = rsv_heap_alloc(h, ROUND_SIZE);
        cr_assert_not_null(v[i]);
        *(char *)v[i] = 1;   /* touch the first word, as a program would */
    }
    for (int i = 0; i < ROUND_N; i++) rsv_heap_free(h, v[i]);
}

Test(heap, second_round_touches_no_new_memory, .timeout = 10)
{
    warm_up();
    rsv_heap_t *h = rsv_heap_create(NULL);
    cr_assert_not_null(h);
    round_in_order(h);
    assert_valid(h);
    size_t first = resident_pages(h);
    /* The class kept a page carved to its end, not the partly carved one
     * that emptied last (refilling that one would touch its other 4 KiB
     * pages), and takes its other pages back from the segment. */
    round_in_order(h);
    assert_valid(h);
    size_t second = resident_pages(h);
    cr_assert_leq(second, first, "second round: %zu resident pages, first %zu", second, first);
    /* Trim hands the kept empty page back with the rest: the segment is
     * released and purged, nothing of it stays resident. */
    rsv_heap_trim(h);
    assert_valid(h);
    cr_assert_eq(resident_pages(h), 0);
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.blocks, 0);
    rsv_heap_destroy(h);
}

/* The carve step of a page: the blocks carved (capacity) of p's page. */
static unsigned carved_of(void *p)
{
    rsvh_segment_t *seg = rsvh_seg_of(p);
    return atomic_load_explicit(&rsvh_page_at(seg, p)->capacity, memory_order_relaxed);
}

/* 2 KiB blocks (pages start on 8 KiB, so two per 4 KiB page).  A fresh
 * page carves the blocks of one 4 KiB page at a time; a page carved before
 * (kept and rewound, or handed back to its live segment and claimed again
 * for the class without its list) carves up to 16 of its resident blocks
 * at once; a page of a segment that was released (and purged) starts
 * over.  Round one frees the even blocks, then the odd ones: no page's
 * list is in address order, so none is kept (see the next test). */
Test(heap, carved_pages_refill_in_bigger_steps, .timeout = 10)
{
    enum { N = 100, SZ = 2048 };
    static void *v[N];
    rsv_heap_t *h = rsv_heap_create(NULL);
    cr_assert_not_null(h);
    for (int i = 0; i < N; i++) {
        v[i] = rsv_heap_alloc(h, SZ);
        cr_assert_not_null(v[i]);
        *(char *)v[i] = 1;
        if (i == 0) cr_assert_eq(carved_of(v[0]), 2, "a fresh page carves one 4 KiB page");
    }
    for (int i = 0; i < N; i += 2) rsv_heap_free(h, v[i]);
    for (int i = 1; i < N; i += 2) rsv_heap_free(h, v[i]);
    size_t first = resident_pages(h);
    unsigned pages = 0;
    for (int i = 0; i < N; i++) {
        v[i] = rsv_heap_alloc(h, SZ);
        cr_assert_not_null(v[i]);
        *(char *)v[i] = 1;
        rsvh_segment_t *seg = rsvh_seg_of(v[i]);
        /* The kept page was rewound (page_rewind); the others come back
         * from the segment. */
        if (i > 0 && rsvh_page_at(seg, v[i]) != rsvh_page_of(v[i - 1])) {
            /* Round one carved N - i blocks (an even count) of the last page. */
            unsigned want = N - i < 16 ? (unsigned)(N - i) : 16;
            cr_assert_eq(carved_of(v[i]), want, "block %d: a page carved before refills %u blocks", i, want);
            pages++;
        }
    }
    cr_assert_geq(pages, 2);
    assert_valid(h);
    cr_assert_leq(resident_pages(h), first, "the bigger steps touch no new memory");
    for (int i = 0; i < N; i++) rsv_heap_free(h, v[i]);
    rsv_heap_trim(h);
    cr_assert_eq(resident_pages(h), 0);
    v[0] = rsv_heap_alloc(h, SZ);
    cr_assert_not_null(v[0]);
    cr_assert_eq(carved_of(v[0]), 2, "a page of a released segment starts over");
    rsv_heap_free(h, v[0]);
    assert_valid(h);
    rsv_heap_destroy(h);
}

/* Two rounds of ORD_N blocks of ORD_SZ bytes on h (two segments' worth),
 * the first freed in address order (lifo: last allocated first) or
 * against it.  A page of blocks up to 64 B that empties with its list in
 * (or against) address order keeps that list when it goes back to its
 * live segment, or with
 * its segment when that goes back whole, and comes back carved as far as
 * before when its class claims it again: no second carve, each page's
 * blocks handed out in address order.  FIFO hands the second segment back
 * whole and keeps a page of the first.  LIFO keeps the partly carved last
 * page (the class's only page when it emptied) and the furthest carved
 * one of the others, and as those come first, the second round carves on
 * into new memory (so the resident check is FIFO's only). */
enum { ORD_SZ = 64, ORD_N = 66000, ORD_PAGES = 130 };   /* 64,896 blocks fill one segment */
static void ordered_round(rsv_heap_t *h, int lifo)
{
    static void *v[ORD_N];
    static rsvh_page_t *pg_of[ORD_PAGES];
    static unsigned count[ORD_PAGES];
    for (int i = 0; i < ORD_N; i++) {
        v[i] = rsv_heap_alloc(h, ORD_SZ);
        cr_assert_not_null(v[i]);
        *(char *)v[i] = 1;
    }
    /* Blocks carved per page in round one (896 on page 0, 1,024 on most
     * others, the last page to its 4 KiB step). */
    int np = 0;
    for (int i = 0; i < ORD_N; i++) {
        rsvh_page_t *pg = rsvh_page_of(v[i]);
        if (np == 0 || pg_of[np - 1] != pg) {
            cr_assert_lt(np, ORD_PAGES);
            pg_of[np] = pg;
            count[np++] = carved_of(v[i]);
        }
    }
    rsvh_segment_t *one = rsvh_seg_of(v[0]), *two = rsvh_seg_of(v[ORD_N - 1]);
    cr_assert_neq(one, two, "round one spans two segments");
    if (lifo)
        for (int i = ORD_N; i-- > 0;) rsv_heap_free(h, v[i]);
    else
        for (int i = 0; i < ORD_N; i++) rsv_heap_free(h, v[i]);
    assert_valid(h);
    if (!lifo) cr_assert(!rsvh_segmap_has(two), "the second segment went back whole");
    size_t first = resident_pages(h);
    int seen = 0, seen_whole = 0;
    for (int i = 0; i < ORD_N; i++) {
        v[i] = rsv_heap_alloc(h, ORD_SZ);
        cr_assert_not_null(v[i]);
        *(char *)v[i] = 1;
        rsvh_page_t *pg = rsvh_page_of(v[i]);
        if (i == 0 || pg != rsvh_page_of(v[i - 1])) {
            int k = 0;
            while (k < np && pg_of[k] != pg) k++;
            cr_assert(k < np || lifo, "block %d: a page round one did not use", i);
            if (k == np) continue;
            cr_assert_eq(carved_of(v[i]), count[k], "block %d: page carved to %u, round one carved %u", i,
                         carved_of(v[i]), count[k]);
            seen++;
            if (!lifo && rsvh_seg_of(v[i]) == two) seen_whole++;
        } else if (carved_of(v[i]) == carved_of(v[i - 1])) {   /* not carving on */
            intptr_t d = (char *)v[i] - (char *)v[i - 1];
            cr_assert_eq(d, lifo ? ORD_SZ : -ORD_SZ, "block %d: %td bytes after the one before", i, d);
        }
    }
    if (!lifo) {
        cr_assert_geq(seen_whole, 1, "pages of the segment that went back whole came back carved");
        cr_assert_geq(seen, np - 1, "round two took back the pages of round one");
    } else {
        cr_assert_geq(seen, np / 2, "round two took back the pages of round one");
    }
    cr_assert(rsvh_segmap_has(one) && rsvh_segmap_has(two));
    assert_valid(h);
    if (!lifo) cr_assert_leq(resident_pages(h), first, "the kept lists touch no new memory");
    for (int i = 0; i < ORD_N; i++) rsv_heap_free(h, v[i]);
    assert_valid(h);
}

Test(heap, pages_freed_in_order_come_back_carved, .timeout = 20)
{
    for (int lifo = 0; lifo <= 1; lifo++) {
        rsv_heap_t *h = rsv_heap_create(NULL);
        cr_assert_not_null(h);
        ordered_round(h, lifo);
        /* A segment purged (trim) starts over. */
        rsv_heap_trim(h);
        cr_assert_eq(resident_pages(h), 0);
        void *p = rsv_heap_alloc(h, ORD_SZ);
        cr_assert_not_null(p);
        cr_assert_eq(carved_of(p), 4096 / ORD_SZ, "a page of a purged segment starts over");
        rsv_heap_free(h, p);
        assert_valid(h);
        rsv_heap_destroy(h);
    }
}

/* A segment handed back whole keeps its header (pages' kept lists) only
 * while nothing else writes its memory: a huge block that takes it as a
 * later segment of its span (allocated over it, or grown into it in
 * place) drops that, even when the program's data leaves the header's
 * first words as they were. */
static void kept_header_under_huge(int grow)
{
    static void *v[ORD_N];
    rsv_heap_t *h = rsv_heap_create(NULL);
    cr_assert_not_null(h);
    h->purge_delay_ns = UINT64_MAX / 2;   /* only trim purges */
    for (int i = 0; i < ORD_N; i++) {
        v[i] = rsv_heap_alloc(h, ORD_SZ);
        cr_assert_not_null(v[i]);
        *(char *)v[i] = 1;
    }
    rsvh_segment_t *one = rsvh_seg_of(v[0]), *two = rsvh_seg_of(v[ORD_N - 1]);
    cr_assert_eq((char *)two, (char *)one + RSVH_SEG_SIZE);
    int split = 0;
    while (rsvh_seg_of(v[split]) == one) split++;
    /* The first segment back whole and purged (reads zero), then the
     * second back whole with its lists kept. */
    for (int i = 0; i < split; i++) rsv_heap_free(h, v[i]);
    rsv_heap_trim(h);
    cr_assert(!rsvh_segmap_has(one));
    for (int i = split; i < ORD_N; i++) rsv_heap_free(h, v[i]);
    rsvh_tld_collect(&h->tld, 1);   /* retire the kept page too, no purge */
    cr_assert(!rsvh_segmap_has(two));
    /* A huge block over both: the program writes over the second segment's
     * pages (the kept lists' links) but not its header. */
    size_t big = 2 * RSVH_SEG_SIZE - RSVH_HDR;
    char *p = rsv_heap_alloc(h, grow ? RSVH_SEG_SIZE - RSVH_HDR : big);
    cr_assert_eq((void *)rsvh_seg_of(p), (void *)one, "the span starts at the first segment");
    if (grow) cr_assert_eq(rsv_heap_expand(h, p, big), p, "grown in place over the second segment");
    memset((char *)two + RSVH_HDR, 0xA5, (size_t)(p + big - ((char *)two + RSVH_HDR)));
    rsv_heap_free(h, p);
    /* Both segments again: the second one carves afresh. */
    for (int i = 0; i < ORD_N; i++) {
        v[i] = rsv_heap_alloc(h, ORD_SZ);
        cr_assert_not_null(v[i]);
        cr_assert(rsvh_seg_of(v[i]) == one || rsvh_seg_of(v[i]) == two);
        *(char *)v[i] = 1;
    }
    assert_valid(h);
    for (int i = 0; i < ORD_N; i++) rsv_heap_free(h, v[i]);
    assert_valid(h);
    rsv_heap_destroy(h);
}

Test(heap, kept_segment_header_dropped_under_a_huge_span, .timeout = 20)
{
    kept_header_under_huge(0);
    kept_header_under_huge(1);
}

static void *thread_rounds(void *arg)
{
    (void)arg;
    round_in_order(rsv_heap_default());
    round_in_order(rsv_heap_default());
    return NULL;
}

Test(heap, thread_exit_returns_the_kept_page, .timeout = 30)
{
    rsv_heap_t *h = rsv_heap_default();
    rsv_heap_trim(h);
    size_t base = resident_pages(h);
    /* Each thread ends with an empty page kept for the class (and the
     * class's only page); its exit hands both back, the second thread
     * starting from the first's pooled state. */
    for (int k = 0; k < 2; k++) {
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, thread_rounds, NULL), 0);
        pthread_join(t, NULL);
        assert_valid(h);
    }
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.blocks, 0);
    rsv_heap_trim(h);
    cr_assert_leq(resident_pages(h), base, "the exited threads' pages went back and were purged");
    assert_valid(h);
}

Test(heap, fork_child_keeps_working, .timeout = 30)
{
    rsv_heap_t *h = rsv_heap_default();
    void *p = rsv_heap_alloc(h, 100);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int ok = 1;
        for (int i = 0; i < 10000; i++) {
            void *q = rsv_heap_alloc(h, (size_t)i % 5000);
            if (!q) ok = 0;
            rsv_heap_free(h, q);
        }
        rsv_heap_free(h, p);
        ok &= rsv_heap_validate(h, NULL, NULL, 0) == 0;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rsv_heap_free(h, p);
    assert_valid(h);
}

/* ---- fault injection ----------------------------------------------------------------------------- */

/* Allocates a mix of sizes until failure or `count`; returns how many. */
static size_t fill_until_failure(rsv_heap_t *h, void **v, size_t count)
{
    size_t n = 0;
    for (; n < count; n++) {
        size_t s = n % 5 == 4 ? 2 * MIB + n * 1000 : (n * 7919) % 100000;
        v[n] = rsv_heap_alloc(h, s);
        if (!v[n]) break;
        memset(v[n], 0x5A, s < 256 ? s : 256);
    }
    return n;
}

Test(heap, fault_injection_explicit_heap, .timeout = 120)
{
    err_setup();
    static void *v[200];
    warm_up();
    size_t base = rsvi_vm_reservations();
    static const int kinds[] = {RSVI_FAULT_RESERVE, RSVI_FAULT_COMMIT, RSVI_FAULT_DECOMMIT};
    for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
        int kind = kinds[ki];
        for (int persistent = 0; persistent <= 1; persistent++) {
            for (unsigned n = 1; n <= 12; n++) {
                rsvi_fault_set((enum rsvi_fault_kind)kind, n, persistent);
                rsv_heap_t *h = rsv_heap_create(NULL);
                if (!h) {
                    rsvi_fault_clear();
                    cr_assert_eq(rsvi_vm_reservations(), base, "failed create leaks nothing");
                    continue;
                }
                size_t got = fill_until_failure(h, v, 200);
                char msg[160] = "";
                cr_assert_eq(rsv_heap_validate(h, NULL, msg, sizeof msg), 0,
                             "kind %d n %u persistent %d: %s", kind, n, persistent, msg);
                for (size_t i = 0; i < got; i++) rsv_heap_free(h, v[i]);
                rsv_heap_trim(h);   /* purges: more (de)commit calls that may fail */
                /* A span whose purge failed still holds data: calloc zeroes it. */
                unsigned char *z = rsv_heap_calloc(h, 1, 3 * MIB);
                if (z) {
                    for (size_t i = 0; i < 3 * MIB; i += 4096)
                        if (z[i]) cr_assert_fail("kind %d n %u: calloc byte %zu not zero", kind, n, i);
                    rsv_heap_free(h, z);
                }
                cr_assert_eq(rsv_heap_validate(h, NULL, msg, sizeof msg), 0, "%s", msg);
                rsvi_fault_clear();
                /* Usable again once the OS cooperates. */
                size_t again = fill_until_failure(h, v, 50);
                cr_assert_eq(again, 50, "kind %d n %u", kind, n);
                cr_assert_eq(rsv_heap_validate(h, NULL, msg, sizeof msg), 0, "%s", msg);
                rsv_heap_stats_t st;
                rsv_heap_stats(h, &st);
                cr_assert_eq(st.blocks, 50);
                rsv_heap_destroy(h);
                cr_assert_eq(rsvi_vm_reservations(), base, "nothing leaks");
            }
        }
    }
}

Test(heap, fault_injection_default_heap, .timeout = 60)
{
    err_setup();
    rsv_heap_t *h = rsv_heap_default();
    static void *v[200];
    static const int kinds[] = {RSVI_FAULT_RESERVE, RSVI_FAULT_COMMIT, RSVI_FAULT_DECOMMIT};
    for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
        int kind = kinds[ki];
        for (unsigned n = 1; n <= 8; n++) {
            rsv_heap_trim(h);
            rsvi_fault_set((enum rsvi_fault_kind)kind, n, 1);
            size_t got = fill_until_failure(h, v, 200);
            rsvi_fault_clear();
            assert_valid(h);
            for (size_t i = 0; i < got; i++) rsv_heap_free(h, v[i]);
            assert_valid(h);
            cr_assert_eq(fill_until_failure(h, v, 100), 100);
            for (size_t i = 0; i < 100; i++) rsv_heap_free(h, v[i]);
        }
    }
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.blocks, 0);
}

/* ---- seeded random stress against a model ------------------------------------------------------------- */

Test(heap, random_stress_against_model, .timeout = 120)
{
    rsv_heap_t *hs[2] = {rsv_heap_create(NULL), rsv_heap_default()};
    enum { SLOTS = 1000 };
    static unsigned char *ptr[SLOTS];
    static size_t len[SLOTS];
    static unsigned tag[SLOTS];
    long ops = RSV_TEST_SLOW ? 30000 : 300000;
    for (int k = 0; k < 2; k++) {
        rsv_heap_t *h = hs[k];
        rng_state = 0x12345678u + (uint64_t)k;
        for (long i = 0; i < ops; i++) {
            size_t s = rng() % SLOTS;
            unsigned op = (unsigned)(rng() % 10);
            if (ptr[s] && !filled(ptr[s], len[s] < 512 ? len[s] : 512, tag[s]))
                cr_assert_fail("slot %zu corrupted at op %ld", s, i);
            if (!ptr[s] || op < 3) {
                if (ptr[s]) rsv_heap_free(h, ptr[s]);
                size_t n = rand_size(rng() % 100 == 0 ? 4 * MIB : 40000);
                size_t align = op == 0 ? (size_t)1 << (rng() % 16) : 0;
                ptr[s] = align ? rsv_heap_alloc_aligned(h, n, align)
                               : op == 1 ? rsv_heap_calloc(h, 1, n) : rsv_heap_alloc(h, n);
                cr_assert_not_null(ptr[s]);
                if (align) cr_assert_eq((uintptr_t)ptr[s] % align, 0);
                len[s] = n;
            } else if (op < 6) {
                size_t n = rand_size(rng() % 100 == 0 ? 4 * MIB : 40000);
                unsigned char *q = rsv_heap_realloc(h, ptr[s], n);
                cr_assert_not_null(q);
                size_t keep = len[s] < n ? len[s] : n;
                if (!filled(q, keep < 512 ? keep : 512, tag[s])) cr_assert_fail("realloc lost contents");
                ptr[s] = q;
                len[s] = n;
            } else if (op < 8) {
                rsv_heap_free(h, ptr[s]);
                ptr[s] = NULL;
                continue;
            } else {
                cr_assert_geq(rsv_heap_usable_size(h, ptr[s]), len[s]);
                continue;
            }
            tag[s] = (unsigned)rng();
            fill(ptr[s], len[s] < 512 ? len[s] : 512, tag[s]);
            if (i % 50000 == 0) assert_valid(h);
        }
        assert_valid(h);
        for (size_t s = 0; s < SLOTS; s++) {
            rsv_heap_free(h, ptr[s]);
            ptr[s] = NULL;
        }
        assert_valid(h);
    }
    rsv_heap_destroy(hs[0]);
}

/* ==== explicit-heap fast paths (heap.c: heap_alloc_fast / heap_free_fast) ====================
 * rsv_heap_alloc and rsv_heap_free on an explicit heap take a short path for
 * blocks up to 1 KiB (direct table pop, page push, in_use from the page's
 * block size).  These tests pin what it must keep from the general path:
 * exact stats, the cap counted in class sizes, recursion with HeapLock, and
 * the pointer checks. */

/* Allocates and frees a mix of fast-path and general-path sizes on h and
 * checks stats and validate against a count of what is live. */
static void fast_path_stats_round(rsv_heap_t *h)
{
    enum { N = 3000 };
    static void *v[N];
    size_t bytes = 0, peak = 0;
    rng_state = 0xfa57u;
    for (size_t i = 0; i < N; i++) {
        size_t s = i % 10 == 9 ? rand_size(200000) : rand_size(1024);
        v[i] = rsv_heap_alloc(h, s);
        cr_assert_not_null(v[i]);
        memset(v[i], 0x5A, s);
        bytes += rsv_heap_usable_size(h, v[i]);
        if (bytes > peak) peak = bytes;
    }
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.in_use, bytes);
    cr_assert_eq(st.blocks, (size_t)N);
    cr_assert_eq(st.peak_in_use, peak);
    assert_valid(h);
    for (size_t i = 0; i < N; i += 2) {
        bytes -= rsv_heap_usable_size(h, v[i]);
        rsv_heap_free(h, v[i]);
    }
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.in_use, bytes);
    cr_assert_eq(st.blocks, (size_t)N / 2);
    cr_assert_eq(st.peak_in_use, peak, "peak kept after frees");
    assert_valid(h);
    for (size_t i = 1; i < N; i += 2) rsv_heap_free(h, v[i]);
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.in_use, 0);
    cr_assert_eq(st.blocks, 0);
    assert_valid(h);
}

Test(heap, fast_path_keeps_stats_exact, .timeout = 30)
{
    rsv_heap_t *s = rsv_heap_create(NULL);
    fast_path_stats_round(s);
    rsv_heap_destroy(s);
    rsv_heap_opts_t o = {0};
    o.flags = RSV_HEAP_NO_SERIALIZE;
    rsv_heap_t *n = rsv_heap_create(&o);
    fast_path_stats_round(n);
    rsv_heap_destroy(n);
}

Test(heap, fast_path_cap_counts_class_sizes, .timeout = 30)
{
    err_setup();
    rsv_heap_opts_t o = {0};
    o.max_size = 64 * KIB;
    rsv_heap_t *h = rsv_heap_create(&o);
    static void *v[8192];
    size_t n = 0;
    /* 1-byte requests live in the 16-byte class: exactly cap / 16 fit. */
    while (n < 8192 && (v[n] = rsv_heap_alloc(h, 1)) != NULL) n++;
    cr_assert_eq(n, 64 * KIB / 16, "%zu blocks", n);
    cr_assert_eq(err_code, ENOMEM);
    /* A 100-byte request (112-byte class) no longer fits either. */
    rsv_heap_free(h, v[--n]);
    cr_assert_null(rsv_heap_alloc(h, 100));
    v[n] = rsv_heap_alloc(h, 16);
    cr_assert_not_null(v[n], "a freed block's room is usable again");
    n++;
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.in_use, 64 * KIB);
    assert_valid(h);
    for (size_t i = 0; i < n; i++) rsv_heap_free(h, v[i]);
    assert_valid(h);
    rsv_heap_destroy(h);
}

static void *fast_path_other_thread(void *arg)
{
    rsv_heap_t *h = arg;
    void *p = rsv_heap_alloc(h, 48);   /* waits until the main thread's HeapLock depth is 0 */
    rsv_heap_free(h, p);
    return p;
}

Test(heap, fast_path_under_heap_lock_recursion, .timeout = 20)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    static void *v[1000];
    rsv_heap_lock(h);
    rsv_heap_lock(h);
    for (int i = 0; i < 1000; i++) cr_assert_not_null(v[i] = rsv_heap_alloc(h, (size_t)(i % 64) * 16));
    for (int i = 0; i < 1000; i++) rsv_heap_free(h, v[i]);
    rsv_heap_unlock(h);
    cr_assert(rsv_heap_alloc(h, 8) != NULL, "still held once");
    rsv_heap_unlock(h);
    /* Fully released: another thread gets the lock (a depth left behind by
     * the fast paths would hang it until the timeout). */
    pthread_t t;
    void *got = NULL;
    cr_assert_eq(pthread_create(&t, NULL, fast_path_other_thread, h), 0);
    pthread_join(t, &got);
    cr_assert_not_null(got);
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.blocks, 1, "the 8-byte block");
    assert_valid(h);
    rsv_heap_destroy(h);
}

Test(heap, fast_path_refuses_blocks_it_does_not_own, .timeout = 10)
{
    err_setup();
    rsv_heap_t *a = rsv_heap_create(NULL), *b = rsv_heap_create(NULL);
    rsv_heap_opts_t o = {0};
    o.flags = RSV_HEAP_NO_SERIALIZE;
    rsv_heap_t *c = rsv_heap_create(&o);
    void *pa = rsv_heap_alloc(a, 64);
    void *pd = rsv_heap_alloc(rsv_heap_default(), 64);
    void *pc = rsv_heap_alloc(c, 64);
    rsv_heap_free(b, pa);
    rsv_heap_free(b, pd);
    rsv_heap_free(c, pa);
    rsv_heap_free(a, pc);
    cr_assert_eq(err_count, 4);
    /* Double and interior frees through the fast path's checks. */
    rsv_heap_free(a, pa);
    rsv_heap_free(a, pa);
    rsv_heap_free(c, (char *)pc + 16);
    rsv_heap_free(c, (char *)pc + 8);   /* inside the 16 bytes pc's live bit covers */
    cr_assert_eq(err_count, 7);
    rsv_heap_stats_t st;
    rsv_heap_stats(a, &st);
    cr_assert_eq(st.blocks, 0);
    rsv_heap_stats(b, &st);
    cr_assert_eq(st.blocks, 0);
    rsv_heap_stats(c, &st);
    cr_assert_eq(st.blocks, 1);
    cr_assert_eq(rsv_heap_of(pd), rsv_heap_default());
    assert_valid(a);
    assert_valid(b);
    assert_valid(c);
    rsv_heap_free(c, pc);
    rsv_heap_free(rsv_heap_default(), pd);
    cr_assert_eq(err_count, 7);
    rsv_heap_destroy(a);
    rsv_heap_destroy(b);
    rsv_heap_destroy(c);
}
