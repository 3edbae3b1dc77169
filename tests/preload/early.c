/* tests/preload/early.c — allocation before main and around the edges of a
 * process: constructors, the dynamic loader (dlopen/dlsym/dlerror allocate),
 * threads started by a constructor and still running when main begins, a
 * block freed by main after the thread that allocated it exited, atexit
 * handlers that allocate, and thread churn that must not grow the heap (the
 * caches of exited threads go back).  Prints the same lines under any
 * allocator; the heap-growth check runs only when Reservoir is live.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define EARLY_THREADS 4

static pthread_t early_tid[EARLY_THREADS];
static char *early_block[EARLY_THREADS];
static int ctor_ok;
static unsigned long early_sum[EARLY_THREADS];

/* Allocates and frees a few thousand blocks of mixed sizes; returns a sum of
 * what it read back, so the work cannot be optimised away. */
static unsigned long churn(unsigned seed, int rounds)
{
    enum { SLOTS = 64 };
    char *slot[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    unsigned long sum = 0;
    uint32_t x = seed * 2654435761u + 1;
    for (int i = 0; i < rounds; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        unsigned k = x % SLOTS;
        if (slot[k]) {
            for (size_t j = 0; j < len[k]; j++) sum += (unsigned char)slot[k][j];
            free(slot[k]);
        }
        len[k] = 1 + (x >> 8) % ((x & 7) == 0 ? 20000 : 300);
        slot[k] = malloc(len[k]);
        if (!slot[k]) abort();
        memset(slot[k], (int)(k + 1), len[k]);
    }
    for (unsigned k = 0; k < SLOTS; k++) free(slot[k]);
    return sum;
}

static void *early_thread(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    early_sum[i] = churn((unsigned)i + 1, 20000);
    early_block[i] = malloc(1000 + i);          /* freed by main after we exit */
    if (!early_block[i]) abort();
    memset(early_block[i], 'a' + (int)i, 1000 + i);
    return NULL;
}

__attribute__((constructor(101))) static void early_ctor(void)
{
    char *s = strdup("constructor");
    void *lib = dlopen("libm.so.6", RTLD_NOW);
    void *cosf = lib ? dlsym(lib, "cos") : NULL;
    void *none = lib ? dlsym(lib, "no_such_symbol_reservoir") : NULL;
    const char *err = dlerror();   /* glibc allocates the message */
    ctor_ok = s && strcmp(s, "constructor") == 0 && lib && cosf && !none && err;
    free(s);
    if (lib) dlclose(lib);
    for (uintptr_t i = 0; i < EARLY_THREADS; i++)
        if (pthread_create(&early_tid[i], NULL, early_thread, (void *)i) != 0) abort();
    /* Not joined here: main starts while they may still run. */
}

static void at_exit_alloc(void)
{
    unsigned long s = churn(99, 5000);
    printf("atexit: churn %lu\n", s);
    fflush(stdout);
}

static void *churn_thread(void *arg)
{
    (void)churn((unsigned)(uintptr_t)arg, 3000);
    return NULL;
}

int main(void)
{
    probe_t pr;
    int live = probe_reservoir(&pr);
    CHECK(ctor_ok, "constructor: strdup, dlopen, dlsym, dlerror");
    unsigned long total = 0;
    for (int i = 0; i < EARLY_THREADS; i++) {
        if (pthread_join(early_tid[i], NULL) != 0) abort();
        total += early_sum[i];
        int good = 1;
        for (int j = 0; j < 1000 + i; j++) good &= early_block[i][j] == 'a' + i;
        CHECK(good, "block of an exited thread intact");
        free(early_block[i]);
    }
    printf("threads from constructor: sum %lu\n", total);

    /* Thread churn: 200 short-lived threads, 4 at a time.  If the caches of
     * exited threads were not returned, committed memory would grow with the
     * number of threads. */
    rsv_heap_stats_t before, after;
    if (live) pr.heap_stats(pr.heap_default(), &before);
    for (int round = 0; round < 50; round++) {
        pthread_t t[4];
        for (uintptr_t i = 0; i < 4; i++)
            if (pthread_create(&t[i], NULL, churn_thread, (void *)(round * 4 + i + 1)) != 0) abort();
        for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    }
    int kept_flat = 1;   /* glibc: nothing to measure, the line still prints */
    if (live) {
        pr.heap_stats(pr.heap_default(), &after);
        size_t grew = after.committed > before.committed ? after.committed - before.committed : 0;
        if (grew > (64u << 20) || after.in_use > before.in_use + (8u << 20)) {
            fprintf(stderr, "early: 200 exited threads grew committed by %zu, in use %zu -> %zu\n", grew,
                    before.in_use, after.in_use);
            kept_flat = 0;
        }
    }
    CHECK(kept_flat, "200 short-lived threads: memory of exited threads reused");
    if (atexit(at_exit_alloc) != 0) abort();
    return probe_failures ? 1 : 0;
}
