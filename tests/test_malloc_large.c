/* tests/test_malloc_large.c — the default heap's LARGE blocks (over 64 KiB,
 * up to 1 MiB) live on pages every thread shares, and each thread parks
 * the one it freed last (lib/heap/alloc.c large_shared, page.c
 * rsvh_free_foreign): a block freed on one thread serves another thread's
 * allocation; the parked block comes back to its thread first; a parked
 * block reads as freed to every check; thread exit and trim hand it back;
 * a thread that finds the shared pages' lock held takes a page of its own
 * instead of waiting.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heap/heap_internal.h"
#include "internal.h"
#include "reservoir/heap.h"
#include "reservoir/malloc.h"
#include "test_errors.h"

#define LS_SIZE ((size_t)128 << 10)   /* a LARGE class */
#define LS_N 8

static void *ls_blocks[LS_N];
static void *ls_again[LS_N];

static void *ls_alloc(void *arg)
{
    (void)arg;
    for (int i = 0; i < LS_N; i++) {
        ls_blocks[i] = rsv_malloc(LS_SIZE);
        cr_assert_not_null(ls_blocks[i]);
        memset(ls_blocks[i], i + 1, LS_SIZE);
    }
    return NULL;
}
static void *ls_free(void *arg)
{
    (void)arg;
    rsv_free(rsv_malloc(16));   /* a thread with state of its own parks the last block */
    for (int i = 0; i < LS_N; i++) rsv_free(ls_blocks[i]);
    return NULL;
}
static void *ls_alloc_again(void *arg)
{
    (void)arg;
    for (int i = 0; i < LS_N; i++) ls_again[i] = rsv_malloc(LS_SIZE);
    return NULL;
}
static void on_thread(void *(*fn)(void *))
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fn, NULL), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
}
static int was_allocated_before(const void *p)
{
    for (int i = 0; i < LS_N; i++)
        if (ls_blocks[i] == p) return 1;
    return 0;
}
static size_t live_blocks(void)
{
    rsv_heap_stats_t st;
    rsv_heap_stats(rsv_heap_default(), &st);
    return st.blocks;
}

/* This thread allocates, thread B frees, thread C allocates: C gets this
 * thread's blocks back, where pages of this (still running) thread's own
 * would give C new memory. */
Test(malloc_large, blocks_freed_on_one_thread_serve_another, .timeout = 10)
{
    ls_alloc(NULL);
    on_thread(ls_free);        /* and its exit hands back the block it parked */
    on_thread(ls_alloc_again);
    for (int i = 0; i < LS_N; i++) {
        cr_assert_not_null(ls_again[i]);
        cr_assert(was_allocated_before(ls_again[i]), "block %d is new memory", i);
        for (int j = 0; j < i; j++) cr_assert_neq(ls_again[i], ls_again[j], "handed out twice");
    }
    for (int i = 0; i < LS_N; i++) rsv_free(ls_again[i]);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}

Test(malloc_large, parked_block_comes_back_to_its_thread_first, .timeout = 10)
{
    err_setup();
    void *p = rsv_malloc(LS_SIZE);
    memset(p, 1, LS_SIZE);
    rsv_free(p);
    void *q = rsv_malloc(LS_SIZE - 1000);   /* same class */
    cr_assert_eq(q, p);
    memset(q, 2, LS_SIZE - 1000);
    rsv_free(q);
    /* Another class does not take it, and leaves it parked. */
    void *r = rsv_malloc(LS_SIZE * 2);
    cr_assert_not_null(r);
    cr_assert_neq(r, p);
    cr_assert_eq(rsv_malloc(LS_SIZE), p);
    rsv_free(p);
    /* calloc gets the parked block too, written over by its last owner:
     * it must still read zero. */
    unsigned char *z = rsv_calloc(1, LS_SIZE);
    cr_assert_eq((void *)z, p);
    for (size_t i = 0; i < LS_SIZE; i++) cr_assert_eq(z[i], 0, "byte %zu of a calloc'd parked block", i);
    rsv_free(z);
    rsv_free(r);
    cr_assert_eq(err_count, 0, "a block taken back from the park reads as freed");
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}

static void *free_p(void *arg)
{
    rsv_free(arg);
    return NULL;
}

