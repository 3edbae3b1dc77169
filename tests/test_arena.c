/* tests/test_arena.c — Criterion suite for the arena layer
 * (reservoir/arena.h): creation and options, the inline and slow
 * allocation paths, alignment, calloc/realloc, positions, temporary and
 * scratch scopes, typed helpers, a full reservation, chaining, zeroing,
 * fault injection at each commit, the debug-layer switch, a seeded stress
 * test, and (ASan builds only) the poisoning that lets ASan catch reads
 * past the position and after pop_to.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "arena_internal.h"
#include "internal.h"
#include "reservoir/arena.h"
#include "reservoir/vm.h"
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
#endif

/* ---- error capture ------------------------------------------------------ */


TestSuite(arena, .init = err_setup, .fini = err_teardown, .timeout = 30);

static int is_aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

/* ---- creation ----------------------------------------------------------- */

Test(arena, create_defaults)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    cr_assert_not_null(a);
    rsv_arena_stats_t s;
    rsv_arena_stats(a, &s);
    cr_assert_geq(s.reserved, (size_t)4 << 30, "default reserve is 4 GiB");
    cr_assert_eq(s.blocks, 1);
    cr_assert_eq(s.used, 0);
    cr_assert_gt(rsv_arena_pos(a), 0, "the header comes first");
    cr_assert_null(rsv_arena_name(a));
    cr_assert(rsvi_arena_validate(a));
    /* The header is at the region's start. */
    rsv_vm_info_t info;
    cr_assert_eq(rsv_vm_query(a, &info), 0);
    cr_assert_eq(info.state, RSV_VM_COMMITTED);
    rsv_arena_destroy(a);
    rsv_arena_destroy(NULL);
    cr_assert_eq(err_count, 0);
}

Test(arena, ten_thousand_fit_in_user_space)
{
    /* The default reserve times 10,000 leaves most of 128 TiB free. */
    rsv_arena_t *a = rsv_arena_create(NULL);
    rsv_arena_stats_t s;
    rsv_arena_stats(a, &s);
    if (sizeof(void *) == 8)
        cr_assert_leq((unsigned long long)s.reserved * 10000ull, (128ull << 40) / 2);
    rsv_arena_destroy(a);
}

/* The sizing rule, proven rather than computed: 10,000 default
 * arenas live at once, each usable, then all destroyed. */
Test(arena, ten_thousand_live_at_once, .timeout = 120)
{
    enum { N = 10000 };
    static rsv_arena_t *all[N];
    static int *first[N];
    if (sizeof(void *) < 8) return; /* a 32-bit address space holds fewer */
    for (int i = 0; i < N; i++) {
        all[i] = rsv_arena_create(NULL);
        cr_assert_not_null(all[i], "arena %d of %d", i, N);
        first[i] = rsv_arena_alloc(all[i], 1024);
        cr_assert_not_null(first[i]);
        *first[i] = i;
    }
    /* Every arena kept its own memory while all of them were live. */
    for (int i = 0; i < N; i++) cr_assert_eq(*first[i], i, "arena %d", i);
    for (int i = 0; i < N; i++) rsv_arena_destroy(all[i]);
}

Test(arena, create_options)
{
    rsv_arena_opts_t o = { 0 };
    o.reserve = 1 << 20;
    o.commit_step = 8192;
    o.alignment = 64;
    o.name = "frame";
    rsv_arena_t *a = rsv_arena_create(&o);
    cr_assert_not_null(a);
    cr_assert_str_eq(rsv_arena_name(a), "frame");
    for (int i = 0; i < 10; i++) {
        void *p = rsv_arena_alloc(a, 1);
        cr_assert(is_aligned(p, 64));
    }
    rsv_arena_stats_t s;
    rsv_arena_stats(a, &s);
    cr_assert_lt(s.reserved, (size_t)2 << 20);
    rsv_arena_destroy(a);

    o.alignment = 3;
    cr_assert_null(rsv_arena_create(&o));
    cr_assert_eq(err_code, EINVAL);
    o.alignment = 8192;
    cr_assert_null(rsv_arena_create(&o));
    o.alignment = 0;
    o.flags = 1u << 7;
    cr_assert_null(rsv_arena_create(&o));
    cr_assert_eq(err_count, 3);
}

