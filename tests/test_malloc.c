/* tests/test_malloc.c — Criterion suite "malloc": the rsv_malloc family
 * against glibc's documented behaviour (errno ENOMEM on failure,
 * realloc(NULL, n), realloc(p, 0) freeing and returning NULL,
 * posix_memalign's EINVAL with *out untouched, aligned_alloc/memalign
 * alignment rules, valloc/pvalloc page rounding, calloc/reallocarray
 * overflow), blocks crossing threads, and the bad-pointer reports: the
 * owner's free checks a block with the live bitmap and falls back to the
 * cookie (written only by remote frees) while remote frees of its page
 * are pending; anyone else checks both, so every order of a
 * local and a remote free of one block is tested to be reported once and
 * to leave the heap handing each block out once.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap/heap_internal.h"
#include "reservoir/heap.h"
#include "reservoir/malloc.h"
#include "test_errors.h"



static size_t page(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

Test(malloc, malloc_and_free, .timeout = 10)
{
    for (size_t s = 1; s < ((size_t)8 << 20); s = s * 2 + 1) {
        char *p = rsv_malloc(s);
        cr_assert_not_null(p);
        cr_assert_eq((uintptr_t)p % 16, 0);
        memset(p, 0x11, s);
        cr_assert_geq(rsv_malloc_usable_size(p), s);
        rsv_free(p);
    }
    rsv_free(NULL);
}

Test(malloc, malloc_zero_is_unique, .timeout = 10)
{
    void *a = rsv_malloc(0), *b = rsv_malloc(0);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_neq(a, b);
    rsv_free(a);
    rsv_free(b);
}

Test(malloc, malloc_failure_sets_enomem, .timeout = 10)
{
    err_setup();
    errno = 0;
    cr_assert_null(rsv_malloc(SIZE_MAX));
    cr_assert_eq(errno, ENOMEM);
    errno = 0;
    cr_assert_null(rsv_malloc(SIZE_MAX / 2 + 1));
    cr_assert_eq(errno, ENOMEM);
    void *p = rsv_malloc(10);
    cr_assert_not_null(p, "still works");
    rsv_free(p);
}

Test(malloc, calloc_zeroes_and_overflows, .timeout = 10)
{
    for (size_t s = 16; s < ((size_t)4 << 20); s *= 8) {
        unsigned char *d = rsv_malloc(s);
        memset(d, 0xCC, s);
        rsv_free(d);
        unsigned char *z = rsv_calloc(s / 16, 16);
        cr_assert_not_null(z);
        for (size_t i = 0; i < s; i++)
            if (z[i]) cr_assert_fail("calloc byte %zu of %zu not zero", i, s);
        rsv_free(z);
    }
    errno = 0;
    cr_assert_null(rsv_calloc(SIZE_MAX / 4, 8));
    cr_assert_eq(errno, ENOMEM);
    errno = 0;
    cr_assert_null(rsv_calloc((size_t)1 << 40, (size_t)1 << 40));
    cr_assert_eq(errno, ENOMEM);
    void *p = rsv_calloc(0, 0);
    cr_assert_not_null(p);
    rsv_free(p);
}

Test(malloc, realloc_glibc_semantics, .timeout = 10)
{
    err_setup();
    char *p = rsv_realloc(NULL, 100);
    cr_assert_not_null(p, "realloc(NULL, n) == malloc(n)");
    for (int i = 0; i < 100; i++) p[i] = (char)i;
    p = rsv_realloc(p, 100000);
    for (int i = 0; i < 100; i++) cr_assert_eq(p[i], (char)i);
    p = rsv_realloc(p, 5 << 20);
    for (int i = 0; i < 100; i++) cr_assert_eq(p[i], (char)i);
    p = rsv_realloc(p, 50);
    for (int i = 0; i < 50; i++) cr_assert_eq(p[i], (char)i);

    errno = 0;
    cr_assert_null(rsv_realloc(p, SIZE_MAX - 10));
    cr_assert_eq(errno, ENOMEM);
    for (int i = 0; i < 50; i++) cr_assert_eq(p[i], (char)i, "failed realloc leaves the block");

    cr_assert_null(rsv_realloc(p, 0), "realloc(p, 0) frees and returns NULL");
    cr_assert_eq(rsv_malloc_usable_size(p), 0, "p was freed");
    err_count = 0;
    rsv_free(p);
    cr_assert_eq(err_count, 1, "so freeing it again is a reported double free");
}

/* Realloc growth past 256 KiB moves once, into a span of its own, and
 * then grows in place: a LARGE class would copy the block at each class
 * boundary and keep every class page it left resident (docs/heap.md,
 * rss/realloc).  Shrinking back moves into the classes, from a span of
 * more than one segment or below 256 KiB. */
