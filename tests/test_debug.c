/* tests/test_debug.c — the debug layer on its own (suite "debug"): block
 * decoration over two test backends (libc malloc, like the heap; a bump
 * buffer that reclaims in bulk, like an arena or a pool reset), each of the
 * article's five errors, the report format and the OOM policies.  The
 * allocators' own debug tests live in tests/test_debug_alloc.c.
 *
 * Guard-page tests die with SIGSEGV.  ASan intercepts SIGSEGV to print its
 * own report, so this program tells it not to (handle_segv=0): the fault
 * then reaches Criterion as the signal, in every build.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <malloc.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "debug/dbg.h"
#include "internal.h"
#include "reservoir/debug.h"
#include "reservoir/vm.h"

const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "handle_segv=0:allow_user_segv_handler=1"; }

/* ---- backends ------------------------------------------------------------ */

static int be_fail; /* 1: the backend refuses */

/* The libc backend remembers its blocks so that the suite's fini releases
 * what a destroy leaves, as an allocator releasing its regions would. */
#define BE_MAX 8192
static void *be_blocks[BE_MAX];
static pthread_mutex_t be_mu = PTHREAD_MUTEX_INITIALIZER;

static void *be_libc_alloc(void *ctx, size_t size, size_t align)
{
    (void)ctx;
    if (be_fail) return NULL;
    void *p = NULL;
    if (align < sizeof(void *)) align = sizeof(void *);
    if (posix_memalign(&p, align, size) != 0) return NULL;
    pthread_mutex_lock(&be_mu);
    for (size_t i = 0; i < BE_MAX; i++)
        if (!be_blocks[i]) { be_blocks[i] = p; break; }
    pthread_mutex_unlock(&be_mu);
    return p;
}
static void be_libc_free(void *ctx, void *raw)
{
    (void)ctx;
    pthread_mutex_lock(&be_mu);
    for (size_t i = 0; i < BE_MAX; i++)
        if (be_blocks[i] == raw) { be_blocks[i] = NULL; break; }
    pthread_mutex_unlock(&be_mu);
    free(raw);
}
static void be_release_all(void)
{
    for (size_t i = 0; i < BE_MAX; i++) {
        free(be_blocks[i]);
        be_blocks[i] = NULL;
    }
}
static size_t be_libc_usable(void *ctx, const void *p)
{
    (void)ctx;
    size_t n = 0;
    pthread_mutex_lock(&be_mu);
    for (size_t i = 0; i < BE_MAX && !n; i++)
        if (be_blocks[i] == p) n = 1;
    pthread_mutex_unlock(&be_mu);
    return n ? malloc_usable_size((void *)p) : 0;
}
static const rsvi_dbg_backend_t be_libc = {be_libc_alloc, be_libc_free, NULL, 0, NULL, 0, 0};
/* The same, able to recognise its own plain blocks (as the heap can). */
static const rsvi_dbg_backend_t be_libc_owning = {be_libc_alloc, be_libc_free, NULL, 0, be_libc_usable, 0, 0};

/* A bump buffer: the "arena". */
static _Alignas(64) unsigned char bump_buf[1 << 16];
static size_t bump_pos;
static void *be_bump_alloc(void *ctx, size_t size, size_t align)
{
    (void)ctx;
    size_t p = (bump_pos + align - 1) & ~(align - 1);
    if (be_fail || p + size > sizeof bump_buf) return NULL;
    bump_pos = p + size;
    return bump_buf + p;
}
static const rsvi_dbg_backend_t be_bump = {be_bump_alloc, NULL, NULL,
                                           RSVI_DBG_BE_RECLAIMS | RSVI_DBG_BE_ANCHOR, NULL, 0, 0};

/* ---- report capture ------------------------------------------------------- */

#define MAX_REPORTS 8
static rsv_debug_report_t got[MAX_REPORTS];
static char got_text[MAX_REPORTS][4096];
static int ngot;

static void capture(void *user, const rsv_debug_report_t *r)
{
    (void)user;
    if (ngot < MAX_REPORTS) {
        got[ngot] = *r;
        size_t n = r->text_len < 4095 ? r->text_len : 4095;
        memcpy(got_text[ngot], r->text, n);
        got_text[ngot][n] = '\0';
        got[ngot].text = got_text[ngot];
    }
    ngot++;
}

static void reset_capture(void)
{
    ngot = 0;
    be_fail = 0;
    bump_pos = 0;
    memset(got, 0, sizeof got);
}

