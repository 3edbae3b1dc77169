/* tests/test_debug_alloc.c — the debug layer inside the allocators (suite
 * "debug"): each allocator created with debug options and a capturing
 * report handler, each of the article's errors checked through the
 * allocator's own API (pop_to/reset, validate, usable_size, owns, the OOM
 * policy).  The malloc replacement and the Win32 façade read RSV_DEBUG at
 * start-up; tests/debug_bugs/check.py covers them with real processes.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "arena_internal.h"
#include "internal.h"
#include "reservoir.h"

/* Under ASan the arena and pool poison what pop_to/reset take back, so
 * ASan itself stops a use after pop/reset (exit status 1) before the debug
 * layer can see it; those tests expect exactly that there. */
#if defined(__SANITIZE_ADDRESS__)
#define DBG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DBG_ASAN 1
#endif
#endif
#ifndef DBG_ASAN
#define DBG_ASAN 0
#endif

const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "handle_segv=0:allow_user_segv_handler=1"; }

#define MAX_REPORTS 8
static rsv_debug_report_t got[MAX_REPORTS];
static char got_text[MAX_REPORTS][2048];
static int ngot;

static void capture(void *user, const rsv_debug_report_t *r)
{
    (void)user;
    if (ngot < MAX_REPORTS) {
        got[ngot] = *r;
        size_t n = r->text_len < 2047 ? r->text_len : 2047;
        memcpy(got_text[ngot], r->text, n);
        got_text[ngot][n] = '\0';
        got[ngot].text = got_text[ngot];
    }
    ngot++;
}

static rsv_debug_opts_t dbg;

static void setup(void)
{
    ngot = 0;
    memset(&dbg, 0, sizeof dbg);
    dbg.report.fn = capture;
}

TestSuite(debug_alloc, .init = setup, .timeout = 30);

static int all_bytes(const void *p, int c, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)c) return 0;
    return 1;
}

static rsv_arena_t *arena(unsigned flags)
{
    dbg.flags = flags;
    rsv_arena_opts_t o = {0};
    o.name = "a";
    o.debug = &dbg;
    rsv_arena_t *a = rsv_arena_create(&o);
    cr_assert_not_null(a);
    return a;
}

static rsv_pool_t *pool(unsigned flags, size_t block)
{
    dbg.flags = flags;
    rsv_pool_opts_t o = {0};
    o.block_size = block;
    o.name = "p";
    o.debug = &dbg;
    rsv_pool_t *p = rsv_pool_create(&o);
    cr_assert_not_null(p);
    return p;
}

static rsv_heap_t *heap(unsigned flags, unsigned heap_flags)
{
    dbg.flags = flags;
    rsv_heap_opts_t o = {0};
    o.name = "h";
    o.flags = heap_flags;
    o.debug = &dbg;
    rsv_heap_t *h = rsv_heap_create(&o);
    cr_assert_not_null(h);
    return h;
}

/* ---- arena ----------------------------------------------------------------- */

Test(debug_alloc, arena_fill_zero_flag_and_realloc)
{
    rsv_arena_t *a = arena(RSV_DEBUG_FILL | RSV_DEBUG_CANARY);
    unsigned char *p = rsv_arena_alloc(a, 40);
    cr_assert(all_bytes(p, 0xCD, 40));
    unsigned char *z = rsv_arena_calloc(a, 5, 8);
    cr_assert(all_bytes(z, 0, 40));
    memset(p, 3, 40);
    unsigned char *q = rsv_arena_realloc(a, p, 40, 100);
    cr_assert(all_bytes(q, 3, 40));
    cr_assert(all_bytes(q + 40, 0xCD, 60));
    void *al = rsv_arena_alloc_aligned(a, 10, 256);
    cr_assert_eq((uintptr_t)al % 256, 0);
    rsv_arena_destroy(a);
    cr_assert_eq(ngot, 0);
}

