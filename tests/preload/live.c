/* tests/preload/live.c — proves which allocator is live and that every
 * libc name of the malloc family behaves as glibc's does.
 *
 *   live reservoir   exit 0 only if Reservoir serves malloc: blocks from
 *                    every entry point (and from strdup/asprintf inside the
 *                    C library) are owned by the default heap, and a
 *                    malloc'd block is found by rsv_heap_walk.
 *   live libc        exit 0 only if Reservoir is absent.
 * The "ok:" lines are identical under both allocators (run.sh compares
 * them); only the "allocator:" line differs.  Built with -fno-builtin:
 * otherwise clang assumes calloc leaves errno alone and folds the checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

typedef struct walk_find {
    const void *want;
    int found;
} walk_find_t;

static int walk_cb(void *user, const rsv_heap_walk_entry_t *e)
{
    walk_find_t *w = user;
    const char *a = e->addr;
    if (e->kind == RSV_WALK_BLOCK_USED && (const char *)w->want >= a && (const char *)w->want < a + e->size) {
        w->found = 1;
        return 1;
    }
    return 0;
}

/* Every allocation goes through here so that the compiler can neither
 * elide it nor assume its result (clang folds malloc(huge) == NULL). */
static void *volatile sink;
#define KEEP(x) (sink = (x), sink)

static int aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

int main(int argc, char **argv)
{
    const char *expect = argc > 1 ? argv[1] : "reservoir";
    /* volatile: keeps the compiler from folding or warning about the
     * deliberately impossible sizes, and from eliding malloc/free pairs. */
    volatile size_t half = SIZE_MAX / 2, huge = SIZE_MAX - 4096;
    probe_t pr;
    int live = probe_reservoir(&pr);
    printf("allocator: %s\n", live ? "reservoir" : "libc");

    /* ---- semantics every allocator must share ---- */
    char *p = KEEP(malloc(100));
    CHECK(p && aligned(p, 16), "malloc(100) is 16-aligned");
    memset(p, 'x', 100);
    CHECK(malloc_usable_size(p) >= 100, "malloc_usable_size >= request");
    char *q = KEEP(realloc(p, 1 << 20));
    CHECK(q && q[0] == 'x' && q[99] == 'x', "realloc grows and keeps contents");
    int *z = KEEP(calloc(1000, sizeof *z));
    int zero = 1;
    for (int i = 0; z && i < 1000; i++) zero &= z[i] == 0;
    CHECK(z && zero, "calloc zeroes");
    errno = 0;
    CHECK(KEEP(calloc(half, 4)) == NULL && errno == ENOMEM, "calloc overflow -> NULL, ENOMEM");
    errno = 0;
    CHECK(KEEP(malloc(huge)) == NULL && errno == ENOMEM, "malloc(huge) -> NULL, ENOMEM");
    errno = 0;
    CHECK(KEEP(reallocarray(NULL, half, 4)) == NULL && errno == ENOMEM, "reallocarray overflow -> ENOMEM");
    int *ra = KEEP(reallocarray(NULL, 10, sizeof(int)));
    CHECK(ra != NULL, "reallocarray(NULL, 10, 4)");
    void *pm = NULL;
    CHECK(posix_memalign(&pm, 64, 200) == 0 && aligned(pm, 64), "posix_memalign 64");
    void *bad = &bad;
    CHECK(posix_memalign(&bad, 24, 10) == EINVAL && bad == &bad, "posix_memalign(24) -> EINVAL, out untouched");
    void *aa = KEEP(aligned_alloc(4096, 8192));
    CHECK(aa && aligned(aa, 4096), "aligned_alloc 4096");
    void *ma = KEEP(memalign(256, 1000));
    CHECK(ma && aligned(ma, 256), "memalign 256");
    void *va = KEEP(valloc(100));
    CHECK(va && aligned(va, 4096), "valloc page-aligned");
    void *pv = KEEP(pvalloc(5000));
    CHECK(pv && aligned(pv, 4096) && malloc_usable_size(pv) >= 8192, "pvalloc rounds to pages");
    char *sd = KEEP(strdup("hello, reservoir"));
    CHECK(sd && strcmp(sd, "hello, reservoir") == 0, "strdup (allocates inside libc)");
    char *as = NULL;
    CHECK(asprintf(&as, "%d-%s", 42, "x") == 4 && strcmp(as, "42-x") == 0, "asprintf (allocates inside libc)");
    sink = KEEP(malloc(3 << 20));
    errno = 1234;
    free(sink);
    CHECK(errno == 1234, "free preserves errno");
    free(NULL);
    sink = KEEP(malloc(10));
    CHECK(KEEP(realloc(sink, 0)) == NULL, "realloc(p, 0) frees and returns NULL (glibc rule)");
    struct mallinfo2 mi0 = mallinfo2();
    void *big = KEEP(malloc(8 << 20));
    memset(big, 1, 8 << 20);
    struct mallinfo2 mi1 = mallinfo2();
    CHECK(mi1.uordblks + mi1.hblkhd >= mi0.uordblks + mi0.hblkhd + (8u << 20), "mallinfo2 counts an 8 MiB block");
    free(big);
    CHECK(mallopt(M_ARENA_MAX, 2) == 1, "mallopt accepted");
    /* 32 MiB of 4 KiB blocks, touched, then freed behind one block still
     * live (so neither allocator can give the space back from free()
     * itself): malloc_trim then returns memory to the OS and says so. */
    static void *blocks[8192];
    for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++) {
        blocks[i] = KEEP(malloc(4096));
        if (blocks[i]) memset(blocks[i], 2, 4096);
    }
    void *guard = KEEP(malloc(4096));
    for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++) free(blocks[i]);
    CHECK(malloc_trim(0) == 1, "malloc_trim returns freed memory to the OS");
    free(guard);

    /* ---- which allocator served those blocks ---- */
    if (live) {
        rsv_heap_t *h = pr.heap_default();
        void *all[] = {q, z, ra, pm, aa, ma, va, pv, as, sd};
        size_t n = sizeof all / sizeof all[0];
        /* With the ASan runtime preloaded behind Reservoir, its strdup
         * interceptor allocates from ASan's own allocator (run.sh, asan). */
        if (dlsym(RTLD_DEFAULT, "__asan_init")) n--;
        int owned = 1;
        for (size_t i = 0; i < n; i++)
            if (pr.heap_of(all[i]) != h) {
                fprintf(stderr, "block %zu (%p) not owned by the default heap\n", i, all[i]);
                owned = 0;
            }
        walk_find_t w = {q, 0};
        (void)pr.heap_walk(h, walk_cb, &w);
        char msg[200] = "";
        int valid = pr.heap_validate(h, NULL, msg, sizeof msg) == 0;
        if (!owned || !w.found || !valid) {
            fprintf(stderr, "live: owned=%d walk_found=%d valid=%d %s\n", owned, w.found, valid, msg);
            probe_failures++;
        }
    }

    free(q);
    free(z);
    free(ra);
    free(pm);
    free(aa);
    free(ma);
    free(va);
    free(pv);
    free(sd);
    free(as);
    if (strcmp(expect, live ? "reservoir" : "libc") != 0) {
        fprintf(stderr, "live: expected %s, found %s\n", expect, live ? "reservoir" : "libc");
        return 2;
    }
    return probe_failures ? 1 : 0;
}