static rsvi_dbg_t *make(unsigned flags, const rsvi_dbg_backend_t *be)
{
    rsv_debug_opts_t o;
    memset(&o, 0, sizeof o);
    o.flags = flags;
    o.report.fn = capture;
    rsvi_dbg_t *d = rsvi_dbg_create(&o, be, "heap", "t");
    cr_assert_not_null(d);
    return d;
}

#define SITE_A ((const void *)0x1000a)
#define SITE_F ((const void *)0x1000f)
#define SITE_G ((const void *)0x1000b)

static int all_bytes(const void *p, int c, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)c) return 0;
    return 1;
}

TestSuite(debug, .init = reset_capture, .fini = be_release_all, .timeout = 30);

/* ---- 2. uninitialised reads: fill ------------------------------------------ */

Test(debug, fill_new_blocks_cd_and_zeroing_variant_zero)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_FILL, &be_libc);
    unsigned char *p = rsvi_dbg_alloc(d, 100, 0, 0, SITE_A);
    cr_assert(all_bytes(p, 0xCD, 100));
    unsigned char *z = rsvi_dbg_alloc(d, 100, 0, 1, SITE_A);
    cr_assert(all_bytes(z, 0, 100));
    cr_assert_eq((uintptr_t)p % 16, 0);
    cr_assert_eq(rsvi_dbg_usable(d, p), 100);
    cr_assert_eq(rsvi_dbg_free(d, p, SITE_F), 0);
    cr_assert_eq(rsvi_dbg_free(d, z, SITE_F), 0);
    cr_assert_eq(rsvi_dbg_destroy(d, NULL), 0);
    cr_assert_eq(ngot, 0);
}

Test(debug, realloc_keeps_bytes_and_fills_growth)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_FILL | RSV_DEBUG_CANARY, &be_libc);
    unsigned char *p = rsvi_dbg_alloc(d, 8, 0, 0, SITE_A);
    memset(p, 7, 8);
    unsigned char *q = rsvi_dbg_realloc(d, p, 32, SITE_A);
    cr_assert_not_null(q);
    cr_assert(all_bytes(q, 7, 8));
    cr_assert(all_bytes(q + 8, 0xCD, 24));
    cr_assert_eq(rsvi_dbg_usable(d, q), 32);
    cr_assert_eq(rsvi_dbg_usable(d, p), 0);
    cr_assert_eq(rsvi_dbg_free(d, q, SITE_F), 0);
    rsvi_dbg_destroy(d, NULL);
    cr_assert_eq(ngot, 0);
}

Test(debug, aligned_blocks_keep_alignment_with_canaries)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_CANARY, &be_libc);
    for (size_t a = 1; a <= 4096; a *= 2) {
        void *p = rsvi_dbg_alloc(d, 40, a, 0, SITE_A);
        cr_assert_eq((uintptr_t)p % a, 0, "align %zu", a);
        cr_assert_eq(rsvi_dbg_free(d, p, SITE_F), 0);
    }
    rsvi_dbg_destroy(d, NULL);
    cr_assert_eq(ngot, 0);
}

/* ---- 3. overruns and underruns: canaries ----------------------------------- */

Test(debug, overrun_reported_on_free_with_block_size_offset_and_sites)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_CANARY, &be_libc);
    char *p = rsvi_dbg_alloc(d, 24, 0, 0, SITE_A);
    p[24] = 'x'; /* off by one */
    cr_assert_eq(rsvi_dbg_free(d, p, SITE_F), 0);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_OVERRUN);
    cr_assert_eq(got[0].block, p);
    cr_assert_eq(got[0].size, 24);
    cr_assert_eq(got[0].offset, 24);
    cr_assert_eq(got[0].alloc_site, SITE_A);
    cr_assert_eq(got[0].site, SITE_F);
    char head[128];
    snprintf(head, sizeof head, "reservoir: overrun: heap \"t\": block %p size 24: ", (void *)p);
    cr_assert(strncmp(got[0].text, head, strlen(head)) == 0, "%s", got[0].text);
    cr_assert(strstr(got[0].text, "(offset +24)"));
    cr_assert(strstr(got[0].text, "reservoir:   allocated at 0x1000a\n"), "%s", got[0].text);
    cr_assert(strstr(got[0].text, "reservoir:   freed at 0x1000f\n"), "%s", got[0].text);
    rsvi_dbg_destroy(d, NULL);
}