Test(debug_alloc, arena_overrun_found_at_pop_to)
{
    rsv_arena_t *a = arena(RSV_DEBUG_CANARY);
    (void)rsv_arena_alloc(a, 16);
    size_t mark = rsv_arena_pos(a);
    char *p = rsv_arena_alloc(a, 24);
    p[24] = 1;
    rsv_arena_pop_to(a, mark);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_OVERRUN);
    cr_assert_eq(got[0].block, p);
    cr_assert_eq(got[0].size, 24);
    cr_assert_eq(got[0].offset, 24);
    cr_assert(strstr(got[0].text, "reservoir: overrun: arena \"a\": block "), "%s", got[0].text);
    cr_assert(strstr(got[0].text, "reservoir:   reclaimed at 0x"), "%s", got[0].text);
    rsv_arena_destroy(a);
    cr_assert_eq(ngot, 1);
}

Test(debug_alloc, arena_write_after_temp_end_found_when_memory_is_reused, .exit_code = DBG_ASAN)
{
    rsv_arena_t *a = arena(RSV_DEBUG_QUARANTINE);
    rsv_temp_t t = rsv_temp_begin(a);
    char *p = rsv_arena_alloc(a, 64);
    rsv_temp_end(t);
    volatile char *v = p;
    v[10] = 7; /* the bug (ASan stops here) */
    cr_assert_eq(v[0], (char)RSV_DEBUG_FREE_BYTE);
    (void)rsv_arena_alloc(a, 128);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_USE_AFTER_FREE);
    cr_assert_eq(got[0].block, p);
    cr_assert_eq(got[0].offset, 10);
    rsv_arena_destroy(a);
}

Test(debug_alloc, arena_leaks_at_destroy_and_none_after_reset)
{
    rsv_arena_t *a = arena(RSV_DEBUG_LEAKS);
    (void)rsv_arena_alloc(a, 10);
    (void)rsv_arena_alloc(a, 20);
    rsv_arena_reset(a);
    (void)rsv_arena_alloc(a, 30);
    rsv_arena_destroy(a);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_LEAK);
    cr_assert_eq(got[0].leak_blocks, 1);
    cr_assert_eq(got[0].leak_bytes, 30);
    cr_assert(strstr(got[0].text, "reservoir: leak: arena \"a\": 1 block, 30 bytes still allocated at destroy"),
              "%s", got[0].text);
}

static int oom_calls;
static size_t oom_size;
static void on_oom(void *user, const char *allocator, const char *name, size_t size)
{
    (void)user;
    (void)name;
    cr_assert_str_eq(allocator, "arena");
    oom_calls++;
    oom_size = size;
}

Test(debug_alloc, arena_oom_policy_without_decoration_keeps_the_fast_path)
{
    dbg.oom = RSV_OOM_CALL;
    dbg.oom_handler.fn = on_oom;
    rsv_arena_opts_t o = {0};
    o.reserve = (size_t)1 << 20;
    o.debug = &dbg;
    rsv_arena_t *a = rsv_arena_create(&o);
    cr_assert_not_null(a);
    cr_assert_eq(a->slow & RSVI_ARENA_SLOW_DEBUG, 0, "an OOM policy alone must not force the slow path");
    cr_assert_null(rsv_arena_alloc(a, (size_t)2 << 20));
    cr_assert_eq(oom_calls, 1);
    cr_assert_eq(oom_size, (size_t)2 << 20);
    cr_assert_not_null(rsv_arena_alloc(a, 100));
    rsv_arena_destroy(a);
}

Test(debug_alloc, arena_guard_overrun_faults, .signal = SIGSEGV)
{
    rsv_arena_t *a = arena(RSV_DEBUG_GUARD);
    volatile char *p = rsv_arena_alloc(a, 48);
    p[48] = 1;
}

/* ---- pool ------------------------------------------------------------------- */

Test(debug_alloc, pool_overrun_double_free_and_owns)
{
    rsv_pool_t *p = pool(RSV_DEBUG_CANARY | RSV_DEBUG_QUARANTINE, 40);
    char *b = rsv_pool_alloc(p);
    cr_assert(rsv_pool_owns(p, b));
    b[40] = 1;
    rsv_pool_free(p, b);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_OVERRUN);
    cr_assert_eq(got[0].size, 40);
    cr_assert(!rsv_pool_owns(p, b));
    rsv_pool_free(p, b);
    cr_assert_eq(ngot, 2);
    cr_assert_eq(got[1].kind, RSV_BUG_DOUBLE_FREE);
    cr_assert_eq(got[1].block, b);
    rsv_pool_destroy(p);
}

