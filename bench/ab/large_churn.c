/* bench/ab/large_churn.c — threads that each allocate and free a handful
 * of LARGE blocks (over 64 KiB) over and over, for whichever malloc it
 * runs under (LD_PRELOAD).  It is the contention test for the default
 * heap's shared LARGE pages (lib/heap/alloc.c large_shared): with more
 * than one block live per thread, allocations miss the parked block and
 * go to the shared pages.
 *
 * Owns: its timed loop.  Must never: call anything but malloc, free and
 * clock_gettime inside it.
 *
 * usage: large_churn THREADS [SIZE [LIVE [ROUNDS]]]   (SIZE 131072, LIVE 8,
 *        ROUNDS 100000): each thread, ROUNDS times, allocates LIVE blocks
 *        of SIZE, SIZE + 4 KiB, SIZE + 8 KiB, SIZE + 12 KiB in turn, writes
 *        a byte of each and frees them in the same order.
 * prints: the wall time per allocation of one thread (equal for 1 and
 *         THREADS threads when it scales perfectly, with a core each).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { MAX_THREADS = 64, MAX_LIVE = 64 };

static size_t size = (size_t)128 << 10;
static int live = 8;
static long rounds = 100000;

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void *churn(void *arg)
{
    void *v[MAX_LIVE];
    long n = arg ? 1 : rounds;   /* a non-NULL arg: one warm-up round */
    for (long r = 0; r < n; r++) {
        for (int i = 0; i < live; i++) {
            v[i] = malloc(size + (size_t)(i & 3) * 4096);
            if (!v[i]) abort();
            *(volatile char *)v[i] = 1;
        }
        for (int i = 0; i < live; i++) free(v[i]);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    if (argc > 2) size = strtoul(argv[2], NULL, 10);
    if (argc > 3) live = atoi(argv[3]);
    if (argc > 4) rounds = atol(argv[4]);
    if (threads < 1 || threads > MAX_THREADS || size == 0 || live < 1 || live > MAX_LIVE || rounds < 1) {
        fprintf(stderr, "usage: large_churn THREADS [SIZE [LIVE [ROUNDS]]]\n");
        return 2;
    }
    churn(&size);
    pthread_t t[MAX_THREADS];
    double t0 = now_ns();
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, churn, NULL) != 0) return 1;
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double ns = (now_ns() - t0) / ((double)rounds * live);
    printf("threads %d: %.1f ns per allocation and free, per thread\n", threads, ns);
    return 0;
}