Test(debug, underrun_reported_with_negative_offset)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_CANARY, &be_libc);
    char *p = rsvi_dbg_alloc(d, 10, 0, 0, SITE_A);
    p[-3] = 0;
    cr_assert_eq(rsvi_dbg_free(d, p, SITE_F), 0);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_UNDERRUN);
    cr_assert_eq(got[0].offset, -3);
    cr_assert(strstr(got[0].text, "reservoir: underrun: "));
    rsvi_dbg_destroy(d, NULL);
}

Test(debug, validate_and_realloc_and_destroy_check_canaries)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_CANARY, &be_libc);
    char *p = rsvi_dbg_alloc(d, 16, 0, 0, SITE_A);
    char *q = rsvi_dbg_alloc(d, 16, 0, 0, SITE_A);
    char *r = rsvi_dbg_alloc(d, 16, 0, 0, SITE_A);
    cr_assert_eq(rsvi_dbg_validate(d, NULL, SITE_G), 0);
    p[16] = 1;
    cr_assert_eq(rsvi_dbg_validate(d, p, SITE_G), RSV_BUG_OVERRUN);
    cr_assert_eq(rsvi_dbg_validate(d, q, SITE_G), 0);
    cr_assert_eq(rsvi_dbg_validate(d, (char *)q + 1, SITE_G), RSV_BUG_INVALID_FREE);
    cr_assert_eq(ngot, 1);
    q[20] = 1;
    cr_assert_not_null(rsvi_dbg_realloc(d, q, 100, SITE_G));
    cr_assert_eq(ngot, 2);
    cr_assert_eq(got[1].kind, RSV_BUG_OVERRUN);
    cr_assert_eq(got[1].block, q);
    r[-1] = 1;
    /* p's canary was rewritten after its report: only r is reported now. */
    rsvi_dbg_destroy(d, SITE_G);
    cr_assert_eq(ngot, 3);
    cr_assert_eq(got[2].kind, RSV_BUG_UNDERRUN);
    cr_assert_eq(got[2].block, r);
}

Test(debug, abort_flag_aborts_after_the_report, .signal = SIGABRT)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_CANARY | RSV_DEBUG_ABORT, &be_libc);
    char *p = rsvi_dbg_alloc(d, 16, 0, 0, SITE_A);
    p[16] = 1;
    rsvi_dbg_free(d, p, SITE_F);
}

/* ---- 3. overruns: guard pages ---------------------------------------------- */

Test(debug, guard_block_touches_an_inaccessible_page)
{
    for (int exact = 0; exact <= 1; exact++) {
        rsvi_dbg_t *d = make(RSV_DEBUG_GUARD | (exact ? RSV_DEBUG_GUARD_EXACT : 0), &be_libc);
        size_t sizes[] = {0, 1, 13, 16, 24, 100, 4096, 5000};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            char *p = rsvi_dbg_alloc(d, sizes[i], 0, 0, SITE_A);
            cr_assert_not_null(p);
            memset(p, 1, sizes[i]);
            /* 16-byte aligned (malloc's promise), or with GUARD_EXACT the
             * natural alignment of the size: the aligned end is the guard. */
            size_t n = sizes[i] ? sizes[i] : 1;
            size_t a = 16;
            while (exact && a > 1 && (n & (a - 1))) a >>= 1;
            cr_assert_eq((uintptr_t)p % a, 0);
            size_t span = (n + a - 1) & ~(a - 1);
            rsv_vm_info_t info;
            cr_assert_eq(rsv_vm_query(p + span, &info), 0);
            cr_assert_neq(info.state, RSV_VM_COMMITTED, "size %zu", sizes[i]);
            cr_assert_eq(rsv_vm_query(p + span - 1, &info), 0);
            cr_assert_eq(info.state, RSV_VM_COMMITTED, "size %zu", sizes[i]);
            cr_assert_eq(rsvi_dbg_free(d, p, SITE_F), 0);
        }
        rsvi_dbg_destroy(d, NULL);
    }
    cr_assert_eq(ngot, 0);
}

Test(debug, guard_overrun_faults_at_the_write, .signal = SIGSEGV)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_GUARD, &be_libc);
    volatile char *p = rsvi_dbg_alloc(d, 32, 0, 0, SITE_A);
    p[32] = 'x';
}

