/* tests/valgrind_arena.c — proves the arena and the pool describe themselves
 * to Valgrind memcheck (lib/arena_san.h): run under valgrind by meson (suite
 * "arena", non-sanitizer builds where valgrind and its headers exist), it
 * makes one clean run of allocations and then three bad reads — past the
 * arena's position, of memory released by pop_to, of a freed pool block —
 * and checks with VALGRIND_COUNT_ERRORS that memcheck reported each one and
 * nothing else.  Exit 0: all seen; 1: a miss or a false report; 77 (meson's
 * "skipped"): not running under valgrind.
 */
#include <stdio.h>
#include <string.h>
#include <valgrind/memcheck.h>

#include "reservoir/arena.h"
#include "reservoir/pool.h"

static int failures;

static void expect(unsigned errors, const char *what)
{
    unsigned n = (unsigned)VALGRIND_COUNT_ERRORS;
    printf("%s %s (memcheck errors so far: %u, expected %u)\n", n == errors ? "ok" : "FAILED", what, n, errors);
    if (n != errors) failures++;
}

int main(void)
{
    if (!RUNNING_ON_VALGRIND) {
        printf("not running under valgrind: skipped\n");
        return 77;
    }
    rsv_arena_opts_t ao = { 0 };
    ao.flags = RSV_ARENA_ZERO;
    rsv_arena_t *a = rsv_arena_create(NULL);
    rsv_arena_t *z = rsv_arena_create(&ao);
    rsv_pool_t *p = rsv_pool_create(NULL);
    if (!a || !z || !p) return 1;

    /* Clean use: nothing reported, zeroed memory counts as defined. */
    size_t mark = rsv_arena_pos(a);
    for (int i = 0; i < 1000; i++) {
        char *s = rsv_arena_alloc(a, 100);
        memset(s, i, 100);
        unsigned char *q = rsv_arena_calloc(a, 10, 10);
        if (q[99] != 0) failures++;
        unsigned char *zz = rsv_arena_alloc(z, 64);
        if (zz[63] != 0) failures++;
        void *b = rsv_pool_alloc(p);
        memset(b, 1, 64);
        rsv_pool_free(p, b);
    }
    char *r = rsv_arena_alloc(a, 10);
    memset(r, 'x', 10);
    r = rsv_arena_realloc(a, r, 10, 5000);
    memset(r + 10, 'y', 4990);
    rsv_arena_pop_to(a, mark);
    rsv_arena_reset(z);
    expect(0, "clean allocations, calloc, ZERO arena, pool, realloc, pop_to");

    volatile char *v = rsv_arena_alloc(a, 24);
    v[0] = 1;
    char c = v[40];                          /* past the position */
    expect(1, "read past the last allocation");
    rsv_arena_pop_to(a, mark);
    c += v[0];                               /* released by pop_to */
    expect(2, "read after pop_to");
    volatile char *blk = rsv_pool_alloc(p);
    blk[0] = 1;
    rsv_pool_free(p, (void *)blk);
    c += blk[16];                            /* freed pool block */
    expect(3, "read of a freed pool block");

    rsv_pool_destroy(p);
    rsv_arena_destroy(z);
    rsv_arena_destroy(a);
    printf("%s (%d)\n", failures ? "FAILED" : "OK", (int)c & 0);
    return failures ? 1 : 0;
}