Test(arena, create_fails_cleanly_on_reserve_and_commit)
{
    rsvi_fault_set(RSVI_FAULT_RESERVE, 1, 0);
    cr_assert_null(rsv_arena_create(NULL));
    cr_assert_eq(err_code, ENOMEM);
    rsvi_fault_set(RSVI_FAULT_COMMIT, 1, 0);
    cr_assert_null(rsv_arena_create(NULL));
    rsvi_fault_clear();
    rsv_arena_t *a = rsv_arena_create(NULL);
    cr_assert_not_null(a);
    rsv_arena_destroy(a);
}

/* ---- allocation --------------------------------------------------------- */

Test(arena, alloc_is_aligned_and_disjoint)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    unsigned char *prev = NULL;
    size_t prev_n = 0;
    for (size_t n = 0; n < 300; n++) {
        unsigned char *p = rsv_arena_alloc(a, n);
        cr_assert_not_null(p);
        cr_assert(is_aligned(p, alignof(max_align_t)));
        if (prev) {
            cr_assert_geq(p, prev + prev_n, "blocks do not overlap");
            for (size_t i = 0; i < prev_n; i++) cr_assert_eq(prev[i], (unsigned char)prev_n);
        }
        memset(p, (int)(unsigned char)n, n);
        prev = p;
        prev_n = n;
    }
    cr_assert(rsvi_arena_validate(a));
    rsv_arena_destroy(a);
}

Test(arena, alloc_crosses_many_commits)
{
    rsv_arena_opts_t o = { 0 };
    o.commit_step = 4096;
    rsv_arena_t *a = rsv_arena_create(&o);
    size_t before = a->region.commits;
    for (int i = 0; i < 1000; i++) {
        char *p = rsv_arena_alloc(a, 1000);
        cr_assert_not_null(p);
        memset(p, i, 1000);
    }
    cr_assert_gt(a->region.commits, before + 100, "grew by small steps");
    rsv_arena_stats_t s;
    rsv_arena_stats(a, &s);
    cr_assert_geq(s.used, 1000u * 1008u);
    cr_assert_geq(s.committed, s.used);
    rsv_arena_destroy(a);
}

Test(arena, zero_size_gives_pointer)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    cr_assert_not_null(rsv_arena_alloc(a, 0));
    cr_assert_not_null(rsv_arena_alloc_aligned(a, 0, 256));
    rsv_arena_destroy(a);
}

Test(arena, alloc_aligned_every_power_of_two)
{
    rsv_arena_opts_t o = { 0 };
    o.reserve = (size_t)3 << 30;
    rsv_arena_t *a = rsv_arena_create(&o);
    for (size_t al = 1; al <= RSV_ARENA_MAX_ALIGN; al <<= 1) {
        rsv_arena_alloc(a, 1);   /* disturb the position */
        char *p = rsv_arena_alloc_aligned(a, 24, al);
        cr_assert_not_null(p, "align %zu", al);
        cr_assert(is_aligned(p, al), "align %zu", al);
        memset(p, 1, 24);
        cr_assert(rsvi_arena_validate(a));
        /* Pop back so the large alignments do not exhaust the reservation. */
        if (al >= ((size_t)1 << 20)) rsv_arena_reset(a);
    }
    cr_assert_eq(err_count, 0);
    cr_assert_null(rsv_arena_alloc_aligned(a, 8, 3));
    cr_assert_eq(err_code, EINVAL);
    cr_assert_null(rsv_arena_alloc_aligned(a, 8, RSV_ARENA_MAX_ALIGN << 1));
    cr_assert_eq(err_count, 2);
    rsv_arena_destroy(a);
}