Test(debug, guard_exact_overrun_of_an_odd_size_faults, .signal = SIGSEGV)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_GUARD | RSV_DEBUG_GUARD_EXACT, &be_libc);
    volatile char *p = rsvi_dbg_alloc(d, 13, 0, 0, SITE_A);
    p[13] = 'x';
}

Test(debug, guard_overrun_into_the_alignment_slack_reported_on_free)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_GUARD, &be_libc);
    char *p = rsvi_dbg_alloc(d, 13, 0, 0, SITE_A);
    p[13] = 'x'; /* lands in the 3 bytes before the guard */
    rsvi_dbg_free(d, p, SITE_F);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_OVERRUN);
    cr_assert_eq(got[0].offset, 13);
    rsvi_dbg_destroy(d, NULL);
}

Test(debug, guard_under_underrun_faults, .signal = SIGSEGV)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_GUARD | RSV_DEBUG_GUARD_UNDER, &be_libc);
    volatile char *p = rsvi_dbg_alloc(d, 64, 0, 0, SITE_A);
    p[-1] = 'x';
}

Test(debug, guard_use_after_free_faults, .signal = SIGSEGV)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_GUARD | RSV_DEBUG_QUARANTINE, &be_libc);
    volatile char *p = rsvi_dbg_alloc(d, 64, 0, 0, SITE_A);
    rsvi_dbg_free(d, (void *)p, SITE_F);
    p[0] = 'x';
}

Test(debug, guard_slack_checked_like_a_canary)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_GUARD, &be_libc);
    char *p = rsvi_dbg_alloc(d, 13, 16, 0, SITE_A); /* explicit alignment: 3 bytes slack */
    cr_assert_eq((uintptr_t)p % 16, 0);
    p[14] = 1;
    rsvi_dbg_free(d, p, SITE_F);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_OVERRUN);
    cr_assert_eq(got[0].offset, 14);
    rsvi_dbg_destroy(d, NULL);
}

/* ---- 5. use after free, double / invalid / interior free -------------------- */

Test(debug, freed_block_reads_dd_while_quarantined)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_QUARANTINE, &be_libc);
    unsigned char *p = rsvi_dbg_alloc(d, 64, 0, 0, SITE_A);
    rsvi_dbg_free(d, p, SITE_F);
    cr_assert(all_bytes(p, 0xDD, 64));
    size_t q;
    rsvi_dbg_counts(d, NULL, NULL, &q);
    cr_assert_eq(q, 1);
    rsvi_dbg_destroy(d, NULL);
    cr_assert_eq(ngot, 0);
}

Test(debug, write_after_free_reported_when_block_leaves_quarantine)
{
    rsv_debug_opts_t o;
    memset(&o, 0, sizeof o);
    o.flags = RSV_DEBUG_QUARANTINE | RSV_DEBUG_CANARY;
    o.quarantine_blocks = 2;
    o.report.fn = capture;
    rsvi_dbg_t *d = rsvi_dbg_create(&o, &be_libc, "heap", "t");
    char *p = rsvi_dbg_alloc(d, 32, 0, 0, SITE_A);
    rsvi_dbg_free(d, p, SITE_F);
    p[5] = 42; /* the bug */
    for (int i = 0; i < 3; i++) rsvi_dbg_free(d, rsvi_dbg_alloc(d, 8, 0, 0, SITE_A), SITE_F);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_USE_AFTER_FREE);
    cr_assert_eq(got[0].block, p);
    cr_assert_eq(got[0].size, 32);
    cr_assert_eq(got[0].offset, 5);
    cr_assert_eq(got[0].alloc_site, SITE_A);
    cr_assert_eq(got[0].free_site, SITE_F);
    cr_assert(strstr(got[0].text, "reservoir: use-after-free: heap \"t\": block "), "%s", got[0].text);
    rsvi_dbg_destroy(d, NULL);
}

Test(debug, quarantine_byte_bound_evicts)
{
    rsv_debug_opts_t o;
    memset(&o, 0, sizeof o);
    o.flags = RSV_DEBUG_QUARANTINE;
    o.quarantine_bytes = 1000;
    o.report.fn = capture;
    rsvi_dbg_t *d = rsvi_dbg_create(&o, &be_libc, "heap", "t");
    for (int i = 0; i < 50; i++) rsvi_dbg_free(d, rsvi_dbg_alloc(d, 100, 0, 0, SITE_A), SITE_F);
    size_t q;
    rsvi_dbg_counts(d, NULL, NULL, &q);
    cr_assert_leq(q, 10);
    cr_assert_geq(q, 9);
    rsvi_dbg_destroy(d, NULL);
    cr_assert_eq(ngot, 0);
}