Test(malloc_large, parked_block_reads_as_freed, .timeout = 10)
{
    err_setup();
    void *keep = rsv_malloc(LS_SIZE);
    void *p = rsv_malloc(LS_SIZE);
    rsv_free(p);                       /* parked */
    cr_assert_eq(err_count, 0);
    rsv_free(p);
    cr_assert_eq(err_count, 1, "second free of a parked block is a double free");
    cr_assert_eq(err_code, EINVAL);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, free_p, p), 0);
    pthread_join(t, NULL);
    cr_assert_eq(err_count, 2, "another thread's free of it too");
    cr_assert_eq(rsv_malloc_usable_size(p), 0);   /* no report, as for any non-block */
    cr_assert_eq(err_count, 2);
    cr_assert_null(rsv_realloc(p, 10));
    cr_assert_eq(err_count, 3);
    /* It was handed back once and only once. */
    void *v[LS_N];
    for (int i = 0; i < LS_N; i++) {
        v[i] = rsv_malloc(LS_SIZE);
        cr_assert_neq(v[i], keep);
        for (int j = 0; j < i; j++) cr_assert_neq(v[i], v[j], "handed out twice");
    }
    for (int i = 0; i < LS_N; i++) rsv_free(v[i]);
    rsv_free(keep);
    cr_assert_eq(err_count, 3);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}

static void *alloc_free_one(void *arg)
{
    (void)arg;
    void *p = rsv_malloc(LS_SIZE);
    cr_assert_not_null(p);
    rsv_free(p);   /* parked in this thread until it exits */
    return NULL;
}

Test(malloc_large, thread_exit_hands_back_the_parked_block, .timeout = 10)
{
    rsv_heap_trim(rsv_heap_default());
    size_t before = live_blocks();
    on_thread(alloc_free_one);
    rsv_heap_trim(rsv_heap_default());   /* collects what the exit handed back */
    cr_assert_eq(live_blocks(), before, "the exited thread's parked block is still counted live");
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}

Test(malloc_large, trim_hands_back_the_parked_block, .timeout = 10)
{
    rsv_heap_trim(rsv_heap_default());
    size_t before = live_blocks();
    void *p = rsv_malloc(LS_SIZE);
    cr_assert_eq(live_blocks(), before + 1);
    rsv_free(p);
    cr_assert_eq(live_blocks(), before + 1, "parked: counted until handed back");
    rsv_heap_trim(rsv_heap_default());
    cr_assert_eq(live_blocks(), before);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}

/* rsv_heap_validate reads the shared pages block by block too (it holds
 * their lock): a free block still marked live there is caught. */
Test(malloc_large, validate_reads_the_shared_pages, .timeout = 10)
{
    char *keep = rsv_malloc(LS_SIZE);
    char *p = rsv_malloc(LS_SIZE);
    rsv_free(p);
    rsv_heap_trim(rsv_heap_default());   /* p back on its page's free list, its bit clear */
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
    _Atomic uint64_t *w = rsvh_live_word(rsvh_seg_of(p), p);
    *w |= rsvh_live_bit(p);
    char msg[128];
    cr_assert_neq(rsv_heap_validate(rsv_heap_default(), NULL, msg, sizeof msg), 0);
    cr_assert(strstr(msg, "live") != NULL || strstr(msg, "free") != NULL, "%s", msg);
    *w &= ~rsvh_live_bit(p);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
    rsv_free(keep);
}

static atomic_int churn_stop;
/* Two classes in turn, so that no allocation is the parked block and
 * every one takes the shared pages' lock. */
static void *churn(void *arg)
{
    (void)arg;
    while (!atomic_load(&churn_stop)) {
        void *a = rsv_malloc(LS_SIZE);
        void *b = rsv_malloc(LS_SIZE * 2);
        rsv_free(a);
        rsv_free(b);
    }
    return NULL;
}

/* The owner of p's page. */
static rsvh_tld_t *owner_of(const void *p)
{
    return atomic_load(&rsvh_page_of(p)->owner);
}

/* A thread never waits for the shared pages (alloc.c large_shared): while
 * another holds their lock it takes the block from a page of its own, and
 * that page serves the class while it has free blocks.  Here the lock is
 * this thread's own, so waiting would never end (the timeout fails it). */
Test(malloc_large, never_waits_for_the_shared_pages, .timeout = 10)
{
    rsvi_lock(&rsvh_default_heap.shared_lock);   /* as if another thread were in them */
    char *p = rsv_malloc(LS_SIZE);
    cr_assert_not_null(p);
    memset(p, 1, LS_SIZE);
    cr_assert_eq(owner_of(p), rsvh_tls_get(), "not a page of the thread's own");
    rsvi_unlock(&rsvh_default_heap.shared_lock);
    rsv_free(p);
    char *q = rsv_malloc(LS_SIZE);
    cr_assert_eq(q, p, "the thread's own page no longer serves its class");
    rsv_free(q);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}

