/* tests/debug_bugs/bug.h — scaffolding shared by the bug programs: each
 * program commits one of the seed article's memory errors against the
 * allocator named by argv[1] (arena, pool, heap, win32, malloc), with the
 * debug features named by RSV_DEBUG (the same words for every allocator:
 * the malloc replacement reads them itself, the others get them through
 * their options here).  check.py runs them and checks the reports.
 *
 *   RSV_DEBUG=canary build/tests/bug_overrun heap
 */
#ifndef RSV_TESTS_BUG_H
#define RSV_TESTS_BUG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug/dbg.h"
#include "internal.h"
#include "reservoir.h"
#include "reservoir/win32.h"

enum { BUG_ARENA, BUG_POOL, BUG_HEAP, BUG_WIN32, BUG_MALLOC };
static int bug_which;
static rsv_debug_opts_t bug_dbg;
static rsv_arena_t *bug_arena;
static rsv_pool_t *bug_pool;
static rsv_heap_t *bug_heap;
static HANDLE bug_win;
/* Arena "free" pops back to the position before the block. */
static struct { void *p; size_t pos; } bug_marks[64];
static int bug_nmarks;

/* Opens the allocator named by argv[1].  block: the pool's block size;
 * cap: a capacity to run out of (0: default). */
static void bug_open(int argc, char **argv, size_t block, size_t cap)
{
    static const char *names[] = {"arena", "pool", "heap", "win32", "malloc"};
    bug_which = -1;
    for (int i = 0; argc > 1 && i < 5; i++)
        if (strcmp(argv[1], names[i]) == 0) bug_which = i;
    if (bug_which < 0) {
        fprintf(stderr, "usage: %s arena|pool|heap|win32|malloc\n", argv[0]);
        exit(2);
    }
    rsvi_dbg_opts_from_env(rsvi_env()->debug, &bug_dbg);
    switch (bug_which) {
    case BUG_ARENA: {
        rsv_arena_opts_t o = {0};
        o.reserve = cap;
        o.name = "bugs";
        o.debug = &bug_dbg;
        bug_arena = rsv_arena_create(&o);
        break;
    }
    case BUG_POOL: {
        rsv_pool_opts_t o = {0};
        o.block_size = block;
        o.reserve = cap;
        o.name = "bugs";
        o.debug = &bug_dbg;
        bug_pool = rsv_pool_create(&o);
        break;
    }
    case BUG_HEAP: {
        rsv_heap_opts_t o = {0};
        o.max_size = cap;
        o.name = "bugs";
        o.debug = &bug_dbg;
        bug_heap = rsv_heap_create(&o);
        break;
    }
    case BUG_WIN32:
        /* RSV_DEBUG applies to every heap, the façade's included.  A failed
         * allocation is the façade's own business, the Windows way:
         * HEAP_GENERATE_EXCEPTIONS, which the bug programs ask for when
         * RSV_DEBUG says oom_abort. */
        bug_win = RsvHeapCreate((rsvi_env()->debug & RSVI_DBG_OOM_ABORT) ? HEAP_GENERATE_EXCEPTIONS : 0,
                                0, cap);
        break;
    default:
        break;
    }
    if (bug_which != BUG_MALLOC && !bug_arena && !bug_pool && !bug_heap && !bug_win) {
        fprintf(stderr, "cannot create the allocator\n");
        exit(3);
    }
}

/* Always inlined, so that the allocation site is the caller's line. */
static inline __attribute__((always_inline)) void *bug_alloc(size_t n)
{
    switch (bug_which) {
    case BUG_ARENA: {
        size_t pos = rsv_arena_pos(bug_arena);
        void *p = rsv_arena_alloc(bug_arena, n);
        if (p && bug_nmarks < 64) {
            bug_marks[bug_nmarks].p = p;
            bug_marks[bug_nmarks++].pos = pos;
        }
        return p;
    }
    case BUG_POOL: return rsv_pool_alloc(bug_pool);
    case BUG_HEAP: return rsv_heap_alloc(bug_heap, n);
    case BUG_WIN32: return RsvHeapAlloc(bug_win, 0, n);
    default: return rsv_malloc(n);
    }
}

static inline __attribute__((always_inline)) void bug_free(void *p)
{
    switch (bug_which) {
    case BUG_ARENA:
        for (int i = bug_nmarks; i-- > 0;)
            if (bug_marks[i].p == p) {
                rsv_arena_pop_to(bug_arena, bug_marks[i].pos);
                bug_nmarks = i;
                return;
            }
        rsv_arena_pop_to(bug_arena, 0); /* not ours: the arena cannot free it; reset */
        return;
    case BUG_POOL: rsv_pool_free(bug_pool, p); return;
    case BUG_HEAP: rsv_heap_free(bug_heap, p); return;
    case BUG_WIN32:
        /* The façade checks its own block header first and refuses a bad
         * pointer itself (FALSE + last error) before the heap sees it. */
        if (!RsvHeapFree(bug_win, 0, p))
            fprintf(stderr, "HeapFree failed: last error %lu\n", (unsigned long)RsvGetLastError());
        return;
    default: rsv_free(p); return;
    }
}

/* Destroys the allocator (the malloc replacement reports at exit). */
static void bug_close(void)
{
    switch (bug_which) {
    case BUG_ARENA: rsv_arena_destroy(bug_arena); break;
    case BUG_POOL: rsv_pool_destroy(bug_pool); break;
    case BUG_HEAP: rsv_heap_destroy(bug_heap); break;
    case BUG_WIN32: RsvHeapDestroy(bug_win); break;
    default: break;
    }
}

/* Allocates and frees enough blocks of size n to push anything out of a
 * default quarantine (4096 blocks). */
static __attribute__((unused)) void bug_churn(size_t n)
{
    for (int i = 0; i < 5000; i++) {
        void *q = bug_alloc(n);
        if (q) bug_free(q);
    }
}

#endif