Test(arena, calloc_zeroes_recycled_memory_and_checks_overflow)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    size_t mark = rsv_arena_pos(a);
    unsigned char *p = rsv_arena_alloc(a, 4096);
    memset(p, 0xAB, 4096);
    rsv_arena_pop_to(a, mark);
    unsigned char *q = rsv_arena_calloc(a, 512, 8);
    cr_assert_eq(q, p, "same memory reused");
    for (size_t i = 0; i < 4096; i++) cr_assert_eq(q[i], 0);
    cr_assert_null(rsv_arena_calloc(a, SIZE_MAX / 2, 3));
    cr_assert_eq(err_code, EINVAL);
    cr_assert_null(rsv_arena_calloc_aligned(a, (SIZE_MAX >> 4) + 1, 32, 64));
    cr_assert_eq(err_count, 2);
    cr_assert_not_null(rsv_arena_calloc(a, 0, 16));
    rsv_arena_destroy(a);
}

Test(arena, realloc_last_block_in_place)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    char *p = rsv_arena_alloc(a, 100);
    memset(p, 'x', 100);
    size_t pos0 = rsv_arena_pos(a);
    char *q = rsv_arena_realloc(a, p, 100, 10000);
    cr_assert_eq(q, p, "grows in place");
    cr_assert_gt(rsv_arena_pos(a), pos0);
    for (int i = 0; i < 100; i++) cr_assert_eq(q[i], 'x');
    memset(q, 'y', 10000);
    q = rsv_arena_realloc(a, p, 10000, 50);
    cr_assert_eq(q, p, "shrinks in place");
    cr_assert_lt(rsv_arena_pos(a), pos0);
    cr_assert_eq(q[49], 'y');
    cr_assert(rsvi_arena_validate(a));
    rsv_arena_destroy(a);
}

Test(arena, realloc_other_block_copies)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    char *p = rsv_arena_alloc(a, 64);
    memset(p, 'a', 64);
    char *other = rsv_arena_alloc(a, 16);
    cr_assert_not_null(other);
    cr_assert_eq(rsv_arena_realloc(a, p, 64, 32), p, "shrinking an inner block keeps it");
    char *q = rsv_arena_realloc(a, p, 64, 200);
    cr_assert_not_null(q);
    cr_assert_neq(q, p);
    cr_assert_gt(q, other);
    for (int i = 0; i < 64; i++) cr_assert_eq(q[i], 'a');
    char *n = rsv_arena_realloc(a, NULL, 0, 40);
    cr_assert_not_null(n);
    cr_assert_eq(err_count, 0);
    rsv_arena_destroy(a);
}

Test(arena, realloc_rejects_foreign_pointer)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    rsv_arena_alloc(a, 64);
    char local[64];
    cr_assert_null(rsv_arena_realloc(a, local, 64, 128));
    cr_assert_eq(err_code, EINVAL);
    char *p = rsv_arena_alloc(a, 32);
    cr_assert_null(rsv_arena_realloc(a, p, 4096, 8192), "old size past the position");
    cr_assert_eq(err_count, 2);
    rsv_arena_destroy(a);
}

/* ---- positions and scopes ----------------------------------------------- */

Test(arena, pop_to_frees_and_reuses)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    size_t start = rsv_arena_pos(a);
    rsv_arena_alloc(a, 10);
    size_t mark = rsv_arena_pos(a);
    char *p = rsv_arena_alloc(a, 1000);
    rsv_arena_alloc(a, 1000);
    rsv_arena_pop_to(a, mark);
    cr_assert_eq(rsv_arena_pos(a), mark);
    cr_assert_eq(rsv_arena_alloc(a, 1000), p);
    rsv_arena_pop_to(a, rsv_arena_pos(a) + 4096);   /* ahead: nothing */
    cr_assert_eq(rsv_arena_pos(a), mark + 1008);
    rsv_arena_reset(a);
    cr_assert_eq(rsv_arena_pos(a), start);
    rsv_arena_stats_t s;
    rsv_arena_stats(a, &s);
    cr_assert_eq(s.used, 0);
    cr_assert(rsvi_arena_validate(a));
    rsv_arena_destroy(a);
}