Test(debug, double_free_reported_with_both_sites)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_QUARANTINE, &be_libc);
    void *p = rsvi_dbg_alloc(d, 48, 0, 0, SITE_A);
    cr_assert_eq(rsvi_dbg_free(d, p, SITE_F), 0);
    cr_assert_eq(rsvi_dbg_free(d, p, SITE_G), RSV_BUG_DOUBLE_FREE);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_DOUBLE_FREE);
    cr_assert_eq(got[0].block, p);
    cr_assert_eq(got[0].size, 48);
    cr_assert_eq(got[0].alloc_site, SITE_A);
    cr_assert_eq(got[0].free_site, SITE_F);
    cr_assert_eq(got[0].site, SITE_G);
    cr_assert(strstr(got[0].text, "reservoir:   freed at 0x1000f\nreservoir:   freed again at 0x1000b\n"),
              "%s", got[0].text);
    cr_assert_null(rsvi_dbg_realloc(d, p, 10, SITE_G));
    cr_assert_eq(ngot, 2);
    rsvi_dbg_destroy(d, NULL);
}

Test(debug, foreign_and_interior_frees_reported_and_ignored)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_FILL, &be_libc);
    char *p = rsvi_dbg_alloc(d, 48, 0, 0, SITE_A);
    static char not_ours[16];
    cr_assert_eq(rsvi_dbg_free(d, not_ours, SITE_F), RSV_BUG_INVALID_FREE);
    cr_assert_eq(got[0].kind, RSV_BUG_INVALID_FREE);
    cr_assert_eq(got[0].addr, not_ours);
    cr_assert_null(got[0].block);
    cr_assert(strstr(got[0].text, "reservoir: invalid-free: heap \"t\": pointer 0x"));
    cr_assert_eq(rsvi_dbg_free(d, p + 8, SITE_F), RSV_BUG_INTERIOR_FREE);
    cr_assert_eq(got[1].kind, RSV_BUG_INTERIOR_FREE);
    cr_assert_eq(got[1].block, p);
    cr_assert_eq(got[1].offset, 8);
    cr_assert_eq(got[1].alloc_site, SITE_A);
    cr_assert(rsvi_dbg_owns(d, p)); /* nothing was freed */
    cr_assert_eq(rsvi_dbg_free(d, p, SITE_F), 0);
    rsvi_dbg_destroy(d, NULL);
    cr_assert_eq(ngot, 2);
}

/* ---- reclaiming backends (arena pop, pool reset) --------------------------- */

Test(debug, reclaimed_block_written_then_reused_is_reported)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_CANARY | RSV_DEBUG_QUARANTINE, &be_bump);
    char *a = rsvi_dbg_alloc(d, 64, 0, 0, SITE_A);
    char *b = rsvi_dbg_alloc(d, 64, 0, 0, SITE_A);
    cr_assert_not_null(b);
    rsvi_dbg_reclaim(d, bump_buf, bump_buf + sizeof bump_buf, SITE_F); /* arena reset */
    bump_pos = 0;
    cr_assert_eq(ngot, 0);
    cr_assert(all_bytes(a, 0xDD, 64));
    a[40] = 1; /* dangling pointer used after the reset */
    char *c = rsvi_dbg_alloc(d, 200, 0, 0, SITE_G);
    cr_assert_not_null(c);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_USE_AFTER_FREE);
    cr_assert_eq(got[0].block, a);
    cr_assert_eq(got[0].offset, 40);
    cr_assert_eq(got[0].free_site, SITE_F);
    rsvi_dbg_destroy(d, NULL);
}

Test(debug, reclaim_checks_canaries_of_live_blocks_in_range_only)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_CANARY, &be_bump);
    char *a = rsvi_dbg_alloc(d, 16, 0, 0, SITE_A);
    size_t mark = bump_pos;
    char *b = rsvi_dbg_alloc(d, 16, 0, 0, SITE_A);
    b[16] = 1;
    rsvi_dbg_reclaim(d, bump_buf + mark, bump_buf + sizeof bump_buf, SITE_F); /* pop_to(mark) */
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_OVERRUN);
    cr_assert_eq(got[0].block, b);
    cr_assert(rsvi_dbg_owns(d, a));
    cr_assert(!rsvi_dbg_owns(d, b));
    rsvi_dbg_destroy(d, NULL);
}

