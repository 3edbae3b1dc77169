/* lib/win32/front.c — the per-thread small-block front shared by every
 * façade heap (the process heap and private heaps alike): blocks of up to
 * RSVI_W32_FRONT_MAX bytes come from per-thread bins, so HeapAlloc /
 * HeapFree / GlobalAlloc take no lock and make no heap or OS call on the
 * fast path (issue 5's 10x target under Wine).
 *
 * Memory: one reservation, the run space (4 GiB on 64-bit), whose
 * committed prefix grows 4 MiB at a time and never shrinks, so any pointer
 * can be vetted by one range test before anything is read.  It is cut into
 * 64 KiB runs; a run belongs to one heap and serves one size class:
 *
 *   run:   [ run header 64 B | block | block | ... ]
 *   block: [ size | tag | user bytes (capacity 16*c) ]   stride 16*(c+1)
 *          (class 0, for size 0, has capacity 16: the free-list link)
 *          ^ façade header (w32.h), written by heap.c / global.c
 *
 * Each heap's record starts with its rsvi_w32_front_t: a unique 64-bit key
 * (never reused), the gate the fast paths check, its runs, and per-class
 * lists of blocks that bins gave back.  Each thread holds RSVI_W32_SLOTS
 * slots, direct-mapped by handle; a slot is {heap, key, bins}, a bin one
 * hot block in front of a list (the newest block is the hot one: LIFO).  A
 * slot whose heap no longer carries its key belongs to a destroyed heap:
 * its bins are dropped without being read (their links live in the dead
 * heap's runs).  Free blocks link through their first user word with tag
 * 0, so a cached block reads as freed to every check.
 *
 * HeapDestroy takes the heap's runs back whole: they are purged (their
 * memory goes back to the OS but stays readable) and join the free-run
 * list; HeapDestroy is O(runs), never O(blocks).
 *
 * Locking: one spin lock, f_lock, over the run space, the free-run list,
 * every heap's front state but `gate`, and slot hand-overs between heaps.
 * The fast paths never take it; a bin refill or trim takes it once per
 * RSVI_W32_BIN_MAX/2 or C_BATCH blocks.
 *
 * Must never: read an address before the run space vouches for it, read a
 * destroyed heap's blocks, print, or call an OS function directly.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "os/thread.h"
#include "os/w32err.h"
#include "reservoir/vm.h"
#include "win32/w32.h"

#define C_RUN RSVI_W32_RUN
#define C_RUN_HDR RSVI_W32_RUN_HDR
#define C_STEP ((size_t)4 << 20)   /* run space commit step */
/* 4 GiB: under Wine a reservation costs time in proportion to its size
 * (0.8 ms for 4 GiB, 11 ms for 64 GiB, measured with VirtualAlloc
 * MEM_RESERVE), paid inside the first allocation of the process.  Past
 * it, blocks come from the heap's own path (correct, only slower). */
#define C_SPACE (sizeof(void *) == 8 ? (size_t)4 << 30 : (size_t)256 << 20)
#define C_BATCH 32u                /* blocks a refill moves into a bin */

typedef rsvi_w32_run_t c_run_t;

rsvi_w32_space_t rsvi_w32_space;
static rsvi_lock_t f_lock;
static uintptr_t f_fresh;         /* offset of the next never-used run (under f_lock) */
static c_run_t *f_free_runs;      /* runs of destroyed heaps, purged (under f_lock) */
/* What an unused slot names: never a heap (key 0 against the slot's 1), so
 * the fast paths need no NULL test. */
static rsvi_w32_front_t f_none;

static void c_slot_reset(rsvi_w32_slot_t *s)
{
    s->heap = &f_none;
    s->key = 1;
}

/* Caller holds f_lock.  A run for class cls of front f (recycled or
 * fresh, committed), or NULL when the run space is exhausted or the OS
 * refused memory. */