Test(arena, reset_keeps_retain_and_decommits_the_rest)
{
    rsv_arena_opts_t o = { 0 };
    o.retain = 256 << 10;
    rsv_arena_t *a = rsv_arena_create(&o);
    char *p = rsv_arena_alloc(a, 8 << 20);
    memset(p, 1, 8 << 20);
    cr_assert_geq(a->region.committed, (size_t)8 << 20);
    /* The first reset keeps what the cycle used: the next frame of the same
     * size makes no commit and touches no new page. */
    rsv_arena_reset(a);
    cr_assert_geq(a->region.committed, (size_t)8 << 20, "a steady frame's memory stays committed");
    cr_assert_eq(a->region.decommits, 0);
    size_t commits0 = a->region.commits;
    cr_assert_eq(rsv_arena_alloc(a, 8 << 20), p);
    cr_assert_eq(a->region.commits, commits0, "the same frame again commits nothing");
    /* A cycle that stays small gives the spike back at its reset. */
    rsv_arena_reset(a);
    cr_assert_not_null(rsv_arena_alloc(a, 4096));
    rsv_arena_reset(a);
    cr_assert_leq(a->region.committed, (size_t)(256 << 10) + 2 * 4096 + 64, "kept only the retained part");
    cr_assert_geq(a->region.committed, (size_t)256 << 10);
    cr_assert_eq(a->region.decommits, 1);
    /* Popping again within the retained part costs no OS call. */
    size_t commits = a->region.commits;
    for (int i = 0; i < 100; i++) {
        rsv_temp_t t = rsv_temp_begin(a);
        cr_assert_not_null(rsv_arena_alloc(a, 128 << 10));
        rsv_temp_end(t);
    }
    cr_assert_eq(a->region.commits, commits);
    cr_assert_eq(a->region.decommits, 1);
    rsv_arena_destroy(a);
}

Test(arena, temp_scopes_nest)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    size_t p0 = rsv_arena_pos(a);
    rsv_temp_t outer = rsv_temp_begin(a);
    rsv_arena_alloc(a, 100);
    size_t p1 = rsv_arena_pos(a);
    rsv_temp_t inner = rsv_temp_begin(a);
    rsv_arena_alloc(a, 5000);
    rsv_temp_end(inner);
    cr_assert_eq(rsv_arena_pos(a), p1);
    rsv_temp_end(outer);
    cr_assert_eq(rsv_arena_pos(a), p0);
    rsv_temp_t none = { NULL, 0 };
    rsv_temp_end(none);
    rsv_arena_destroy(a);
}

Test(arena, scratch_avoids_conflicts)
{
    rsv_temp_t s1 = rsv_scratch_begin(NULL, 0);
    cr_assert_not_null(s1.arena);
    cr_assert_str_eq(rsv_arena_name(s1.arena), "scratch");
    rsv_arena_t *c1[] = { s1.arena };
    rsv_temp_t s2 = rsv_scratch_begin(c1, 1);
    cr_assert_not_null(s2.arena);
    cr_assert_neq(s2.arena, s1.arena);
    rsv_arena_t *c2[] = { s1.arena, s2.arena };
    rsv_temp_t s3 = rsv_scratch_begin(c2, 2);
    cr_assert_null(s3.arena, "every scratch arena conflicts");
    cr_assert_eq(err_code, EINVAL);
    /* A user arena in the list does not matter. */
    rsv_arena_t *mine = rsv_arena_create(NULL);
    rsv_arena_t *c3[] = { mine, s2.arena };
    rsv_temp_t s4 = rsv_scratch_begin(c3, 2);
    cr_assert_eq(s4.arena, s1.arena);
    size_t pos = rsv_arena_pos(s4.arena);
    rsv_arena_alloc(s4.arena, 777);
    rsv_scratch_end(s4);
    cr_assert_eq(rsv_arena_pos(s1.arena), pos);
    rsv_scratch_end(s2);
    rsv_scratch_end(s1);
    cr_assert_null(rsv_scratch_begin(NULL, 3).arena, "NULL list with n > 0");
    rsv_arena_destroy(mine);
}

