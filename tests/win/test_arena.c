/* tests/win/test_arena.c — arenas in the Windows build (TAP under Wine):
 * the behaviors of tests/test_arena.c on VirtualAlloc-backed regions —
 * options, alignment, calloc/realloc, positions and retention, scopes,
 * scratch arenas released at thread exit (FLS callbacks), typed helpers, a
 * full reservation, chaining, zeroing, fault injection at each commit and
 * the debug-layer switch.  The ASan checks have no Windows counterpart.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <windows.h>

#include "arena_internal.h"
#include "internal.h"
#include "reservoir/arena.h"
#include "reservoir/vm.h"
#include "../test_errors.h"
#include "tap.h"


static int aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

static void test_create(void)
{
    err_reset();
    rsv_arena_t *a = rsv_arena_create(NULL);
    CHECK(a != NULL, "create with NULL options");
    rsv_arena_stats_t s;
    rsv_arena_stats(a, &s);
    CHECK(s.reserved >= ((size_t)4 << 30), "default reserve 4 GiB (%zu)", s.reserved);
    CHECK(s.blocks == 1 && s.used == 0, "one empty block");
    rsv_vm_info_t info;
    CHECK(rsv_vm_query(a, &info) == 0 && info.state == RSV_VM_COMMITTED, "header committed at the region start");
    CHECK(rsvi_arena_validate(a), "valid");
    rsv_arena_destroy(a);
    CHECK(rsv_vm_query(a, &info) == 0 && info.state == RSV_VM_FREE, "destroy releases the region");
    rsv_arena_destroy(NULL);

    rsv_arena_opts_t o = { 0 };
    o.alignment = 3;
    CHECK(rsv_arena_create(&o) == NULL && err_code == EINVAL, "bad alignment refused");
    o.alignment = 64;
    o.reserve = 1 << 20;
    o.name = "frame";
    a = rsv_arena_create(&o);
    CHECK(a && strcmp(rsv_arena_name(a), "frame") == 0, "name kept");
    CHECK(aligned(rsv_arena_alloc(a, 1), 64) && aligned(rsv_arena_alloc(a, 1), 64), "alignment option");
    rsv_arena_destroy(a);

    rsvi_fault_set(RSVI_FAULT_RESERVE, 1, 0);
    CHECK(rsv_arena_create(NULL) == NULL && err_code == ENOMEM, "reserve failure -> NULL");
    rsvi_fault_set(RSVI_FAULT_COMMIT, 1, 0);
    CHECK(rsv_arena_create(NULL) == NULL, "first commit failure -> NULL");
    rsvi_fault_clear();
}

static void test_alloc(void)
{
    err_reset();
    rsv_arena_opts_t o = { 0 };
    o.reserve = (size_t)3 << 30;
    o.commit_step = 4096;
    rsv_arena_t *a = rsv_arena_create(&o);
    int ok = 1;
    unsigned char *prev = NULL;
    size_t prev_n = 0;
    for (size_t n = 0; n < 2000; n++) {
        unsigned char *p = rsv_arena_alloc(a, n);
        if (!p || !aligned(p, alignof(max_align_t)) || (prev && p < prev + prev_n)) ok = 0;
        if (prev_n && prev[prev_n - 1] != (unsigned char)prev_n) ok = 0;
        memset(p, (int)(unsigned char)n, n);
        prev = p;
        prev_n = n;
    }
    CHECK(ok, "2000 allocations aligned, disjoint, intact across commits");
    CHECK(a->region.commits > 100, "grew by small commit steps (%zu)", a->region.commits);
    rsv_arena_reset(a);
    ok = 1;
    for (size_t al = 1; al <= RSV_ARENA_MAX_ALIGN; al <<= 1) {
        rsv_arena_alloc(a, 1);
        char *p = rsv_arena_alloc_aligned(a, 24, al);
        if (!p || !aligned(p, al)) ok = 0;
        else memset(p, 1, 24);
        if (al >= ((size_t)1 << 20)) rsv_arena_reset(a);
    }
    CHECK(ok && err_count == 0, "alloc_aligned for every power of two to 1 GiB");
    CHECK(rsv_arena_alloc_aligned(a, 8, 3) == NULL && err_code == EINVAL, "alignment 3 refused");
    CHECK(rsv_arena_alloc(a, 0) != NULL, "size 0 gives a pointer");
    CHECK(rsvi_arena_validate(a), "valid");
    rsv_arena_destroy(a);
}

static void test_calloc_realloc(void)
{
    err_reset();
    rsv_arena_t *a = rsv_arena_create(NULL);
    size_t mark = rsv_arena_pos(a);
    unsigned char *p = rsv_arena_alloc(a, 4096);
    memset(p, 0xAB, 4096);
    rsv_arena_pop_to(a, mark);
    unsigned char *q = rsv_arena_calloc(a, 512, 8);
    int zero = q == p;
    for (int i = 0; i < 4096; i++) zero &= q[i] == 0;
    CHECK(zero, "calloc zeroes recycled memory");
    CHECK(rsv_arena_calloc(a, SIZE_MAX / 2, 3) == NULL && err_code == EINVAL, "calloc overflow refused");

    char *r = rsv_arena_alloc(a, 100);
    memset(r, 'x', 100);
    CHECK(rsv_arena_realloc(a, r, 100, 10000) == r && r[99] == 'x', "last block grows in place");
    CHECK(rsv_arena_realloc(a, r, 10000, 50) == r, "last block shrinks in place");
    char *other = rsv_arena_alloc(a, 16);
    char *c = rsv_arena_realloc(a, r, 50, 200);
    CHECK(c && c != r && c > other && c[49] == 'x', "inner block is copied");
    char local[8];
    int before = err_count;
    CHECK(rsv_arena_realloc(a, local, 8, 16) == NULL && err_count == before + 1, "foreign pointer refused");
    rsv_arena_destroy(a);
}

static void test_positions(void)
{
    err_reset();
    rsv_arena_opts_t o = { 0 };
    o.retain = 256 << 10;
    rsv_arena_t *a = rsv_arena_create(&o);
    size_t start = rsv_arena_pos(a);
    rsv_arena_alloc(a, 10);
    size_t mark = rsv_arena_pos(a);
    char *p = rsv_arena_alloc(a, 1000);
    rsv_arena_pop_to(a, mark);
    CHECK(rsv_arena_pos(a) == mark && rsv_arena_alloc(a, 1000) == p, "pop_to frees and reuses");
    char *big = rsv_arena_alloc(a, 8 << 20);
    memset(big, 1, 8 << 20);
    rsv_arena_reset(a);
    CHECK(rsv_arena_pos(a) == start, "reset returns to the start");
    CHECK(a->region.committed >= (8u << 20) && a->region.decommits == 0,
          "reset keeps what the cycle used (%zu committed)", a->region.committed);
    size_t commits0 = a->region.commits;
    CHECK(rsv_arena_alloc(a, 8 << 20) != NULL && a->region.commits == commits0,
          "the same frame again commits nothing");
    rsv_arena_reset(a);
    rsv_arena_alloc(a, 4096);
    rsv_arena_reset(a);
    CHECK(a->region.committed <= (256u << 10) + 65536 && a->region.decommits == 1,
          "reset keeps the retained part (%zu committed)", a->region.committed);
    rsv_vm_info_t info;
    CHECK(rsv_vm_query(big + (4 << 20), &info) == 0 && info.state == RSV_VM_RESERVED,
          "the rest is decommitted (VirtualQuery)");
    size_t commits = a->region.commits;
    for (int i = 0; i < 50; i++) {
        rsv_temp_t t = rsv_temp_begin(a);
        rsv_arena_alloc(a, 128 << 10);
        rsv_temp_t u = rsv_temp_begin(a);
        rsv_arena_alloc(a, 1000);
        rsv_temp_end(u);
        rsv_temp_end(t);
    }
    CHECK(a->region.commits == commits && rsv_arena_pos(a) == start, "nested scopes within retain: no OS call");
    rsv_arena_destroy(a);
}

static rsv_arena_t *thread_arenas[2];
static DWORD WINAPI scratch_thread(LPVOID arg)
{
    (void)arg;
    rsv_temp_t t = rsv_scratch_begin(NULL, 0);
    rsv_arena_t *c[] = { t.arena };
    rsv_temp_t u = rsv_scratch_begin(c, 1);
    memset(rsv_arena_alloc(t.arena, 4096), 1, 4096);
    memset(rsv_arena_alloc(u.arena, 4096), 2, 4096);
    thread_arenas[0] = t.arena;
    thread_arenas[1] = u.arena;
    rsv_scratch_end(u);
    rsv_scratch_end(t);
    return 0;
}

static void test_scratch(void)
{
    err_reset();
    rsv_temp_t s1 = rsv_scratch_begin(NULL, 0);
    rsv_arena_t *c1[] = { s1.arena };
    rsv_temp_t s2 = rsv_scratch_begin(c1, 1);
    CHECK(s1.arena && s2.arena && s1.arena != s2.arena, "two distinct scratch arenas");
    rsv_arena_t *c2[] = { s1.arena, s2.arena };
    CHECK(rsv_scratch_begin(c2, 2).arena == NULL && err_code == EINVAL, "all conflicting -> none");
    rsv_arena_t *c3[] = { s2.arena };
    rsv_temp_t s3 = rsv_scratch_begin(c3, 1);
    CHECK(s3.arena == s1.arena, "first non-conflicting arena reused");
    rsv_scratch_end(s3);
    rsv_scratch_end(s2);
    rsv_scratch_end(s1);

    HANDLE th = CreateThread(NULL, 0, scratch_thread, NULL, 0, NULL);
    CHECK(th != NULL, "thread started");
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    for (int i = 0; i < 2; i++) {
        rsv_vm_info_t info;
        CHECK(thread_arenas[i] && thread_arenas[i] != s1.arena && thread_arenas[i] != s2.arena,
              "thread %d has its own scratch arena", i);
        CHECK(rsv_vm_query(thread_arenas[i], &info) == 0 && info.state == RSV_VM_FREE,
              "scratch arena %d released at thread exit", i);
    }
}

typedef struct { double x, y, z; int id; } vec_t;

static void test_typed(void)
{
    err_reset();
    rsv_arena_t *a = rsv_arena_create(NULL);
    vec_t *v = RSV_NEW(a, vec_t);
    vec_t *arr = RSV_NEW_ARRAY(a, vec_t, 100);
    CHECK(v && arr && aligned(v, alignof(vec_t)), "RSV_NEW / RSV_NEW_ARRAY");
    CHECK(RSV_NEW_ARRAY(a, vec_t, SIZE_MAX / 8) == NULL && err_code == EINVAL, "array overflow refused");
    size_t mark = rsv_arena_pos(a);
    memset(RSV_NEW_ARRAY(a, char, 4096), 0x5A, 4096);
    rsv_arena_pop_to(a, mark);
    vec_t *z = RSV_NEW_ZERO(a, vec_t);
    unsigned *za = RSV_NEW_ARRAY_ZERO(a, unsigned, 1000);
    int zero = z->x == 0 && z->id == 0;
    for (int i = 0; i < 1000; i++) zero &= za[i] == 0;
    CHECK(zero, "zeroing variants over recycled memory");
    rsv_arena_destroy(a);
}

static void test_limits(void)
{
    err_reset();
    rsv_arena_opts_t o = { 0 };
    o.reserve = 1 << 20;
    rsv_arena_t *a = rsv_arena_create(&o);
    size_t mark = rsv_arena_pos(a);
    int n = 0;
    while (rsv_arena_alloc(a, 10000)) n++;
    CHECK(n >= 100 && n < 106 && err_code == ENOMEM, "full reservation -> NULL after %d", n);
    CHECK(rsv_arena_alloc(a, SIZE_MAX) == NULL, "SIZE_MAX refused");
    rsv_arena_pop_to(a, mark);
    CHECK(rsv_arena_alloc(a, 10000) != NULL, "usable after pop");
    rsv_arena_destroy(a);

    err_reset();
    o.flags = RSV_ARENA_CHAIN;
    a = rsv_arena_create(&o);
    size_t start = rsv_arena_pos(a);
    char *first = NULL;
    int ok = 1;
    for (int i = 0; i < 400; i++) {
        char *p = rsv_arena_alloc(a, 10000);
        if (!p) ok = 0;
        else memset(p, i, 10000);
        if (!first) first = p;
    }
    rsv_arena_stats_t s;
    rsv_arena_stats(a, &s);
    CHECK(ok && s.blocks >= 4 && err_count == 0, "chain: 4 MB through 1 MiB regions (%zu blocks)", s.blocks);
    size_t mark2 = rsv_arena_pos(a);
    CHECK(rsv_arena_alloc(a, 3 << 20) != NULL, "request larger than the reserve chains its own block");
    rsv_arena_pop_to(a, mark2);
    rsv_arena_stats_t s2;
    rsv_arena_stats(a, &s2);
    CHECK(s2.blocks == s.blocks && rsv_arena_pos(a) == mark2, "pop_to releases the blocks after it");
    rsv_arena_reset(a);
    rsv_arena_stats(a, &s2);
    CHECK(s2.blocks == 1 && rsv_arena_pos(a) == start && rsv_arena_alloc(a, 10000) == first,
          "reset keeps only the first block");
    rsv_arena_destroy(a);

    o.flags = RSV_ARENA_ZERO;
    o.reserve = 0;
    a = rsv_arena_create(&o);
    mark = rsv_arena_pos(a);
    int zero = 1;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 200; i++) {
            unsigned char *p = rsv_arena_alloc(a, 333);
            for (int k = 0; k < 333; k++) zero &= p[k] == 0;
            memset(p, 0xEE, 333);
        }
        rsv_arena_pop_to(a, mark);
    }
    CHECK(zero && rsvi_arena_validate(a), "RSV_ARENA_ZERO: every allocation reads zero");
    rsv_arena_destroy(a);
}

static void test_faults(void)
{
    for (int persistent = 0; persistent < 2; persistent++) {
        int ok = 1;
        for (unsigned n = 1; n <= 8; n++) {
            err_reset();
            rsv_arena_opts_t o = { 0 };
            o.commit_step = 4096;
            o.retain = 4096;
            rsv_arena_t *a = rsv_arena_create(&o);
            rsvi_fault_set(RSVI_FAULT_COMMIT, n, persistent);
            int failures = 0;
            for (int i = 0; i < 64; i++) {
                size_t pos = rsv_arena_pos(a), committed = a->region.committed;
                char *p = (i & 1) ? rsv_arena_alloc(a, 3000) : rsv_arena_alloc_aligned(a, 1500, 512);
                if (!p) {
                    failures++;
                    if (rsv_arena_pos(a) != pos || a->region.committed != committed || !rsvi_arena_validate(a))
                        ok = 0;
                    continue;
                }
                memset(p, 0x11, (i & 1) ? 3000 : 1500);
            }
            if (failures == 0 || (!persistent && failures != 1)) ok = 0;
            rsvi_fault_clear();
            if (!rsv_arena_alloc(a, 100000)) ok = 0;
            rsv_arena_reset(a);
            if (!rsv_arena_alloc(a, 100000) || !rsvi_arena_validate(a)) ok = 0;
            rsv_arena_destroy(a);
        }
        CHECK(ok, "commit fault at N = 1..8 (%s): NULL, arena unchanged and usable",
              persistent ? "persistent" : "transient");
    }
}

static void test_slow_switch(void)
{
    err_reset();
    rsv_arena_t *a = rsv_arena_create(NULL);
    rsvi_arena_set_slow(a, RSVI_ARENA_SLOW_TOOLS, 1);
    char *p = rsv_arena_alloc(a, 10);
    char *q = rsv_arena_alloc(a, 10);
    CHECK(a->limit == a->pos && q == p + 16, "debug switch: every allocation out of line, same results");
    rsvi_arena_set_slow(a, RSVI_ARENA_SLOW_TOOLS, 0);
    CHECK(a->limit > a->pos && rsvi_arena_validate(a), "switch off: inline path back");
    rsv_arena_destroy(a);
}

int main(void)
{
    rsv_error_handler_t h = { err_capture, NULL };
    rsv_set_error_handler(h);
    test_create();
    test_alloc();
    test_calloc_realloc();
    test_positions();
    test_scratch();
    test_typed();
    test_limits();
    test_faults();
    test_slow_switch();
    return tap_done();
}