static c_run_t *c_new_run_locked(rsvi_w32_front_t *f, unsigned cls)
{
    c_run_t *r = f_free_runs;
    if (r) {
        f_free_runs = r->next;
    } else {
        char *space = (char *)atomic_load_explicit(&rsvi_w32_space.base, memory_order_relaxed);
        if (!space) {
            void *base = NULL;
            if (rsv_vm_reserve(C_SPACE, C_RUN, 0, &base, NULL) != 0) return NULL;
            space = base;
            atomic_store_explicit(&rsvi_w32_space.base, (uintptr_t)base, memory_order_relaxed);
        }
        uintptr_t size = atomic_load_explicit(&rsvi_w32_space.size, memory_order_relaxed);
        if (f_fresh + C_RUN > size) {
            if (size + C_STEP > C_SPACE || rsv_vm_commit(space + size, C_STEP) != 0)
                return NULL;
            atomic_store_explicit(&rsvi_w32_space.size, size + C_STEP, memory_order_release);
        }
        r = (c_run_t *)(space + f_fresh);
        f_fresh += C_RUN;
    }
    r->cls = cls;
    r->bin_off = (uint32_t)(offsetof(rsvi_w32_slot_t, bins) + cls * sizeof(rsvi_w32_bin_t));
    r->stride = 16u * ((cls ? cls : 1u) + 1); /* class 0 (size 0) as class 1 */
    r->recip = (uint32_t)((((uint64_t)1 << 32) + r->stride - 1) / r->stride);
    r->capacity = (uint32_t)((C_RUN - C_RUN_HDR) / r->stride);
    r->owner = f;
    r->next = f->runs;
    f->runs = r;
    atomic_store_explicit(&r->carved, 0, memory_order_relaxed);
    return r;
}

/* Caller holds f_lock.  Up to `want` free blocks of class cls of f,
 * chained through their user word into *head (tag 0); returns how many. */
static unsigned c_take_locked(rsvi_w32_front_t *f, unsigned cls, void **head, unsigned want)
{
    unsigned got = 0;
    while (got < want && f->free[cls]) {
        void *u = f->free[cls];
        f->free[cls] = *(void **)u;
        *(void **)u = *head;
        *head = u;
        got++;
    }
    while (got < want) {
        c_run_t *r = f->carving[cls];
        uint32_t carved = r ? atomic_load_explicit(&r->carved, memory_order_relaxed) : 0;
        if (!r || carved == r->capacity) {
            r = c_new_run_locked(f, cls);
            if (!r) break;
            f->carving[cls] = r;
            carved = 0;
        }
        char *b = (char *)r + C_RUN_HDR + (size_t)carved * r->stride;
        /* A recycled run may still hold an old header (MEM_RESET keeps
         * contents): the tag must read as freed before the block counts. */
        ((rsvi_w32_hdr_t *)b)->tag = 0;
        atomic_store_explicit(&r->carved, carved + 1, memory_order_release);
        void *u = b + RSVI_W32_HDR;
        *(void **)u = *head;
        *head = u;
        got++;
    }
    return got;
}

/* Caller holds f_lock.  Moves up to n blocks of s's bin cls's list (and,
 * for n == (size_t)-1, its hot block) to the heap's list when s's heap is
 * still the one it cached, else drops the whole bin unread. */
static void c_give_back_locked(rsvi_w32_slot_t *s, unsigned cls, size_t n)
{
    rsvi_w32_bin_t *b = &s->bins[cls];
    if (s->heap->key != s->key) {
        b->hot = NULL;
        b->head = NULL;
        b->count = 0;
        return;
    }
    if (n == (size_t)-1 && b->hot) { /* everything: the hot block too */
        *(void **)b->hot = s->heap->free[cls];
        s->heap->free[cls] = b->hot;
        b->hot = NULL;
    }
    while (n-- && b->head) {
        void *u = b->head;
        b->head = *(void **)u;
        b->count--;
        *(void **)u = s->heap->free[cls];
        s->heap->free[cls] = u;
    }
}