Test(debug, guard_blocks_with_anchor_are_reclaimed_by_range)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_GUARD, &be_bump);
    char *a = rsvi_dbg_alloc(d, 16, 0, 0, SITE_A);
    cr_assert_eq(bump_pos, 1); /* the anchor byte */
    rsvi_dbg_reclaim(d, bump_buf, bump_buf + 1, SITE_F);
    cr_assert(!rsvi_dbg_owns(d, a));
    rsv_vm_info_t info;
    cr_assert_eq(rsv_vm_query(a, &info), 0);
    cr_assert_neq(info.state, RSV_VM_COMMITTED);
    rsvi_dbg_destroy(d, NULL);
    cr_assert_eq(ngot, 0);
}

Test(debug, plain_blocks_from_before_the_switch_are_freed_quietly)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_QUARANTINE | RSV_DEBUG_CANARY, &be_libc_owning);
    char *early = be_libc_alloc(NULL, 40, 16); /* made before debug was on */
    char *early2 = be_libc_alloc(NULL, 40, 16);
    memset(early2, 9, 40);
    cr_assert_eq(rsvi_dbg_free(d, early, SITE_F), 0);
    char *moved = rsvi_dbg_realloc(d, early2, 80, SITE_A);
    cr_assert_not_null(moved);
    cr_assert(all_bytes(moved, 9, 40));
    cr_assert_eq(rsvi_dbg_usable(d, moved), 80);
    cr_assert_eq(rsvi_dbg_free(d, moved, SITE_F), 0);
    cr_assert_eq(ngot, 0);
    static char foreign[8];
    cr_assert_eq(rsvi_dbg_free(d, foreign, SITE_F), RSV_BUG_INVALID_FREE);
    rsvi_dbg_destroy(d, NULL);
}

/* ---- 4. leaks ----------------------------------------------------------- */

Test(debug, no_leak_no_report)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_LEAKS, &be_libc);
    rsvi_dbg_free(d, rsvi_dbg_alloc(d, 10, 0, 0, SITE_A), SITE_F);
    cr_assert_eq(rsvi_dbg_destroy(d, NULL), 0);
    cr_assert_eq(ngot, 0);
}

Test(debug, leaks_grouped_by_site_largest_first)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_LEAKS, &be_libc);
    void *small = rsvi_dbg_alloc(d, 10, 0, 0, SITE_A);
    void *big1 = rsvi_dbg_alloc(d, 100, 0, 0, SITE_G);
    void *big2 = rsvi_dbg_alloc(d, 100, 0, 0, SITE_G);
    rsvi_dbg_free(d, rsvi_dbg_alloc(d, 1000, 0, 0, SITE_F), SITE_F);
    cr_assert_eq(rsvi_dbg_destroy(d, NULL), 3);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_LEAK);
    cr_assert_eq(got[0].leak_blocks, 3);
    cr_assert_eq(got[0].leak_bytes, 210);
    cr_assert_eq(got[0].leak_sites, 2);
    cr_assert_eq(got[0].alloc_site, SITE_G);
    cr_assert(got[0].block == big1 || got[0].block == big2);
    const char *t = got[0].text;
    cr_assert(strncmp(t, "reservoir: leak: heap \"t\": 3 blocks, 210 bytes still allocated at destroy from 2 sites\n",
                      strlen("reservoir: leak: heap \"t\": 3 blocks, 210 bytes still allocated at destroy from 2 sites\n")) == 0,
              "%s", t);
    const char *g = strstr(t, "reservoir:   200 bytes in 2 blocks allocated at 0x1000b, first block ");
    const char *a = strstr(t, "reservoir:   10 bytes in 1 block allocated at 0x1000a, first block ");
    cr_assert(g && a && g < a, "%s", t);
    char blk[64];
    snprintf(blk, sizeof blk, "first block %p size 10\n", small);
    cr_assert(strstr(t, blk), "%s", t);
}

static void *__attribute__((noinline)) leak_here(rsvi_dbg_t *d)
{
    return rsvi_dbg_alloc(d, 77, 0, 0, RSVI_DBG_SITE());
}

