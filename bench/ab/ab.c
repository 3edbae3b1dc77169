/* bench/ab/ab.c — an in-process A/B of two builds of Reservoir's malloc
 * family.  bench/ab/run links two copies of libreservoir.a into this one
 * program, every global of one renamed A_*, of the other B_*; each
 * measurement alternates short chunks of A and B so that both see the
 * same machine state (a loaded core, a frequency step, another tenant),
 * and reports the ratio of each B chunk to the A chunk just before it.
 *
 * Owns: the timed loops (pair: malloc + touch + free of one size; batch:
 * allocate 100,000 blocks, then free them LIFO, FIFO or in a fixed random
 * order, after one untimed batch) and the statistics.  Must never: call
 * the process malloc inside a timed loop, or print anything but the
 * results line.
 *
 * usage: ab pair SIZE [CHUNKS]  |  ab batch SIZE lifo|fifo|random [CHUNKS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *A_rsv_malloc(size_t size);
void A_rsv_free(void *p);
void *B_rsv_malloc(size_t size);
void B_rsv_free(void *p);

enum { PAIRS = 200000, BATCH = 100000, MAX_CHUNKS = 2000 };

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void *blocks[BATCH];
static unsigned order[BATCH];

/* One chunk of each workload for the build named X; ns per pair / block. */
#define AB_BODIES(X)                                                                 \
    __attribute__((noinline)) static double X##_pair(size_t size)                    \
    {                                                                                \
        double t0 = now_ns();                                                        \
        for (int i = 0; i < PAIRS; i++) {                                            \
            void *p = X##_rsv_malloc(size);                                          \
            *(volatile uintptr_t *)p = (uintptr_t)p;                                 \
            X##_rsv_free(p);                                                         \
        }                                                                            \
        return (now_ns() - t0) / PAIRS;                                              \
    }                                                                                \
    __attribute__((noinline)) static double X##_batch(size_t size, int mode)         \
    {                                                                                \
        double t0 = 0;                                                               \
        for (int round = 0; round < 2; round++) {                                    \
            if (round == 1) t0 = now_ns();                                           \
            for (int i = 0; i < BATCH; i++) {                                        \
                blocks[i] = X##_rsv_malloc(size);                                    \
                *(volatile uintptr_t *)blocks[i] = (uintptr_t)i;                     \
            }                                                                        \
            for (int i = 0; i < BATCH; i++)                                          \
                X##_rsv_free(blocks[mode == 0 ? BATCH - 1 - i : mode == 1 ? i : (int)order[i]]); \
        }                                                                            \
        return (now_ns() - t0) / BATCH;                                              \
    }
AB_BODIES(A)
AB_BODIES(B)

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of v[0..n) (sorted in place). */
static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[(int)(q * (n - 1) + 0.5)];
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "pair") && strcmp(argv[1], "batch"))) {
        fprintf(stderr, "usage: ab pair SIZE [CHUNKS] | ab batch SIZE lifo|fifo|random [CHUNKS]\n");
        return 2;
    }
    int batch = !strcmp(argv[1], "batch");
    size_t size = strtoul(argv[2], NULL, 10);
    int mode = 0;
    if (batch) {
        if (argc < 4) return 2;
        mode = !strcmp(argv[3], "lifo") ? 0 : !strcmp(argv[3], "fifo") ? 1 : 2;
    }
    int argi = batch ? 4 : 3;
    int n = argc > argi ? atoi(argv[argi]) : (batch ? 60 : 300);
    if (size == 0 || n < 4 || n > MAX_CHUNKS) return 2;
    uint64_t s = 88172645463325252ull;   /* fixed xorshift: the same order every run */
    for (unsigned i = 0; i < BATCH; i++) order[i] = i;
    for (unsigned i = BATCH - 1; i > 0; i--) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        unsigned j = (unsigned)(s % (i + 1));
        unsigned t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    static double a[MAX_CHUNKS], b[MAX_CHUNKS], r[MAX_CHUNKS];
    for (int k = 0; k < n; k++) {
        a[k] = batch ? A_batch(size, mode) : A_pair(size);
        b[k] = batch ? B_batch(size, mode) : B_pair(size);
        r[k] = b[k] / a[k];
    }
    printf("%s %zu%s%s: A median %.2f ns (p10 %.2f) | B median %.2f ns (p10 %.2f) | B/A p25 %.3f median %.3f p75 %.3f (%d chunks)\n",
           argv[1], size, batch ? " " : "", batch ? argv[3] : "", quantile(a, n, 0.5), quantile(a, n, 0.1),
           quantile(b, n, 0.5), quantile(b, n, 0.1), quantile(r, n, 0.25), quantile(r, n, 0.5),
           quantile(r, n, 0.75), n);
    return 0;
}