Test(debug_alloc, pool_write_after_reset_found_when_slot_is_reused, .exit_code = DBG_ASAN)
{
    rsv_pool_t *p = pool(RSV_DEBUG_QUARANTINE, 64);
    char *b = rsv_pool_alloc(p);
    rsv_pool_reset(p);
    volatile char *v = b;
    v[5] = 1; /* the bug (ASan stops here) */
    cr_assert_eq(v[0], (char)RSV_DEBUG_FREE_BYTE);
    (void)rsv_pool_alloc(p); /* carving restarts at the first slot */
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_USE_AFTER_FREE);
    cr_assert_eq(got[0].block, b);
    cr_assert_eq(got[0].offset, 5);
    rsv_pool_destroy(p);
}

Test(debug_alloc, pool_leaks_and_blocks_keep_their_alignment)
{
    rsv_pool_t *p = pool(RSV_DEBUG_LEAKS | RSV_DEBUG_CANARY, 32);
    void *k[3];
    for (int i = 0; i < 3; i++) {
        k[i] = rsv_pool_alloc(p);
        cr_assert_eq((uintptr_t)k[i] % 16, 0);
    }
    rsv_pool_free(p, k[1]);
    rsv_pool_destroy(p);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_LEAK);
    cr_assert_eq(got[0].leak_blocks, 2);
    cr_assert_eq(got[0].leak_bytes, 64);
}

Test(debug_alloc, pool_guard_underrun_faults, .signal = SIGSEGV)
{
    rsv_pool_t *p = pool(RSV_DEBUG_GUARD | RSV_DEBUG_GUARD_UNDER, 48);
    volatile char *b = rsv_pool_alloc(p);
    b[-1] = 1;
}

/* ---- heap ------------------------------------------------------------------- */

Test(debug_alloc, heap_usable_validate_and_routing)
{
    rsv_heap_t *h = heap(RSV_DEBUG_FILL | RSV_DEBUG_CANARY | RSV_DEBUG_QUARANTINE, 0);
    char *p = rsv_heap_alloc(h, 30);
    cr_assert(all_bytes(p, 0xCD, 30));
    cr_assert_eq(rsv_heap_usable_size(h, p), 30);
    cr_assert_eq(rsv_heap_of(p), h);
    cr_assert_eq(rsv_heap_validate(h, NULL, NULL, 0), 0);
    cr_assert_eq(rsv_heap_validate(h, p, NULL, 0), 0);
    p[30] = 1;
    char msg[128];
    cr_assert_neq(rsv_heap_validate(h, p, msg, sizeof msg), 0);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_OVERRUN);
    p[30] = (char)RSV_DEBUG_CANARY_BYTE; /* repaired */
    cr_assert_eq(rsv_heap_validate(h, NULL, NULL, 0), 0);
    cr_assert_eq(rsv_heap_expand(h, p, 20), p);
    cr_assert_null(rsv_heap_expand(h, p, 31));
    rsv_free(p); /* the malloc face finds a decorated block of any heap */
    cr_assert_eq(ngot, 1);
    cr_assert(all_bytes(p, 0xDD, 30));
    rsv_heap_free(h, p);
    cr_assert_eq(ngot, 2);
    cr_assert_eq(got[1].kind, RSV_BUG_DOUBLE_FREE);
    rsv_heap_destroy(h);
}

Test(debug_alloc, heap_zero_flag_calloc_and_realloc_growth)
{
    rsv_heap_t *h = heap(RSV_DEBUG_FILL, RSV_HEAP_ZERO);
    unsigned char *p = rsv_heap_alloc(h, 20);
    cr_assert(all_bytes(p, 0, 20));
    memset(p, 9, 20);
    p = rsv_heap_realloc(h, p, 50);
    cr_assert(all_bytes(p, 9, 20));
    cr_assert(all_bytes(p + 20, 0, 30));
    rsv_heap_free(h, p);
    rsv_heap_destroy(h);

    h = heap(RSV_DEBUG_FILL, 0);
    unsigned char *c = rsv_heap_calloc(h, 4, 10);
    cr_assert(all_bytes(c, 0, 40));
    unsigned char *q = rsv_heap_alloc_aligned(h, 10, 4096);
    cr_assert_eq((uintptr_t)q % 4096, 0);
    cr_assert(all_bytes(q, 0xCD, 10));
    rsv_heap_free(h, c);
    rsv_heap_free(h, q);
    rsv_heap_destroy(h);
    cr_assert_eq(ngot, 0);
}