Test(debug, leak_report_with_backtrace)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_LEAKS | RSV_DEBUG_BACKTRACE, &be_libc);
    void *p = leak_here(d);
    cr_assert_not_null(p);
    rsvi_dbg_destroy(d, NULL);
    cr_assert_eq(ngot, 1);
    cr_assert(strstr(got[0].text, "77 bytes in 1 block allocated at 0x"), "%s", got[0].text);
    cr_assert(strstr(got[0].text, "reservoir:     #0 0x"), "%s", got[0].text);
    cr_assert(strstr(got[0].text, "reservoir:     #1 0x"), "%s", got[0].text);
    cr_assert(strstr(got[0].text, "+0x"), "%s", got[0].text); /* (module+0xoffset) */
}

Test(debug, exit_report_leaves_out_the_c_runtime)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_LEAKS, &be_libc);
#ifdef __GLIBC__
    /* A site inside libc (a function no sanitizer intercepts). */
    rsvi_dbg_alloc(d, 1024, 0, 0, (const void *)&gnu_get_libc_version);
    cr_assert_eq(rsvi_dbg_report_leaks_at_exit(d), 0);
    cr_assert_eq(ngot, 0);
#else
    void *plain = rsvi_dbg_alloc(d, 1024, 0, 0, NULL);
    cr_assert_eq(rsvi_dbg_report_leaks_at_exit(d), 1);
    rsvi_dbg_free(d, plain, NULL);
    ngot = 0;
#endif
    rsvi_dbg_alloc(d, 5, 0, 0, SITE_A);
    cr_assert_eq(rsvi_dbg_report_leaks_at_exit(d), 1);
    cr_assert_eq(ngot, 1);
    cr_assert(strstr(got[0].text, ": 1 block, 5 bytes still allocated at exit from 1 site\n"), "%s", got[0].text);
    cr_assert_geq(rsvi_dbg_report_leaks(d, "now"), 1);
}

Test(debug, rsv_debug_words_map_onto_options)
{
    rsv_debug_opts_t o;
    rsvi_dbg_opts_from_env(0, &o);
    cr_assert_eq(o.flags, 0);
    cr_assert(!rsvi_dbg_wanted(&o));
    rsvi_dbg_opts_from_env(rsvi_env_parse_debug("all"), &o);
    cr_assert_eq(o.flags, RSV_DEBUG_ALL | RSV_DEBUG_ABORT);
    cr_assert_eq(o.oom, RSV_OOM_ABORT);
    rsvi_dbg_opts_from_env(rsvi_env_parse_debug("guard,oom_abort"), &o);
    cr_assert_eq(o.flags, RSV_DEBUG_GUARD | RSV_DEBUG_ABORT);
    rsvi_dbg_opts_from_env(rsvi_env_parse_debug("oom_abort"), &o);
    cr_assert(!rsvi_dbg_wanted(&o)); /* the policy alone does not divert the fast path */
    cr_assert_eq(o.oom, RSV_OOM_ABORT);
}

/* ---- 1. failed allocations: OOM policy ----------------------------------------- */

static size_t oom_size;
static const char *oom_name;
static void on_oom(void *user, const char *allocator, const char *name, size_t size)
{
    (void)allocator;
    *(int *)user += 1;
    oom_size = size;
    oom_name = name;
}

Test(debug, oom_null_handler_and_abort_policies)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_FILL, &be_libc);
    be_fail = 1;
    cr_assert_null(rsvi_dbg_alloc(d, 123, 0, 0, SITE_A));
    cr_assert_eq(ngot, 0);
    rsvi_dbg_destroy(d, NULL);

    int calls = 0;
    rsv_debug_opts_t o;
    memset(&o, 0, sizeof o);
    o.flags = RSV_DEBUG_FILL;
    o.oom = RSV_OOM_CALL;
    o.oom_handler.fn = on_oom;
    o.oom_handler.user = &calls;
    d = rsvi_dbg_create(&o, &be_libc, "heap", "mine");
    cr_assert_null(rsvi_dbg_alloc(d, 456, 0, 0, SITE_A));
    cr_assert_eq(calls, 1);
    cr_assert_eq(oom_size, 456);
    cr_assert_str_eq(oom_name, "mine");
    cr_assert_null(rsvi_dbg_alloc(d, SIZE_MAX - 8, 0, 0, SITE_A)); /* overflow of the decoration */
    cr_assert_eq(calls, 2);
    rsvi_dbg_oom(&o, "pool", "p", 7); /* the policy alone, as allocators use it */
    cr_assert_eq(calls, 3);
    be_fail = 0;
    rsvi_dbg_destroy(d, NULL);
}