Test(malloc, realloc_growth_takes_a_span, .timeout = 10)
{
    size_t cap = (size_t)200 << 10;
    unsigned char *p = rsv_malloc(cap);
    cr_assert_not_null(p);
    for (size_t i = 0; i < cap; i++) p[i] = (unsigned char)(i * 7);
    unsigned char *q = rsv_realloc(p, (size_t)300 << 10);
    cr_assert_not_null(q);
    cr_assert_gt(rsv_malloc_usable_size(q), (size_t)1 << 20, "growth past 256 KiB takes a span");
    for (size_t s = (size_t)300 << 10; s <= ((size_t)6 << 20); s += s / 8) {
        unsigned char *r = rsv_realloc(q, s);
        cr_assert_not_null(r);
        if (s < ((size_t)4 << 20) - 8192) cr_assert_eq(r, q, "grows in place to %zu", s);
        q = r;
    }
    for (size_t i = 0; i < cap; i++) cr_assert_eq(q[i], (unsigned char)(i * 7), "contents at %zu", i);
    unsigned char *r = rsv_realloc(q, (size_t)600 << 10);
    cr_assert_not_null(r);
    cr_assert_leq(rsv_malloc_usable_size(r), (size_t)1 << 20, "a shrink from a longer span moves");
    r = rsv_realloc(r, (size_t)700 << 10);
    cr_assert_gt(rsv_malloc_usable_size(r), (size_t)1 << 20, "and growing again takes a span");
    unsigned char *s1 = rsv_realloc(r, (size_t)500 << 10);
    cr_assert_eq(s1, r, "a one-segment span shrinks in place above 256 KiB");
    r = rsv_realloc(s1, (size_t)100 << 10);
    cr_assert_leq(rsv_malloc_usable_size(r), (size_t)128 << 10, "below 256 KiB it moves into a class");
    for (size_t i = 0; i < ((size_t)100 << 10); i++) cr_assert_eq(r[i], (unsigned char)(i * 7));
    rsv_free(r);
}

Test(malloc, reallocarray_overflow, .timeout = 10)
{
    int *p = rsv_reallocarray(NULL, 10, sizeof(int));
    cr_assert_not_null(p);
    for (int i = 0; i < 10; i++) p[i] = i;
    errno = 0;
    cr_assert_null(rsv_reallocarray(p, SIZE_MAX / 2, 4));
    cr_assert_eq(errno, ENOMEM);
    for (int i = 0; i < 10; i++) cr_assert_eq(p[i], i);
    p = rsv_reallocarray(p, 1000, sizeof(int));
    for (int i = 0; i < 10; i++) cr_assert_eq(p[i], i);
    rsv_free(p);
}