static void *scratch_thread(void *out)
{
    rsv_temp_t t = rsv_scratch_begin(NULL, 0);
    rsv_arena_t *c[] = { t.arena };
    rsv_temp_t u = rsv_scratch_begin(c, 1);
    memset(rsv_arena_alloc(t.arena, 4096), 1, 4096);
    memset(rsv_arena_alloc(u.arena, 4096), 2, 4096);
    ((void **)out)[0] = t.arena;
    ((void **)out)[1] = u.arena;
    rsv_scratch_end(u);
    rsv_scratch_end(t);
    return NULL;
}

Test(arena, scratch_is_per_thread_and_released_at_exit)
{
    void *arenas[2] = { NULL, NULL };
    rsv_temp_t mine = rsv_scratch_begin(NULL, 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, scratch_thread, arenas), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    for (int i = 0; i < 2; i++) {
        cr_assert_not_null(arenas[i]);
        cr_assert_neq(arenas[i], mine.arena, "another thread's scratch arena");
        rsv_vm_info_t info;
        cr_assert_eq(rsv_vm_query(arenas[i], &info), 0);
        cr_assert_eq(info.state, RSV_VM_FREE, "released at thread exit");
    }
    rsv_scratch_end(mine);
}

/* ---- typed helpers ------------------------------------------------------ */

typedef struct { double x, y, z; int id; } vec_t;
typedef struct { alignas(64) char line[64]; } line_t;

Test(arena, typed_helpers)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    vec_t *v = RSV_NEW(a, vec_t);
    cr_assert_not_null(v);
    cr_assert(is_aligned(v, alignof(vec_t)));
    line_t *l = RSV_NEW(a, line_t);
    cr_assert(is_aligned(l, 64));
    vec_t *arr = RSV_NEW_ARRAY(a, vec_t, 100);
    cr_assert_not_null(arr);
    arr[99].id = 7;
    cr_assert_null(RSV_NEW_ARRAY(a, vec_t, SIZE_MAX / 8));
    cr_assert_eq(err_code, EINVAL);
    cr_assert_null(RSV_NEW_ARRAY_ZERO(a, uint64_t, SIZE_MAX / 4));
    cr_assert_eq(err_count, 2);

    size_t mark = rsv_arena_pos(a);
    memset(RSV_NEW_ARRAY(a, char, 4096), 0x5A, 4096);
    rsv_arena_pop_to(a, mark);
    vec_t *z = RSV_NEW_ZERO(a, vec_t);
    cr_assert(z->x == 0 && z->y == 0 && z->id == 0);
    unsigned *za = RSV_NEW_ARRAY_ZERO(a, unsigned, 1000);
    for (int i = 0; i < 1000; i++) cr_assert_eq(za[i], 0);
    rsv_arena_destroy(a);
}

/* ---- limits ------------------------------------------------------------- */

Test(arena, full_reservation_returns_null_and_stays_usable)
{
    rsv_arena_opts_t o = { 0 };
    o.reserve = 1 << 20;
    rsv_arena_t *a = rsv_arena_create(&o);
    size_t mark = rsv_arena_pos(a);
    int n = 0;
    while (rsv_arena_alloc(a, 10000)) n++;
    cr_assert_geq(n, 100);
    cr_assert_lt(n, 106);
    cr_assert_eq(err_code, ENOMEM);
    cr_assert_eq(err_count, 1);
    size_t pos = rsv_arena_pos(a);
    cr_assert_null(rsv_arena_alloc(a, SIZE_MAX));
    cr_assert_null(rsv_arena_alloc(a, SIZE_MAX - 4096));
    cr_assert_eq(rsv_arena_pos(a), pos);
    cr_assert_not_null(rsv_arena_alloc(a, 16), "the tail still serves small requests");
    rsv_arena_pop_to(a, mark);
    cr_assert_not_null(rsv_arena_alloc(a, 10000));
    cr_assert(rsvi_arena_validate(a));
    rsv_arena_destroy(a);
}

