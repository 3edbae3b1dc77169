/* tests/test_malloc.c — Criterion suite "malloc": the rsv_malloc family
 * against glibc's documented behaviour (errno ENOMEM on failure,
 * realloc(NULL, n), realloc(p, 0) freeing and returning NULL,
 * posix_memalign's EINVAL with *out untouched, aligned_alloc/memalign
 * alignment rules, valloc/pvalloc page rounding, calloc/reallocarray
 * overflow), blocks crossing threads, and the bad-pointer reports.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reservoir/heap.h"
#include "reservoir/malloc.h"


static int err_count, err_last;
static void count_error(void *user, int code, const char *message)
{
    (void)user;
    (void)message;
    err_count++;
    err_last = code;
}
static void capture_errors(void)
{
    rsv_error_handler_t h = {count_error, NULL};
    rsv_set_error_handler(h);
    err_count = err_last = 0;
}

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
    capture_errors();
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
    capture_errors();
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
    capture_errors();
    int x;
    char *p = rsv_malloc(64);
    rsv_free(&x);
    rsv_free(p + 8);
    cr_assert_eq(err_count, 2);
    cr_assert_eq(err_last, EINVAL);
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