Test(debug_alloc, heap_interior_and_foreign_frees_refused)
{
    rsv_heap_t *h = heap(RSV_DEBUG_FILL, 0);
    char *p = rsv_heap_alloc(h, 64);
    rsv_heap_free(h, p + 8);
    cr_assert_eq(got[0].kind, RSV_BUG_INTERIOR_FREE);
    cr_assert_eq(got[0].block, p);
    static char other[32];
    rsv_heap_free(h, other);
    cr_assert_eq(got[1].kind, RSV_BUG_INVALID_FREE);
    cr_assert_eq(rsv_heap_usable_size(h, p), 64); /* still allocated */
    rsv_heap_free(h, p);
    cr_assert_eq(ngot, 2);
    rsv_heap_destroy(h);
}

Test(debug_alloc, heap_leak_report_names_heap_and_site)
{
    rsv_heap_t *h = heap(RSV_DEBUG_LEAKS, 0);
    void *p = rsv_heap_alloc(h, 99);
    rsv_heap_free(h, rsv_heap_alloc(h, 5));
    rsv_heap_destroy(h);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_LEAK);
    cr_assert_eq(got[0].block, p);
    cr_assert_eq(got[0].size, 99);
    cr_assert_not_null(got[0].alloc_site);
    cr_assert(strstr(got[0].text, "reservoir: leak: heap \"h\": 1 block, 99 bytes still allocated at destroy"),
              "%s", got[0].text);
}

static int heap_oom_calls;
static void on_heap_oom(void *user, const char *allocator, const char *name, size_t size)
{
    (void)user;
    (void)size;
    cr_assert_str_eq(allocator, "heap");
    cr_assert_str_eq(name, "capped");
    heap_oom_calls++;
}

Test(debug_alloc, heap_oom_policy_alone_and_with_decoration)
{
    for (int decorate = 0; decorate <= 1; decorate++) {
        dbg.flags = decorate ? RSV_DEBUG_CANARY : 0;
        dbg.oom = RSV_OOM_CALL;
        dbg.oom_handler.fn = on_heap_oom;
        rsv_heap_opts_t o = {0};
        o.name = "capped";
        o.max_size = (size_t)1 << 20;
        o.debug = &dbg;
        rsv_heap_t *h = rsv_heap_create(&o);
        cr_assert_not_null(h);
        heap_oom_calls = 0;
        cr_assert_null(rsv_heap_alloc(h, (size_t)4 << 20));
        cr_assert_eq(heap_oom_calls, 1);
        void *p = rsv_heap_alloc(h, 100);
        cr_assert_not_null(p);
        rsv_heap_free(h, p);
        rsv_heap_destroy(h);
    }
}

Test(debug_alloc, heap_oom_abort, .signal = SIGABRT)
{
    dbg.oom = RSV_OOM_ABORT;
    dbg.report.fn = NULL; /* the one line goes to stderr */
    rsv_heap_opts_t o = {0};
    o.max_size = (size_t)1 << 20;
    o.debug = &dbg;
    rsv_heap_t *h = rsv_heap_create(&o);
    (void)rsv_heap_alloc(h, (size_t)4 << 20);
}

Test(debug_alloc, heap_guard_use_after_free_faults, .signal = SIGSEGV)
{
    rsv_heap_t *h = heap(RSV_DEBUG_GUARD | RSV_DEBUG_QUARANTINE, 0);
    volatile char *p = rsv_heap_alloc(h, 100);
    rsv_free((void *)p); /* guard blocks of an explicit heap are found too */
    p[0] = 1;
}

Test(debug_alloc, heap_debug_off_is_plain)
{
    rsv_heap_t *h = heap(0, 0); /* empty options: no state at all */
    char *p = rsv_heap_alloc(h, 24);
    p[24] = 1; /* not checked: nothing is switched on */
    rsv_heap_free(h, p);
    rsv_heap_destroy(h);
    cr_assert_eq(ngot, 0);
    cr_assert_eq(rsv_debug_available(), RSV_CHECKS >= 1);
}