Test(arena, chain_links_new_regions)
{
    rsv_arena_opts_t o = { 0 };
    o.reserve = 1 << 20;
    o.flags = RSV_ARENA_CHAIN;
    rsv_arena_t *a = rsv_arena_create(&o);
    size_t start = rsv_arena_pos(a);
    size_t last = start;
    char *blocks[400];
    for (int i = 0; i < 400; i++) {
        blocks[i] = rsv_arena_alloc(a, 10000);
        cr_assert_not_null(blocks[i]);
        memset(blocks[i], i & 0xFF, 10000);
        cr_assert_gt(rsv_arena_pos(a), last, "positions only grow");
        last = rsv_arena_pos(a);
        cr_assert(rsvi_arena_validate(a));
    }
    for (int i = 0; i < 400; i++) cr_assert_eq((unsigned char)blocks[i][9999], (unsigned char)(i & 0xFF));
    rsv_arena_stats_t s;
    rsv_arena_stats(a, &s);
    cr_assert_geq(s.blocks, 4);
    cr_assert_eq(err_count, 0);

    /* A request larger than the reserve gets a block of its own. */
    size_t mark = rsv_arena_pos(a);
    char *big = rsv_arena_alloc(a, 3 << 20);
    cr_assert_not_null(big);
    memset(big, 7, 3 << 20);
    rsv_arena_stats(a, &s);
    size_t blocks_big = s.blocks;
    rsv_arena_pop_to(a, mark);
    rsv_arena_stats(a, &s);
    cr_assert_eq(s.blocks, blocks_big - 1, "the block past the mark is released");
    cr_assert_eq(rsv_arena_pos(a), mark);
    cr_assert_eq((unsigned char)blocks[399][0], (unsigned char)(399 & 0xFF));

    rsv_arena_reset(a);
    rsv_arena_stats(a, &s);
    cr_assert_eq(s.blocks, 1);
    cr_assert_eq(rsv_arena_pos(a), start);
    cr_assert_eq(rsv_arena_alloc(a, 10000), blocks[0]);
    cr_assert(rsvi_arena_validate(a));
    rsv_arena_destroy(a);
}

Test(arena, chain_failure_leaves_arena_usable)
{
    rsv_arena_opts_t o = { 0 };
    o.reserve = 64 << 10;
    o.flags = RSV_ARENA_CHAIN;
    rsv_arena_t *a = rsv_arena_create(&o);
    while (rsv_arena_pos(a) < (60 << 10)) rsv_arena_alloc(a, 1000);
    size_t pos = rsv_arena_pos(a);
    rsvi_fault_set(RSVI_FAULT_RESERVE, 1, 0);
    cr_assert_null(rsv_arena_alloc(a, 8000));
    cr_assert_eq(rsv_arena_pos(a), pos);
    cr_assert(rsvi_arena_validate(a));
    cr_assert_not_null(rsv_arena_alloc(a, 8000));
    rsv_arena_destroy(a);
}

Test(arena, zero_flag_clears_every_allocation)
{
    rsv_arena_opts_t o = { 0 };
    o.flags = RSV_ARENA_ZERO;
    rsv_arena_t *a = rsv_arena_create(&o);
    size_t mark = rsv_arena_pos(a);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 200; i++) {
            unsigned char *p = rsv_arena_alloc(a, 333);
            for (int k = 0; k < 333; k++) cr_assert_eq(p[k], 0, "round %d alloc %d byte %d", round, i, k);
            memset(p, 0xEE, 333);
        }
        unsigned char *r = rsv_arena_alloc(a, 10);
        memset(r, 0xEE, 10);
        r = rsv_arena_realloc(a, r, 10, 5);
        r = rsv_arena_realloc(a, r, 5, 100);
        for (int k = 5; k < 100; k++) cr_assert_eq(r[k], 0);
        memset(r, 0xEE, 100);
        rsv_arena_pop_to(a, mark);
        cr_assert(rsvi_arena_validate(a));
    }
    rsv_arena_destroy(a);
}