Test(debug, oom_abort_prints_one_line_and_aborts, .signal = SIGABRT)
{
    rsv_debug_opts_t o;
    memset(&o, 0, sizeof o);
    o.oom = RSV_OOM_ABORT;
    rsvi_dbg_oom(&o, "heap", "big", 1u << 30);
}

static jmp_buf oom_jmp;
static void capture_and_escape(void *user, const rsv_debug_report_t *r)
{
    capture(user, r);
    longjmp(oom_jmp, 1); /* the abort that follows cannot be survived otherwise */
}

Test(debug, oom_abort_report_names_size_and_heap)
{
    rsv_debug_opts_t o;
    memset(&o, 0, sizeof o);
    o.oom = RSV_OOM_ABORT;
    o.report.fn = capture_and_escape;
    if (setjmp(oom_jmp) == 0) rsvi_dbg_oom(&o, "heap", "big", 4096);
    cr_assert_eq(ngot, 1);
    cr_assert_eq(got[0].kind, RSV_BUG_OUT_OF_MEMORY);
    cr_assert_eq(got[0].size, 4096);
    cr_assert_str_eq(got[0].text, "reservoir: out-of-memory: heap \"big\": allocation of 4096 bytes failed\n");
    cr_assert_str_eq(rsv_debug_kind_name((rsv_debug_kind_t)99), "unknown");
    cr_assert_eq(rsv_debug_available(), RSV_CHECKS >= 1);
}

/* ---- fault injection: the debug layer's own pages ---------------------------------------- */

Test(debug, vm_failures_leave_the_state_usable)
{
    rsv_debug_opts_t o;
    memset(&o, 0, sizeof o);
    o.flags = RSV_DEBUG_QUARANTINE | RSV_DEBUG_GUARD;
    o.report.fn = capture;
    for (unsigned n = 1; n <= 3; n++) {
        rsvi_fault_set(RSVI_FAULT_RESERVE, n, 1);
        rsvi_dbg_t *d = rsvi_dbg_create(&o, &be_libc, "heap", "t");
        rsvi_fault_clear();
        if (d) rsvi_dbg_destroy(d, NULL);
    }
    rsvi_dbg_t *d = rsvi_dbg_create(&o, &be_libc, "heap", "t");
    cr_assert_not_null(d);
    void *keep = rsvi_dbg_alloc(d, 10, 0, 0, SITE_A);
    for (unsigned n = 1; n <= 3; n++) {
        for (int persistent = 0; persistent <= 1; persistent++) {
            rsvi_fault_set(RSVI_FAULT_COMMIT, n, persistent);
            void *p = rsvi_dbg_alloc(d, 10, 0, 0, SITE_A);
            rsvi_fault_clear();
            if (p) cr_assert_eq(rsvi_dbg_free(d, p, SITE_F), 0);
            size_t live;
            rsvi_dbg_counts(d, &live, NULL, NULL);
            cr_assert_eq(live, 1);
            cr_assert(rsvi_dbg_owns(d, keep));
        }
    }
    cr_assert_eq(rsvi_dbg_free(d, keep, SITE_F), 0);
    cr_assert_eq(rsvi_dbg_validate(d, NULL, NULL), 0);
    rsvi_dbg_destroy(d, NULL);
    cr_assert_eq(ngot, 0);
}

/* ---- threads ----------------------------------------------------------------------------- */

static void *thr_main(void *arg)
{
    rsvi_dbg_t *d = arg;
    void *keep[64] = {0};
    for (int i = 0; i < 4000; i++) {
        int k = i % 64;
        if (keep[k]) rsvi_dbg_free(d, keep[k], SITE_F);
        keep[k] = rsvi_dbg_alloc(d, (size_t)(i % 200), 0, 0, SITE_A);
    }
    for (int k = 0; k < 64; k++) rsvi_dbg_free(d, keep[k], SITE_F);
    return NULL;
}

Test(debug, concurrent_use_is_consistent)
{
    rsvi_dbg_t *d = make(RSV_DEBUG_ALL, &be_libc);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thr_main, d);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    size_t live;
    rsvi_dbg_counts(d, &live, NULL, NULL);
    cr_assert_eq(live, 0);
    cr_assert_eq(rsvi_dbg_validate(d, NULL, NULL), 0);
    cr_assert_eq(rsvi_dbg_destroy(d, NULL), 0);
    cr_assert_eq(ngot, 0);
}