Test(malloc, posix_memalign_rules, .timeout = 10)
{
    void *out = (void *)0x1234;
    cr_assert_eq(rsv_posix_memalign(&out, 0, 10), EINVAL);
    cr_assert_eq(rsv_posix_memalign(&out, 3, 10), EINVAL);
    cr_assert_eq(rsv_posix_memalign(&out, sizeof(void *) / 2, 10), EINVAL);
    cr_assert_eq(rsv_posix_memalign(&out, 48, 10), EINVAL);
    cr_assert_eq(out, (void *)0x1234, "output untouched on EINVAL");
    cr_assert_eq(rsv_posix_memalign(&out, 64, SIZE_MAX - 100), ENOMEM);
    cr_assert_eq(out, (void *)0x1234, "output untouched on ENOMEM");
    errno = 1234;
    for (size_t a = sizeof(void *); a <= ((size_t)64 << 20); a <<= 1) {
        void *p = NULL;
        cr_assert_eq(rsv_posix_memalign(&p, a, 100), 0);
        cr_assert_eq((uintptr_t)p % a, 0, "align %zu", a);
        memset(p, 1, 100);
        rsv_free(p);
    }
    cr_assert_eq(errno, 1234, "errno untouched on success");
    void *z = NULL;
    cr_assert_eq(rsv_posix_memalign(&z, 64, 0), 0);
    cr_assert_not_null(z);
    rsv_free(z);
}

Test(malloc, aligned_alloc_and_memalign, .timeout = 10)
{
    errno = 0;
    cr_assert_null(rsv_aligned_alloc(3, 10));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(rsv_aligned_alloc(0, 10));
    cr_assert_eq(errno, EINVAL);
    void *p = rsv_aligned_alloc(256, 1000);
    cr_assert_eq((uintptr_t)p % 256, 0);
    rsv_free(p);
    p = rsv_memalign(24, 100);   /* glibc rounds up to 32 */
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % 32, 0);
    rsv_free(p);
    p = rsv_memalign(1, 100);
    cr_assert_not_null(p);
    rsv_free(p);
    errno = 0;
    cr_assert_null(rsv_memalign(SIZE_MAX, 10));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(rsv_memalign(4096, SIZE_MAX - 5000));
    cr_assert_eq(errno, ENOMEM);
}

Test(malloc, valloc_and_pvalloc, .timeout = 10)
{
    size_t pg = page();
    void *v = rsv_valloc(10);
    cr_assert_eq((uintptr_t)v % pg, 0);
    rsv_free(v);
    void *w = rsv_pvalloc(pg + 1);
    cr_assert_eq((uintptr_t)w % pg, 0);
    cr_assert_geq(rsv_malloc_usable_size(w), 2 * pg, "pvalloc rounds the size up to pages");
    memset(w, 1, 2 * pg);
    rsv_free(w);
    void *z = rsv_pvalloc(0);
    cr_assert_not_null(z);
    cr_assert_geq(rsv_malloc_usable_size(z), pg);
    rsv_free(z);
    errno = 0;
    cr_assert_null(rsv_pvalloc(SIZE_MAX - 1));
    cr_assert_eq(errno, ENOMEM);
}

Test(malloc, usable_size, .timeout = 10)
{
    int x;
    cr_assert_eq(rsv_malloc_usable_size(NULL), 0);
    cr_assert_eq(rsv_malloc_usable_size(&x), 0);
    char *p = rsv_malloc(100);
    cr_assert_geq(rsv_malloc_usable_size(p), 100);
    cr_assert_eq(rsv_malloc_usable_size(p + 16), 0);
    rsv_free(p);
}

Test(malloc, bad_pointers_reported, .timeout = 10)
{
    err_setup();
    int x;
    char *p = rsv_malloc(64);
    rsv_free(&x);
    rsv_free(p + 8);
    cr_assert_eq(err_count, 2);
    cr_assert_eq(err_code, EINVAL);
    errno = 0;
    cr_assert_null(rsv_realloc(&x, 10));
    cr_assert_eq(err_count, 3);
    rsv_free(p);
    rsv_free(p);
    cr_assert_eq(err_count, 4);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}

Test(malloc, free_routes_blocks_of_other_heaps, .timeout = 10)
{
    rsv_heap_t *h = rsv_heap_create(NULL);
    void *p = rsv_heap_alloc(h, 100);
    cr_assert_geq(rsv_malloc_usable_size(p), 100);
    void *q = rsv_realloc(p, 200000);
    cr_assert_not_null(q);
    cr_assert_eq(rsv_heap_of(q), h, "realloc stays in the owner heap");
    rsv_free(q);
    rsv_heap_stats_t st;
    rsv_heap_stats(h, &st);
    cr_assert_eq(st.blocks, 0);
    cr_assert_eq(rsv_heap_validate(h, NULL, NULL, 0), 0);
    rsv_heap_destroy(h);
}

