/* tests/test_win32_mt.c — the Win32 façade under threads, as a TAP program
 * (suites 'win32' and 'mt': the ThreadSanitizer build runs it, which
 * Criterion cannot do).  Covers the lock-free paths: the process heap's
 * per-thread bins with blocks freed by other threads, the moveable-handle
 * caches, concurrent GlobalLock/GlobalUnlock of one handle, HeapLock against
 * allocating threads on a private heap, and thread exit returning caches.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "reservoir/win32.h"
#include "test_sanitize.h"
#include "win/tap.h"

#define THREADS 4
#define OPS (RSV_TEST_SLOW ? 5000 : 100000)

typedef struct worker {
    HANDLE heap;
    unsigned seed;
    int failures;
    void *handoff[32];
    HGLOBAL handles[32];
} worker_t;

static HGLOBAL shared_handle;

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void *worker(void *arg)
{
    worker_t *w = arg;
    void *live[64] = {0};
    SIZE_T size[64] = {0};
    unsigned s = w->seed;
    for (int op = 0; op < OPS; op++) {
        unsigned i = rnd(&s) % 64;
        if (live[i]) {
            const unsigned char *c = live[i];
            for (SIZE_T k = 0; k < size[i]; k++)
                if (c[k] != (unsigned char)i) w->failures++;
            if (RsvHeapSize(w->heap, 0, live[i]) != size[i] || !RsvHeapFree(w->heap, 0, live[i])) w->failures++;
            live[i] = NULL;
        } else {
            size[i] = rnd(&s) % 700;
            live[i] = RsvHeapAlloc(w->heap, 0, size[i]);
            if (!live[i]) w->failures++;
            else memset(live[i], (int)i, size[i]);
        }
        /* moveable objects and the shared handle's lock count */
        HGLOBAL g = RsvGlobalAlloc(GMEM_MOVEABLE, 1 + op % 200);
        char *p = RsvGlobalLock(g);
        if (!p) w->failures++;
        else p[0] = 1;
        RsvGlobalUnlock(g);
        if (RsvGlobalFree(g)) w->failures++;
        if (RsvGlobalLock(shared_handle) == NULL) w->failures++;
        RsvGlobalUnlock(shared_handle);
    }
    for (int i = 0; i < 32; i++) {
        w->handoff[i] = live[i];  /* freed by the main thread */
        w->handles[i] = RsvGlobalAlloc(GMEM_MOVEABLE, 10);
    }
    for (int i = 32; i < 64; i++)
        if (live[i] && !RsvHeapFree(w->heap, 0, live[i])) w->failures++;
    return NULL;
}

static void run_heap(HANDLE heap, const char *what)
{
    worker_t w[THREADS];
    pthread_t t[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].heap = heap;
        w[i].seed = 99u + (unsigned)i;
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    int failures = 0, freed = 1;
    for (int i = 0; i < THREADS; i++) {
        failures += w[i].failures;
        for (int k = 0; k < 32; k++) {
            if (w[i].handoff[k] && !RsvHeapFree(heap, 0, w[i].handoff[k])) freed = 0;
            if (RsvGlobalFree(w[i].handles[k])) freed = 0;
        }
    }
    CHECK(failures == 0, "%s: %d threads x %d ops, contents and sizes intact", what, THREADS, OPS);
    CHECK(freed, "%s: blocks and handles of exited threads freed by another thread", what);
    CHECK(RsvHeapValidate(heap, 0, NULL), "%s: validates afterwards", what);
}

/* HeapLock on a private heap holds off other threads' allocations. */
static atomic_int lock_phase;
static void *locker_probe(void *arg)
{
    HANDLE h = arg;
    void *p = RsvHeapAlloc(h, 0, 10); /* blocks while the main thread holds the lock */
    atomic_store(&lock_phase, atomic_load(&lock_phase) == 1 ? 2 : 3);
    RsvHeapFree(h, 0, p);
    return NULL;
}

int main(void)
{
    shared_handle = RsvGlobalAlloc(GMEM_MOVEABLE, 64);
    run_heap(RsvGetProcessHeap(), "process heap");
    HANDLE h = RsvHeapCreate(0, 0, 0);
    run_heap(h, "private heap");
    CHECK((RsvGlobalFlags(shared_handle) & GMEM_LOCKCOUNT) == 0,
          "concurrent GlobalLock/GlobalUnlock of one handle balance to 0");
    CHECK(RsvGlobalFree(shared_handle) == NULL, "shared handle freed");

    /* lock_phase: 0 before, 1 while locked, the probe sets 2 if it ran while
     * locked (wrong) or 3 after the unlock (right). */
    RsvHeapLock(h);
    atomic_store(&lock_phase, 1);
    pthread_t t;
    pthread_create(&t, NULL, locker_probe, h);
    for (volatile int i = 0; i < 2000000; i++) {
    }
    atomic_store(&lock_phase, 4);
    RsvHeapUnlock(h);
    pthread_join(t, NULL);
    CHECK(atomic_load(&lock_phase) == 3, "HeapLock holds off another thread's HeapAlloc until HeapUnlock");
    CHECK(RsvHeapDestroy(h), "private heap destroyed");
    return tap_done();
}