/* ---- per-thread state ---------------------------------------------------------- */

static void c_thread_exit(void *arg);

/* Thread states are carved from 1 MiB areas (never released) and
 * recycled through a free list, all under f_lock. */
static char *c_tc_area;
static size_t c_tc_left;
static rsvi_w32_tcache_t *c_tc_free;

/* Caller holds nothing.  Creates the calling thread's state (kept in the
 * façade's TLS slot); NULL when memory or the exit hook is unavailable. */
static rsvi_w32_tcache_t *c_tcache_create(void)
{
    const size_t sz = (sizeof(rsvi_w32_tcache_t) + 63) & ~(size_t)63, area = (size_t)1 << 20;
    rsvi_w32_tcache_t *tc = NULL;
    rsvi_lock(&f_lock);
    if (c_tc_free) {
        tc = c_tc_free;
        c_tc_free = *(rsvi_w32_tcache_t **)tc;
    } else {
        if (c_tc_left < sz) {
            void *base = NULL;
            if (rsv_vm_reserve(area, 0, 0, &base, NULL) == 0) {
                if (rsv_vm_commit(base, area) == 0) {
                    c_tc_area = base;
                    c_tc_left = area;
                } else {
                    (void)rsv_vm_release(base, area);
                }
            }
        }
        if (c_tc_left >= sz) {
            tc = (rsvi_w32_tcache_t *)c_tc_area;
            c_tc_area += sz;
            c_tc_left -= sz;
        }
    }
    rsvi_unlock(&f_lock);
    if (!tc) return NULL;
    memset(tc, 0, sizeof *tc);
    for (unsigned i = 0; i < RSVI_W32_SLOTS; i++) c_slot_reset(&tc->slots[i]);
    if (rsvi_os_w32_tls_set(tc) != 0 || rsvi_os_on_thread_exit(c_thread_exit, tc) != 0) {
        (void)rsvi_os_w32_tls_set(NULL);
        rsvi_lock(&f_lock);
        *(rsvi_w32_tcache_t **)tc = c_tc_free;
        c_tc_free = tc;
        rsvi_unlock(&f_lock);
        return NULL;
    }
    return tc;
}

rsvi_w32_tcache_t *rsvi_w32_tcache_slow(void)
{
    rsvi_w32_tcache_t *tc = rsvi_os_w32_tls_get();
    return tc ? tc : c_tcache_create();
}

/* Thread exit: every bin back to its heap if that heap lives, the handle
 * entries back to the table, the state to the free list. */
static void c_thread_exit(void *arg)
{
    rsvi_w32_tcache_t *tc = arg;
    rsvi_w32_entries_flush(tc);
    rsvi_lock(&f_lock);
    for (unsigned i = 0; i < RSVI_W32_SLOTS; i++) {
        rsvi_w32_slot_t *s = &tc->slots[i];
        for (unsigned c = 0; c < RSVI_W32_CLASSES; c++) c_give_back_locked(s, c, (size_t)-1);
        c_slot_reset(s);
    }
    rsvi_unlock(&f_lock);
    (void)rsvi_os_w32_tls_set(NULL);
    rsvi_lock(&f_lock);
    *(rsvi_w32_tcache_t **)tc = c_tc_free;
    c_tc_free = tc;
    rsvi_unlock(&f_lock);
}

/* ---- slots, bins and heaps (w32.h) ---------------------------------------------- */

void rsvi_w32_slot_claim(rsvi_w32_slot_t *s, rsvi_w32_front_t *f)
{
    rsvi_lock(&f_lock);
    if (!rsvi_w32_slot_holds(s, f)) {
        for (unsigned c = 0; c < RSVI_W32_CLASSES; c++) c_give_back_locked(s, c, (size_t)-1);
        s->heap = f;
        s->key = f->key;
    }
    rsvi_unlock(&f_lock);
}

