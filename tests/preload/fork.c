/* tests/preload/fork.c — fork() while other threads allocate: the child
 * (which inherits the heap mid-use, with only the forking thread alive)
 * must allocate, free, start a thread and fork again; the parent must keep
 * allocating.  Every child's exit status is checked.  Prints the same lines
 * under any allocator.  RSV_PRELOAD_SCALE (percent, default 100) scales the
 * work per process, not the number of forks.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUSY_THREADS 3
#define FORKS 24

static atomic_int stop;
static int rounds_pct = 100;

/* n rounds scaled by RSV_PRELOAD_SCALE, at least 50. */
static int scaled(int n)
{
    long r = (long)n * rounds_pct / 100;
    return r < 50 ? 50 : (int)r;
}

/* Fills and checks blocks of mixed sizes; returns 0 when every block read
 * back what was written into it. */
static int work(uint32_t seed, int rounds)
{
    enum { SLOTS = 128 };
    unsigned char *slot[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    int bad = 0;
    uint32_t x = seed | 1;
    for (int i = 0; i < rounds; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        unsigned k = x % SLOTS;
        if (slot[k]) {
            for (size_t j = 0; j < len[k]; j += 61) bad |= slot[k][j] != (unsigned char)k;
            free(slot[k]);
        }
        len[k] = 1 + (x >> 9) % ((x & 15) == 0 ? 300000 : 512);
        slot[k] = (x & 3) == 0 ? calloc(1, len[k]) : malloc(len[k]);
        if (!slot[k]) return 1;
        memset(slot[k], (int)k, len[k]);
        if ((x & 31) == 1) {
            unsigned char *r = realloc(slot[k], len[k] * 2);
            if (!r) return 1;
            slot[k] = r;
        }
    }
    for (unsigned k = 0; k < SLOTS; k++) free(slot[k]);
    return bad;
}

static void *busy(void *arg)
{
    uint32_t seed = (uint32_t)(uintptr_t)arg;
    while (!atomic_load(&stop))
        if (work(seed++, scaled(2000))) abort();
    return NULL;
}

static void *child_thread(void *arg)
{
    return (void *)(uintptr_t)work((uint32_t)(uintptr_t)arg, scaled(5000));
}

/* The child's whole life: returns its exit status (0 = good). */
static int child_main(int n, int depth)
{
    if (work(1000u + (unsigned)n, scaled(5000))) return 3;
    pthread_t t;
    void *ret = (void *)1;
    if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)(n + 7)) != 0) return 4;
    if (pthread_join(t, &ret) != 0 || ret != NULL) return 5;
    if (depth == 0) {   /* and a grandchild */
        pid_t g = fork();
        if (g < 0) return 6;
        if (g == 0) _exit(child_main(n + 100, 1));
        int st = 0;
        if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 7;
    }
    char *s = strdup("child done");
    int ok = s && strcmp(s, "child done") == 0;
    free(s);
    return ok ? 0 : 8;
}

int main(void)
{
    const char *scale = getenv("RSV_PRELOAD_SCALE");
    if (scale && atoi(scale) > 0) rounds_pct = atoi(scale);
    pthread_t t[BUSY_THREADS];
    for (uintptr_t i = 0; i < BUSY_THREADS; i++)
        if (pthread_create(&t[i], NULL, busy, (void *)(i * 7919 + 1)) != 0) return 10;
    int failures = 0;
    for (int n = 0; n < FORKS; n++) {
        void *hold = malloc(1000 + (size_t)n * 100);   /* live across fork in both */
        if (!hold) return 11;
        memset(hold, n, 1000 + (size_t)n * 100);
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 12; }
        if (pid == 0) {
            unsigned char *h = hold;
            int st = child_main(n, 0);
            for (size_t j = 0; j < 1000 + (size_t)n * 100; j++) st |= h[j] != (unsigned char)n ? 9 : 0;
            free(hold);   /* the child's copy */
            _exit(st);
        }
        if (work(5000u + (unsigned)n, scaled(2000))) failures++;
        int st = 0;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "fork: child %d status %d\n", n, st);
            failures++;
        }
        free(hold);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < BUSY_THREADS; i++) pthread_join(t[i], NULL);
    printf("fork: %d children (each with a thread and a grandchild), %d failures\n", FORKS, failures);
    return failures ? 1 : 0;
}