static char *own_block;
static int own_block_on_own_page;
static void *alloc_on_own_page(void *arg)
{
    (void)arg;
    own_block = rsv_malloc(LS_SIZE);
    cr_assert_not_null(own_block);
    memset(own_block, 2, LS_SIZE);
    own_block_on_own_page = owner_of(own_block) == rsvh_tls_get();
    return NULL;
}

/* Such a page outlives its thread like any other (abandoned with its
 * live block); the block is freed later from another thread, and a
 * second free of it is still reported. */
Test(malloc_large, own_page_outlives_its_thread, .timeout = 10)
{
    err_setup();
    rsvi_lock(&rsvh_default_heap.shared_lock);
    on_thread(alloc_on_own_page);
    rsvi_unlock(&rsvh_default_heap.shared_lock);
    cr_assert(own_block_on_own_page, "the thread took a shared block while the lock was held");
    cr_assert_eq(own_block[LS_SIZE - 1], 2);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
    rsv_free(own_block);
    cr_assert_eq(err_count, 0);
    rsv_free(own_block);
    cr_assert_eq(err_count, 1, "the second free was not reported");
    cr_assert_eq(err_code, EINVAL);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}

/* The block a free unparks goes straight onto its page's list while the
 * shared pages' lock is free (page.c unpark_block), and onto the page's
 * remote list while it is held: either way it is freed exactly once. */
Test(malloc_large, unparked_block_goes_to_its_page, .timeout = 10)
{
    err_setup();
    char *keep = rsv_malloc(LS_SIZE);   /* the page never empties */
    char *a = rsv_malloc(LS_SIZE), *b = rsv_malloc(LS_SIZE), *c = rsv_malloc(LS_SIZE);
    rsvh_page_t *pg = rsvh_page_of(a);
    cr_assert_eq(owner_of(a), &rsvh_default_heap.tld, "a is not on a shared page");
    rsv_free(a);   /* parked */
    rsv_free(b);   /* parked; a unparked with the lock free */
    cr_assert_eq(atomic_load(&pg->xfree) & ~(uintptr_t)RSVH_TAG, 0, "a went to the remote list");
    cr_assert_eq((char *)pg->free, a, "a is not at the head of its page's list");
    rsvi_lock(&rsvh_default_heap.shared_lock);
    rsv_free(c);   /* parked; b unparked with the lock held */
    rsvi_unlock(&rsvh_default_heap.shared_lock);
    cr_assert_eq((char *)(atomic_load(&pg->xfree) & ~(uintptr_t)RSVH_TAG), b,
                 "b is not on the page's remote list");
    /* a comes back live, without the mark of a pending remote free. */
    char *x = rsv_malloc(LS_SIZE);   /* c, parked */
    char *y = rsv_malloc(LS_SIZE);   /* the head of the page's list */
    cr_assert_eq(x, c);
    cr_assert_eq(y, a);
    rsv_free(y);
    rsv_free(x);
    cr_assert_eq(err_count, 0, "a reused unparked block read as freed");
    rsv_free(a);
    rsv_free(b);
    cr_assert_eq(err_count, 2, "a second free of an unparked block went unreported");
    rsv_free(keep);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}

/* The shared pages' lock is held across fork (heap.c heap_fork_prepare):
 * a child forked while another thread held it would wait forever. */
Test(malloc_large, fork_while_another_thread_allocates, .timeout = 60)
{
    pthread_t t;
    atomic_store(&churn_stop, 0);
    cr_assert_eq(pthread_create(&t, NULL, churn, NULL), 0);
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            alarm(10);   /* a deadlock fails the test instead of hanging it */
            for (int k = 0; k < 100; k++) {
                void *a = rsv_malloc(LS_SIZE * (size_t)(1 + k % 3));
                if (!a) _exit(2);
                memset(a, k, 4096);
                rsv_free(a);
            }
            _exit(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0) == 0 ? 0 : 1);
        }
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status 0x%x", i, status);
    }
    atomic_store(&churn_stop, 1);
    pthread_join(t, NULL);
    cr_assert_eq(rsv_heap_validate(rsv_heap_default(), NULL, NULL, 0), 0);
}