/* ---- fault injection ---------------------------------------------------- */

/* Fails the nth commit (transiently or for good) while an arena grows by
 * small steps; after each failure the arena must be unchanged and usable. */
static void fault_run(unsigned n, int persistent)
{
    rsv_arena_opts_t o = { 0 };
    o.commit_step = 4096;
    o.retain = 4096;
    rsv_arena_t *a = rsv_arena_create(&o);
    cr_assert_not_null(a);
    rsvi_fault_set(RSVI_FAULT_COMMIT, n, persistent);
    int failures = 0;
    for (int i = 0; i < 64; i++) {
        size_t pos = rsv_arena_pos(a);
        size_t committed = a->region.committed;
        char *p = (i & 1) ? rsv_arena_alloc(a, 3000) : rsv_arena_alloc_aligned(a, 1500, 512);
        if (!p) {
            failures++;
            cr_assert_eq(err_code, ENOMEM);
            cr_assert_eq(rsv_arena_pos(a), pos, "position unchanged");
            cr_assert_eq(a->region.committed, committed, "commit unchanged");
            cr_assert(rsvi_arena_validate(a));
            continue;
        }
        memset(p, 0x11, (i & 1) ? 3000 : 1500);
    }
    cr_assert_geq(failures, 1, "n=%u: the fault fired", n);
    if (!persistent) cr_assert_eq(failures, 1);
    rsvi_fault_clear();
    /* Usable after the failures: grow, pop, grow again. */
    cr_assert_not_null(rsv_arena_alloc(a, 100000));
    rsv_arena_reset(a);
    cr_assert_not_null(rsv_arena_alloc(a, 100000));
    cr_assert(rsvi_arena_validate(a));
    rsv_arena_destroy(a);
}

Test(arena, commit_fault_transient_each_n)
{
    for (unsigned n = 1; n <= 8; n++) fault_run(n, 0);
}

Test(arena, commit_fault_persistent_each_n)
{
    for (unsigned n = 1; n <= 8; n++) fault_run(n, 1);
}

Test(arena, realloc_commit_fault_keeps_block)
{
    rsv_arena_opts_t o = { 0 };
    o.commit_step = 4096;
    rsv_arena_t *a = rsv_arena_create(&o);
    char *p = rsv_arena_alloc(a, 100);
    memset(p, 'q', 100);
    size_t pos = rsv_arena_pos(a);
    rsvi_fault_set(RSVI_FAULT_COMMIT, 1, 0);
    cr_assert_null(rsv_arena_realloc(a, p, 100, 50000));
    cr_assert_eq(rsv_arena_pos(a), pos);
    cr_assert_eq(p[99], 'q');
    cr_assert_eq(rsv_arena_realloc(a, p, 100, 50000), p);
    rsv_arena_destroy(a);
}

/* ---- the debug layer's switch ------------------------------------------- */

Test(arena, forced_slow_path_keeps_results)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    rsvi_arena_set_slow(a, RSVI_ARENA_SLOW_TOOLS, 1);
    cr_assert_eq(a->limit, a->pos, "inline path off");
    char *p = rsv_arena_alloc(a, 10);
    cr_assert_not_null(p);
    cr_assert_eq(a->limit, a->pos, "still off after a slow allocation");
    char *q = rsv_arena_alloc(a, 10);
    cr_assert_eq(q, p + 16);
    rsvi_arena_set_slow(a, RSVI_ARENA_SLOW_TOOLS, 0);
    if (!a->slow) cr_assert_gt(a->limit, a->pos, "inline path back on");
    cr_assert(rsvi_arena_validate(a));
    rsv_arena_destroy(a);
}

/* ---- seeded stress ------------------------------------------------------ */

static uint64_t rng_state;
static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