void *rsvi_w32_front_alloc(rsvi_w32_slot_t *s, size_t n)
{
    void *u = rsvi_w32_bin_pop(s, n);
    if (RSV_LIKELY(u != NULL)) return u;
    unsigned cls = rsvi_w32_front_class(n);
    void *head = NULL;
    unsigned got = 0;
    rsvi_lock(&f_lock);
    if (s->heap->key == s->key) got = c_take_locked(s->heap, cls, &head, C_BATCH);
    rsvi_unlock(&f_lock);
    if (!got) return NULL;
    u = head;
    s->bins[cls].head = *(void **)u;
    s->bins[cls].count = got - 1;
    return u;
}

void rsvi_w32_bin_trim(rsvi_w32_slot_t *s, unsigned cls)
{
    size_t n = 0;
    for (void *x = s->bins[cls].head; x && n <= RSVI_W32_BIN_MAX; x = *(void **)x) n++;
    s->bins[cls].count = n;
    if (n <= RSVI_W32_BIN_MAX) return;
    rsvi_lock(&f_lock);
    c_give_back_locked(s, cls, RSVI_W32_BIN_MAX / 2);
    rsvi_unlock(&f_lock);
}

void rsvi_w32_front_init(rsvi_w32_front_t *f, uint64_t key)
{
    rsvi_lock(&f_lock);
    f->key = key;
    f->runs = NULL;
    memset(f->carving, 0, sizeof f->carving);
    memset(f->free, 0, sizeof f->free);
    atomic_store_explicit(&f->gate, key, memory_order_release);
    rsvi_unlock(&f_lock);
}

void rsvi_w32_front_destroy(rsvi_w32_front_t *f)
{
    rsvi_lock(&f_lock);
    atomic_store_explicit(&f->gate, 0, memory_order_release);
    f->key = 0;
    c_run_t *runs = f->runs;
    f->runs = NULL;
    memset(f->carving, 0, sizeof f->carving);
    memset(f->free, 0, sizeof f->free);
    for (c_run_t *r = runs; r; r = r->next) {
        atomic_store_explicit(&r->carved, 0, memory_order_release); /* no pointer passes now */
        r->owner = NULL;
    }
    rsvi_unlock(&f_lock);
    if (!runs) return;
    /* The bodies go back to the OS but stay readable (purge, not
     * decommit): stale pointers may still be vetted against them. */
    size_t page = rsv_vm_page_size();
    c_run_t *last = runs;
    for (c_run_t *r = runs; r; r = r->next) {
        if (page < C_RUN) (void)rsv_vm_purge((char *)r + page, C_RUN - page);
        last = r;
    }
    rsvi_lock(&f_lock);
    last->next = f_free_runs;
    f_free_runs = runs;
    rsvi_unlock(&f_lock);
}

int rsvi_w32_front_walk(rsvi_w32_front_t *f, int (*fn)(void *user, void *block, size_t size, int used),
                        void *user)
{
    int rc = 0;
    rsvi_lock(&f_lock);
    for (c_run_t *r = f->runs; r && !rc; r = r->next) {
        uint32_t carved = atomic_load_explicit(&r->carved, memory_order_relaxed);
        char *b = (char *)r + C_RUN_HDR;
        for (uint32_t i = 0; i < carved && !rc; i++, b += r->stride)
            rc = fn(user, b, r->stride, (((rsvi_w32_hdr_t *)b)->tag & RSVI_W32_LIVE) != 0);
        if (!rc && carved < r->capacity) rc = fn(user, b, (size_t)(r->capacity - carved) * r->stride, 0);
    }
    rsvi_unlock(&f_lock);
    return rc;
}

void rsvi_w32_front_give(rsvi_w32_front_t *f, void *u)
{
    rsvi_lock(&f_lock);
    if (f->key) {
        unsigned cls = rsvi_w32_run_of(u)->cls;
        *(void **)u = f->free[cls];
        f->free[cls] = u;
    }
    rsvi_unlock(&f_lock);
}