#define XT_N 20000
static void *xt_blocks[XT_N];
static void *xt_free_all(void *arg)
{
    (void)arg;
    for (int i = 0; i < XT_N; i++) rsv_free(xt_blocks[i]);
    return NULL;
}

Test(malloc, blocks_freed_by_another_thread, .timeout = 30)
{
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < XT_N; i++) {
            xt_blocks[i] = rsv_malloc((size_t)(16 + (i * 13) % 3000));
            memset(xt_blocks[i], 7, 16);
        }
        pthread_t t;
        pthread_create(&t, NULL, xt_free_all, NULL);
        pthread_join(t, NULL);
        /* The owner picks the blocks back up. */
        for (int i = 0; i < XT_N; i++) xt_blocks[i] = rsv_malloc((size_t)(16 + (i * 13) % 3000));
        for (int i = 0; i < XT_N; i++) rsv_free(xt_blocks[i]);
    }
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
    rsv_heap_trim(rsv_heap_default());
    rsv_heap_stats_t st;
    rsv_heap_stats(rsv_heap_default(), &st);
    cr_assert_lt(st.blocks, 100);
}

/* ---- double and bad frees against the live bitmap and the remote lists ---- */

/* Allocates n blocks of `size`, checks they are distinct and do not overlap
 * `keep` (a block the test still holds, or NULL), then frees them.  A
 * double free that slipped through would hand one block out twice. */
static void assert_blocks_unique(size_t size, size_t n, const void *keep)
{
    void **v = calloc(n, sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i] = rsv_malloc(size);
        cr_assert_not_null(v[i]);
        cr_assert_neq(v[i], keep, "a block still held was handed out again");
        memset(v[i], (int)(i & 0xFF), size);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < size; j += 16)
            cr_assert_eq(((unsigned char *)v[i])[j], (unsigned char)(i & 0xFF),
                         "block %zu shared with another", i);
    for (size_t i = 0; i < n; i++) rsv_free(v[i]);
    free(v);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}

Test(malloc, owner_free_rejects_non_block_starts, .timeout = 10)
{
    err_setup();
    char *keep = rsv_malloc(64);   /* keeps the page (and its bits) in use */
    char *p = rsv_malloc(64);
    char *q = rsv_malloc(256);
    rsv_free(p + 8);    /* shares p's 16-byte bit */
    rsv_free(p + 16);   /* 16-byte aligned, inside p */
    rsv_free(q + 128);
    cr_assert_eq(err_count, 3);
    cr_assert_eq(err_code, EINVAL);
    /* The segment header (descriptors, bitmap) of the segment p lives in. */
    char *seg = (char *)((uintptr_t)p & ~(uintptr_t)RSVH_SEG_MASK);
    rsv_free(seg + 64);
    rsv_free(seg + 4096);
    rsv_free(seg + RSVH_HDR - 16);
    cr_assert_eq(err_count, 6);
    /* The live bitmap at the segment's end. */
    rsv_free(seg + RSVH_LIVE_OFF);
    rsv_free(seg + RSVH_LIVE_OFF + 1024);
    cr_assert_eq(err_count, 8);
    err_count = 6;
    /* A block of a page never carved that far, and one past the segment. */
    rsv_free(p + 64 * 1000);
    cr_assert_eq(err_count, 7);
    rsv_free(p);
    rsv_free(p);
    cr_assert_eq(err_count, 8, "second free of p is a double free");
    rsv_free(q);
    assert_blocks_unique(64, 500, keep);
    assert_blocks_unique(256, 200, keep);
    rsv_free(keep);
}

typedef struct xf_arg {
    void *p;
} xf_arg_t;
static void *xf_free(void *arg)
{
    rsv_free(((xf_arg_t *)arg)->p);
    return NULL;
}
/* Frees p on a thread of its own (a remote free: p's page belongs to the
 * calling thread). */