Test(arena, stress_seeded)
{
    int rounds = TEST_ASAN ? 3000 : 30000;
    rng_state = 12345;
    rsv_arena_opts_t o = { 0 };
    o.reserve = 8 << 20;
    o.commit_step = 16384;
    o.retain = 32768;
    o.flags = RSV_ARENA_CHAIN;
    rsv_arena_t *a = rsv_arena_create(&o);
    enum { DEPTH = 64 };
    struct { size_t pos; unsigned char *p; size_t n; unsigned char tag; } stack[DEPTH];
    int top = 0;
    for (int i = 0; i < rounds; i++) {
        uint32_t r = rng();
        if (top < DEPTH && (r % 4) != 0) {
            size_t n = rng() % ((r & 0x100) ? 100000 : 300);
            size_t al = (size_t)1 << (rng() % 13);
            stack[top].pos = rsv_arena_pos(a);
            unsigned char *p = (r & 8) ? rsv_arena_alloc(a, n) : rsv_arena_alloc_aligned(a, n, al);
            cr_assert_not_null(p);
            if (!(r & 8)) cr_assert(is_aligned(p, al));
            stack[top].p = p;
            stack[top].n = n;
            stack[top].tag = (unsigned char)i;
            memset(p, stack[top].tag, n);
            top++;
        } else if (top > 0) {
            int k = (int)(rng() % (unsigned)top);
            for (int j = 0; j < top; j++)
                if (stack[j].n) cr_assert_eq(stack[j].p[stack[j].n - 1], stack[j].tag);
            rsv_arena_pop_to(a, stack[k].pos);
            top = k;
            cr_assert(rsvi_arena_validate(a));
        }
    }
    cr_assert_eq(err_count, 0);
    rsv_arena_destroy(a);
}

/* ---- ASan cooperation (ASan builds only) -------------------------------- */
#if TEST_ASAN

Test(arena, asan_poisons_past_position_and_popped_memory)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    size_t mark = rsv_arena_pos(a);
    char *p = rsv_arena_alloc(a, 13);
    cr_assert_not(__asan_address_is_poisoned(p + 12));
    cr_assert(__asan_address_is_poisoned(p + 13), "past the last allocation");
    cr_assert(__asan_address_is_poisoned(p + 100));
    char *q = rsv_arena_alloc(a, 64);
    rsv_arena_pop_to(a, mark);
    cr_assert(__asan_address_is_poisoned(p));
    cr_assert(__asan_address_is_poisoned(q + 10), "after pop_to");
    char *r = rsv_arena_alloc(a, 13);
    cr_assert_eq(r, p);
    cr_assert_not(__asan_address_is_poisoned(r + 12));
    r = rsv_arena_realloc(a, r, 13, 8);
    cr_assert(__asan_address_is_poisoned(r + 8), "shrunk by realloc");
    rsv_arena_destroy(a);
}

/* The death tests: ASan's report goes to this callback, which leaves with
 * 42 only when it is a poisoning report, so a pass proves ASan caught it. */
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

Test(arena, asan_catches_read_past_last_allocation, .init = asan_setup, .exit_code = 42)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    volatile char *p = rsv_arena_alloc(a, 24);
    char c = p[24];
    (void)c;
    rsv_arena_destroy(a);
}

Test(arena, asan_catches_read_after_pop_to, .init = asan_setup, .exit_code = 42)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    size_t mark = rsv_arena_pos(a);
    volatile char *p = rsv_arena_alloc(a, 24);
    p[0] = 1;
    rsv_arena_pop_to(a, mark);
    char c = p[0];
    (void)c;
    rsv_arena_destroy(a);
}

Test(arena, asan_catches_read_after_reset, .init = asan_setup, .exit_code = 42)
{
    rsv_arena_t *a = rsv_arena_create(NULL);
    volatile char *p = rsv_arena_alloc(a, 4096);
    p[100] = 1;
    rsv_arena_reset(a);
    char c = p[100];
    (void)c;
    rsv_arena_destroy(a);
}
#endif
