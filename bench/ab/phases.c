/* bench/ab/phases.c — the two halves of a batch, timed apart, for
 * whichever malloc the process has (run it under LD_PRELOAD to pick one).
 * The benchmark suite and bench/ab time a batch's allocations and frees
 * together; this splits them, so that a gap can be put on the side that
 * has it (e.g. 64 B blocks freed in random order: the free half).
 *
 * Owns: its timed loops and the median of each half.  Must never: call
 * anything but malloc, free and clock_gettime inside a timed half.
 *
 * usage: phases [SIZE [lifo|fifo|random [ROUNDS]]]   (64 random 200)
 *   e.g. for L in build/rel/lib/libreservoir-malloc.so \
 *                 /usr/lib/x86_64-linux-gnu/libmimalloc.so.2; do
 *          LD_PRELOAD=$L ./phases 64 random; done
 * prints: alloc A ns  free F ns  sum S ns   (per block, medians of ROUNDS)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BATCH = 100000, MAX_ROUNDS = 10000 };

static void *blocks[BATCH];
static unsigned order[BATCH];
static double alloc_ns[MAX_ROUNDS], free_ns[MAX_ROUNDS];

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
    const char *mode = argc > 2 ? argv[2] : "random";
    int rounds = argc > 3 ? atoi(argv[3]) : 200;
    int m = !strcmp(mode, "lifo") ? 0 : !strcmp(mode, "fifo") ? 1 : !strcmp(mode, "random") ? 2 : -1;
    if (size == 0 || m < 0 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: phases [SIZE [lifo|fifo|random [ROUNDS]]]\n");
        return 2;
    }
    /* The same fixed permutation every run (xorshift, Fisher-Yates). */
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (unsigned i = 0; i < BATCH; i++) order[i] = i;
    for (unsigned i = BATCH - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned j = (unsigned)(x % (i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int r = -1; r < rounds; r++) {   /* round -1: untimed (first touch) */
        double t0 = now_ns();
        for (int i = 0; i < BATCH; i++) {
            blocks[i] = malloc(size);
            if (!blocks[i]) return 1;
            *(volatile uintptr_t *)blocks[i] = (uintptr_t)i;
        }
        double t1 = now_ns();
        for (int i = 0; i < BATCH; i++) free(blocks[m == 0 ? BATCH - 1 - i : m == 1 ? i : (int)order[i]]);
        double t2 = now_ns();
        if (r >= 0) {
            alloc_ns[r] = (t1 - t0) / BATCH;
            free_ns[r] = (t2 - t1) / BATCH;
        }
    }
    qsort(alloc_ns, (size_t)rounds, sizeof *alloc_ns, cmp_double);
    qsort(free_ns, (size_t)rounds, sizeof *free_ns, cmp_double);
    double a = alloc_ns[rounds / 2], f = free_ns[rounds / 2];
    printf("alloc %.2f ns  free %.2f ns  sum %.2f ns\n", a, f, a + f);
    return 0;
}