static void free_on_other_thread(void *p)
{
    pthread_t th;
    xf_arg_t a = {p};
    cr_assert_eq(pthread_create(&th, NULL, xf_free, &a), 0);
    pthread_join(th, NULL);
}

Test(malloc, double_free_remote_then_owner, .timeout = 10)
{
    err_setup();
    void *keep = rsv_malloc(64);
    void *p = rsv_malloc(64);
    free_on_other_thread(p);       /* p waits on its page's remote list */
    cr_assert_eq(err_count, 0);
    rsv_free(p);                   /* its live bit is still set: the cookie tells */
    cr_assert_eq(err_count, 1, "owner's free of a remotely freed block is a double free");
    cr_assert_eq(err_code, EINVAL);
    assert_blocks_unique(64, 2000, keep);
    rsv_free(keep);
    cr_assert_eq(err_count, 1);
}

Test(malloc, double_free_remote_collected_then_owner, .timeout = 10)
{
    err_setup();
    void *keep = rsv_malloc(64);
    void *p = rsv_malloc(64);
    free_on_other_thread(p);
    /* Trim collects the remote list: p's bit is cleared, the page stays
     * (keep is live). */
    rsv_heap_trim(rsv_heap_default());
    rsv_free(p);
    cr_assert_eq(err_count, 1);
    assert_blocks_unique(64, 2000, keep);
    rsv_free(keep);
    cr_assert_eq(err_count, 1);
}

/* Allocation writes no cookie (only a remote free does, and collection
 * clears it): a block freed remotely, collected and handed out again must
 * read as live to the next remote free, even when the program never
 * writes its second word. */
Test(malloc, remote_free_after_reuse_is_not_a_double_free, .timeout = 10)
{
    err_setup();
    void *keep = rsv_malloc(64);
    void *p = rsv_malloc(64);
    free_on_other_thread(p);
    rsv_heap_trim(rsv_heap_default());   /* collects p from the remote list */
    void *q = rsv_malloc(64);
    cr_assert_eq(q, p, "the collected block comes back first");
    free_on_other_thread(q);             /* its second word is as the remote free left it */
    cr_assert_eq(err_count, 0, "a live block reported as freed");
    rsv_heap_trim(rsv_heap_default());
    assert_blocks_unique(64, 2000, keep);
    rsv_free(keep);
    cr_assert_eq(err_count, 0);
}

Test(malloc, double_free_owner_then_remote, .timeout = 10)
{
    err_setup();
    void *keep = rsv_malloc(48);
    void *p = rsv_malloc(48);
    rsv_free(p);
    free_on_other_thread(p);       /* the remote path reads the live bit: clear */
    cr_assert_eq(err_count, 1);
    assert_blocks_unique(48, 2000, keep);
    rsv_free(keep);
    cr_assert_eq(err_count, 1);
}

Test(malloc, double_free_remote_then_remote, .timeout = 10)
{
    err_setup();
    void *keep = rsv_malloc(32);
    void *p = rsv_malloc(32);
    free_on_other_thread(p);
    free_on_other_thread(p);
    cr_assert_eq(err_count, 1);
    rsv_free(p);                   /* and the owner's too */
    cr_assert_eq(err_count, 2);
    assert_blocks_unique(32, 2000, keep);
    rsv_free(keep);
    cr_assert_eq(err_count, 2);
}

Test(malloc, double_free_of_a_block_in_the_delayed_list, .timeout = 10)
{
    /* 8 KiB blocks: 8 to a 64 KiB page, so a few allocations park full
     * pages in the owner's full queue; a remote free into such a page goes
     * to the owner's delayed list instead of the page's. */
    enum { N = 64 };
    void *v[N];
    err_setup();
    for (int i = 0; i < N; i++) {
        v[i] = rsv_malloc(8192);
        cr_assert_not_null(v[i]);
    }
    rsvh_segment_t *seg = rsvh_seg_of(v[0]);
    rsvh_page_t *pg = &seg->pages[((uintptr_t)v[0] - (uintptr_t)seg) >> seg->page_shift];
    cr_assert(pg->in_full, "the first page was parked as full");
    free_on_other_thread(v[0]);
    cr_assert_eq(err_count, 0);
    rsv_free(v[0]);
    cr_assert_eq(err_count, 1, "owner's free of a block in its delayed list is a double free");
    free_on_other_thread(v[0]);
    cr_assert_eq(err_count, 2);
    for (int i = 1; i < N; i++) rsv_free(v[i]);
    cr_assert_eq(err_count, 2);
    assert_blocks_unique(8192, 200, NULL);
    rsv_heap_trim(rsv_heap_default());
    rsv_heap_stats_t st;
    rsv_heap_stats(rsv_heap_default(), &st);
    cr_assert_lt(st.blocks, 10, "every block came back once");
}

static void *xt_alloc_100(void *arg)
{
    void **v = arg;
    for (int i = 0; i < 100; i++) v[i] = rsv_malloc(96);
    return NULL;
}

Test(malloc, abandoned_page_frees_checked, .timeout = 10)
{
    /* Blocks of a thread that exited: their page is abandoned, then adopted
     * by this thread; its bits must still say which blocks are live. */
    err_setup();
    static void *v[100];
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, xt_alloc_100, v), 0);
    pthread_join(th, NULL);
    rsv_free(v[0]);
    rsv_free(v[0]);
    cr_assert_eq(err_count, 1);
    void *keep = rsv_malloc(96);   /* may adopt the abandoned page */
    rsv_free(v[1]);
    rsv_free(v[1]);
    cr_assert_eq(err_count, 2);
    for (int i = 2; i < 100; i++) rsv_free(v[i]);
    cr_assert_eq(err_count, 2);
    assert_blocks_unique(96, 1000, keep);
    rsv_free(keep);
}

Test(malloc, emptied_pages_are_carved_again_in_address_order, .timeout = 10)
{
    /* Blocks freed in random order leave a random free list; a page kept
     * when it empties is rewound so the next pass takes its blocks in
     * address order (page.c: page_rewind), not chasing that list. */
    enum { N = 5000 };
    static void *v[N];
    for (int i = 0; i < N; i++) v[i] = rsv_malloc(64);
    uint64_t rng = 12345;
    for (int i = N - 1; i > 0; i--) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        int j = (int)(rng % (uint64_t)(i + 1));
        void *x = v[i];
        v[i] = v[j];
        v[j] = x;
    }
    for (int i = 0; i < N; i++) rsv_free(v[i]);
    for (int i = 0; i < N; i++) v[i] = rsv_malloc(64);
    int descents = 0;
    for (int i = 1; i < N; i++)
        if ((char *)v[i] < (char *)v[i - 1]) descents++;
    cr_assert_lt(descents, N / 50, "%d of %d allocations went backwards", descents, N);
    for (int i = 0; i < N; i++) rsv_free(v[i]);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}

Test(malloc, validate_checks_the_live_bitmap, .timeout = 10)
{
    char *keep = rsv_malloc(64);
    char *p = rsv_malloc(64);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
    rsvh_segment_t *seg = rsvh_seg_of(p);
    _Atomic uint64_t *w = rsvh_live_word(seg, p);
    uint64_t saved = *w;
    char msg[128];
    *w &= ~rsvh_live_bit(p);   /* a live block without its bit */
    cr_assert_neq(rsv_heap_validate(rsv_heap_default(), NULL, msg, sizeof msg), 0);
    cr_assert(strstr(msg, "live bitmap") != NULL, "%s", msg);
    *w = saved | rsvh_live_bit(p + 16);   /* a bit inside a block */
    cr_assert_neq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
    *w = saved;
    rsv_free(p);
    *w |= rsvh_live_bit(p);    /* a free block still marked live */
    cr_assert_neq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
    *w &= ~rsvh_live_bit(p);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
    rsv_free(keep);
}
