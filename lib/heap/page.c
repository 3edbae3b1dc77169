/* lib/heap/page.c — a tld's pages: the per-class queues and the direct
 * table the fast path reads, refilling a page (remote frees, extension, a
 * new or abandoned page), the full queue with its delayed-free handshake,
 * retiring empty pages, and abandoning pages when a thread exits.
 *
 * Owner-only code except rsvh_free_remote (any thread) and
 * rsvh_abandoned_collect (heap lock held).  Never allocates from a heap;
 * never calls the error handler except through the segment layer.
 */
#include <string.h>

#include "heap/heap_internal.h"

/* Pages carved past this many bytes are rewound when they empty. */
#define RSVH_REWIND_MIN 8192
/* Largest block whose page keeps its free list when it goes back to its
 * segment (page_release). */
#ifndef RSVH_KEEP_LIST_MAX
#define RSVH_KEEP_LIST_MAX 64
#endif
/* Blocks page_extend carves at once from blocks carved before (resident). */
#ifndef RSVH_CARVE_RESIDENT
#define RSVH_CARVE_RESIDENT 16
#endif

/* ---- queues ------------------------------------------------------------- */

/* Keeps RSVH_SOLE set exactly for the page alone in its queue, so the free
 * fast path can skip the retire check for it (alloc/free pairs empty it
 * on every free) unless it is also RSVH_SPREAD (to be rewound). */
static void queue_fix_sole(rsvh_queue_t *q, rsvh_page_t *moved)
{
    moved->sole &= (uint8_t)~RSVH_SOLE;
    if (!q->first) return;
    uint8_t alone = q->first == q->last ? RSVH_SOLE : 0;
    q->first->sole = (uint8_t)((q->first->sole & ~RSVH_SOLE) | alone);
    q->last->sole = (uint8_t)((q->last->sole & ~RSVH_SOLE) | alone);
}

static void queue_remove(rsvh_queue_t *q, rsvh_page_t *pg)
{
    RSV_ASSERT_INV(pg->prev ? pg->prev->next == pg : q->first == pg);
    RSV_ASSERT_INV(pg->next ? pg->next->prev == pg : q->last == pg);
    if (pg->prev) pg->prev->next = pg->next;
    else q->first = pg->next;
    if (pg->next) pg->next->prev = pg->prev;
    else q->last = pg->prev;
    pg->next = pg->prev = NULL;
    queue_fix_sole(q, pg);
}

static void queue_push_front(rsvh_queue_t *q, rsvh_page_t *pg)
{
    pg->prev = NULL;
    pg->next = q->first;
    if (q->first) q->first->prev = pg;
    else q->last = pg;
    q->first = pg;
    queue_fix_sole(q, pg);
}

static void queue_push_back(rsvh_queue_t *q, rsvh_page_t *pg)
{
    pg->next = NULL;
    pg->prev = q->last;
    if (q->last) q->last->next = pg;
    else q->first = pg;
    q->last = pg;
    queue_fix_sole(q, pg);
}

/* Points the direct entries of class cls at its first page. */
static void direct_update(rsvh_tld_t *t, unsigned cls)
{
    size_t size = rsvh_class_size[cls];
    if (size > RSVH_DIRECT_MAX) return;
    size_t lo = cls == 0 ? 0 : rsvh_class_size[cls - 1] / 16 + 1;
    size_t hi = size / 16;
    rsvh_page_t *pg = t->queues[cls].first ? t->queues[cls].first : &rsvh_page_empty;
    for (size_t i = lo; i <= hi; i++) t->direct[i] = pg;
}

/* ---- delay state of xfree -------------------------------------------------- */

/* Sets the delay state, waiting while a remote thread is DELAYING.  With
 * only_if_empty, succeeds only while no remote block is pending and returns
 * 0 otherwise. */
static int page_set_tag(rsvh_page_t *pg, uintptr_t tag, int only_if_empty)
{
    uintptr_t old = atomic_load_explicit(&pg->xfree, memory_order_relaxed);
    for (unsigned spins = 0;; spins++) {
        if ((old & RSVH_TAG) == RSVH_DELAYING) {
            if (spins < 64) rsvi_cpu_relax();
            else rsvi_os_yield();
            old = atomic_load_explicit(&pg->xfree, memory_order_relaxed);
            continue;
        }
        if (only_if_empty && (old & ~(uintptr_t)RSVH_TAG)) return 0;
        if ((old & RSVH_TAG) == tag) return 1;
        if (atomic_compare_exchange_weak_explicit(&pg->xfree, &old, (old & ~(uintptr_t)RSVH_TAG) | tag,
                                                  memory_order_acq_rel, memory_order_relaxed))
            return 1;
    }
}

/* Moves the remote frees of pg onto pg->free, clearing their live bits.
 * Caller owns pg (or holds the heap lock on an abandoned page). */
static void page_collect(rsvh_page_t *pg)
{
    uintptr_t old = atomic_load_explicit(&pg->xfree, memory_order_relaxed);
    if ((old & ~(uintptr_t)RSVH_TAG) == 0) return;
    while (!atomic_compare_exchange_weak_explicit(&pg->xfree, &old, old & RSVH_TAG,
                                                  memory_order_acquire, memory_order_relaxed)) {
    }
    rsvh_block_t *head = (rsvh_block_t *)(old & ~(uintptr_t)RSVH_TAG);
    if (!head) return;
    uint32_t n = 1;
    rsvh_block_t *tail = head;
    rsvh_collected(tail);
    while (tail->next) {
        tail = tail->next;
        rsvh_collected(tail);
        n++;
    }
    tail->next = pg->free;
    pg->free = head;
    rsvh_used_set(pg, rsvh_used(pg) - n);
}

/* Carves new blocks from the bump frontier onto free: the blocks that start
 * in the 4 KiB page the frontier is in (at least one).  Carving writes each
 * block's first words, so carving further would touch pages that a class
 * with few blocks never uses (measured: 16 KiB steps cost ~0.8 MiB of RSS
 * in a 10,000-object frame spread over 40 classes). */
static void page_extend(rsvh_page_t *pg)
{
    uint32_t cap = atomic_load_explicit(&pg->capacity, memory_order_relaxed);
    uint32_t n = pg->reserved - cap;
    if (n == 0) return;
    size_t bs = pg->block_size;
    char *first = rsvh_page_start(pg) + (size_t)cap * bs;
    uintptr_t page_end = ((uintptr_t)first | 4095) + 1;
    /* Blocks starting before page_end: a division by the page's
     * reciprocal (exact below 8 MiB, see page_magic), not a div. */
    uint32_t m = (uint32_t)(((uint64_t)(page_end - (uintptr_t)first + bs - 1) * pg->magic) >> pg->shift);
    /* A rewound page (page_rewind), or one claimed again for the class it
     * held (rsvh_page_claim), was carved up to `touched` before: those
     * blocks' first words are resident, so carve up to RSVH_CARVE_RESIDENT
     * bytes (at least 8 blocks) of them at once: no new memory touched, and
     * fewer trips down the slow path for the 1-4 KiB classes, which get 1-4
     * blocks per 4 KiB, and the MEDIUM ones, which get 1. */
    if (m < RSVH_CARVE_RESIDENT && pg->touched > cap + m) {
        uint32_t k = pg->touched - cap;
        m = k < RSVH_CARVE_RESIDENT ? k : RSVH_CARVE_RESIDENT;
    }
    if (n > m) n = m;
    char *b = first, *last = first + (size_t)(n - 1) * bs;
    for (; b != last; b += bs) ((rsvh_block_t *)b)->next = (rsvh_block_t *)(b + bs);
    ((rsvh_block_t *)b)->next = pg->free;
    pg->free = (rsvh_block_t *)first;
    atomic_store_explicit(&pg->capacity, (uint16_t)(cap + n), memory_order_relaxed);
    if ((size_t)(cap + n) * bs > RSVH_REWIND_MIN) pg->sole |= RSVH_SPREAD;
}

/* Parks pg (no free block, nothing to carve) in t's full queue.  Returns 0
 * when remote frees arrived meanwhile (pg stays, collect again). */
static int page_to_full(rsvh_tld_t *t, rsvh_page_t *pg)
{
    if (t->heap->is_default && !page_set_tag(pg, RSVH_DELAY, 1)) return 0;
    queue_remove(&t->queues[pg->cls], pg);
    queue_push_back(&t->full, pg);
    pg->in_full = 1;
    return 1;
}

static void page_unfull(rsvh_tld_t *t, rsvh_page_t *pg)
{
    if (t->heap->is_default) page_set_tag(pg, RSVH_NORMAL, 0);
    queue_remove(&t->full, pg);
    pg->in_full = 0;
    rsvh_queue_t *q = &t->queues[pg->cls];
    int was_empty = q->first == NULL;
    queue_push_back(q, pg);
    if (was_empty) direct_update(t, pg->cls);
}

/* 1 when the free list of pg (all its blocks free) went back in or
 * against address order: its last two blocks freed are neighbours (both
 * just written: no miss).  A random order leaves them neighbours 2 times
 * in n.  Such a list is as good as a new carve, so carving again would
 * only add a pass of stores over the page. */
static int page_list_in_order(const rsvh_page_t *pg)
{
    const rsvh_block_t *b = pg->free;
    if (!b || !b->next) return 1;
    uintptr_t d = (uintptr_t)b > (uintptr_t)b->next ? (uintptr_t)b - (uintptr_t)b->next
                                                    : (uintptr_t)b->next - (uintptr_t)b;
    return d == pg->block_size;
}

/* Returns empty page pg to its segment (heap lock held).  Its free list
 * stays with the descriptor when it holds every block ever carved there
 * (capacity >= touched) in address order: rsvh_page_claim hands it back
 * as it is when the class takes the page again, so a batch freed in
 * order (LIFO or FIFO) costs no second carve of the same memory. */
static void page_release(rsv_heap_t *h, rsvh_page_t *pg)
{
    if (pg->block_size > RSVH_KEEP_LIST_MAX ||
        atomic_load_explicit(&pg->capacity, memory_order_relaxed) < pg->touched || !page_list_in_order(pg))
        pg->free = NULL;
    rsvh_page_release(h, pg);
}

/* Returns an empty page to its segment. */
static void page_retire(rsvh_tld_t *t, rsvh_page_t *pg)
{
    rsvh_queue_t *q = pg->in_full ? &t->full : &t->queues[pg->cls];
    int was_first = q->first == pg;
    queue_remove(q, pg);
    if (was_first && !pg->in_full) direct_update(t, pg->cls);
    pg->in_full = 0;
    if (t->spare[pg->cls] == pg) t->spare[pg->cls] = NULL;
    rsv_heap_t *h = t->heap;
    rsvh_lock(h);
    page_release(h, pg);
    rsvh_unlock(h);
}

/* Empties the free list of an empty page kept in its queue, so that its
 * next blocks are carved again in address order (page_extend) instead of
 * popped from a list in the order the program freed them: a list freed in
 * random order makes every allocation a dependent cache miss on the next
 * link.  A list freed in address order (either way) is kept.  The memory carved again is the memory carved before, so this
 * touches no new page.  Pages carved no further than one extension keep
 * their list (it lies in one 4 KiB page anyway): alloc/free pairs stay off
 * the slow path.  Caller owns pg; all its blocks are free and collected. */
static void page_rewind(rsvh_page_t *pg)
{
    uint32_t cap = atomic_load_explicit(&pg->capacity, memory_order_relaxed);
    if ((size_t)cap * pg->block_size <= RSVH_REWIND_MIN) return;
    pg->sole &= (uint8_t)~RSVH_SPREAD;
    if (page_list_in_order(pg)) return;
    pg->free = NULL;
    if (cap > pg->touched) pg->touched = (uint16_t)cap;
    atomic_store_explicit(&pg->capacity, 0, memory_order_relaxed);
}

/* Blocks of pg whose first words are resident (carved since it was claimed). */
static uint32_t page_touched(const rsvh_page_t *pg)
{
    uint32_t cap = atomic_load_explicit(&((rsvh_page_t *)pg)->capacity, memory_order_relaxed);
    return cap > pg->touched ? cap : pg->touched;
}

void rsvh_free_local_slow(rsvh_tld_t *t, rsvh_page_t *pg)
{
    if (pg->in_full) page_unfull(t, pg);
    if (rsvh_used(pg) != 0) return;
    rsvh_queue_t *q = &t->queues[pg->cls];
    if (q->first == pg && q->last == pg) {   /* keep the class's only page */
        page_rewind(pg);
        return;
    }
    /* Of two empty pages keep the one carved further: its blocks' first
     * words are resident already, while the other's next allocations would
     * carve (touch) new 4 KiB pages.  (A page kept as the only one while
     * its fuller sibling sat in the full queue made a second pass over a
     * 10,000-object frame touch 132 more pages.) */
    uint32_t cap = page_touched(pg);
    if (pg->block_size <= RSVH_SMALL_MAX) {
        /* A SMALL class keeps one empty page (t->spare) while its other
         * pages still hold blocks: freeing in allocation order empties the
         * fully carved pages first and the partly carved last page last,
         * and retiring each as it emptied kept that last page, so the next
         * round carved the rest of it: new resident memory (rss/frame, a
         * 10,000-object frame run twice: 4,100 -> 3,808 KiB).  Bounded:
         * one page per SMALL class; trim and thread exit retire it. */
        rsvh_page_t *o = t->spare[pg->cls];
        if (o && o != pg && rsvh_used(o) == 0) {
            if (page_touched(o) >= cap) {
                page_retire(t, pg);
                return;
            }
            page_retire(t, o);
        }
        t->spare[pg->cls] = pg;
        page_rewind(pg);
        return;
    }
    unsigned n = 0;
    for (rsvh_page_t *o = q->first; o && n < 4; o = o->next, n++) {
        if (o != pg && rsvh_used(o) == 0 && page_touched(o) < cap) {
            page_retire(t, o);
            page_rewind(pg);
            return;
        }
    }
    page_retire(t, pg);
}

int rsvh_free_owned_checked(rsvh_tld_t *t, rsvh_page_t *pg, rsvh_block_t *b)
{
    /* Its live bit is set, but a remote thread may have freed it into
     * xfree or (pg in the full queue) our delayed list: then only the
     * cookie tells.  With both empty the bit is the truth, and a page that
     * merely sits in the full queue costs no read of the (cold) block (a
     * class with few spare blocks frees into parked pages at most steps). */
    /* xfree: a pending block, or a remote thread DELAYING (pushing onto
     * our delayed list); the DELAY tag alone only says pg is parked. */
    if (((atomic_load_explicit(&pg->xfree, memory_order_relaxed) & ~(uintptr_t)RSVH_DELAY) != 0 ||
         atomic_load_explicit(&t->delayed, memory_order_relaxed) != NULL) &&
        b->cookie == rsvh_cookie(b))
        return 0;
    rsvh_free_local(t, pg, b);
    return 1;
}

void rsvh_free_remote(rsvh_page_t *pg, rsvh_block_t *b)
{
    b->cookie = rsvh_cookie(b);
    uintptr_t old = atomic_load_explicit(&pg->xfree, memory_order_relaxed);
    for (;;) {
        if ((old & RSVH_TAG) == RSVH_DELAY) {
            if (!atomic_compare_exchange_weak_explicit(&pg->xfree, &old,
                                                       (old & ~(uintptr_t)RSVH_TAG) | RSVH_DELAYING,
                                                       memory_order_acq_rel, memory_order_relaxed))
                continue;
            /* The owner cannot leave while we are DELAYING. */
            rsvh_tld_t *t = atomic_load_explicit(&pg->owner, memory_order_acquire);
            rsvh_block_t *head = atomic_load_explicit(&t->delayed, memory_order_relaxed);
            do {
                b->next = head;
            } while (!atomic_compare_exchange_weak_explicit(&t->delayed, &head, b,
                                                            memory_order_release, memory_order_relaxed));
            old = atomic_load_explicit(&pg->xfree, memory_order_relaxed);
            while (!atomic_compare_exchange_weak_explicit(&pg->xfree, &old,
                                                          (old & ~(uintptr_t)RSVH_TAG) | RSVH_NORMAL,
                                                          memory_order_release, memory_order_relaxed)) {
            }
            return;
        }
        b->next = (rsvh_block_t *)(old & ~(uintptr_t)RSVH_TAG);
        if (atomic_compare_exchange_weak_explicit(&pg->xfree, &old, (uintptr_t)b | (old & RSVH_TAG),
                                                  memory_order_release, memory_order_relaxed))
            return;
    }
}

/* A parked block (cookie set) going back to its shared LARGE page: when
 * nobody holds the shared pages' lock, straight onto the page's list under
 * it, so the next allocation finds it there without collecting a remote
 * list (a thread churning eight 128 KiB blocks: 17.6 -> 15.7 ns per
 * block); else onto the page's remote list, without waiting. */
static void unpark_block(rsvh_block_t *b)
{
    rsvh_page_t *pg = rsvh_page_of(b);
    rsv_heap_t *h = &rsvh_default_heap;
    if (rsvi_trylock(&h->shared_lock)) {
        b->cookie = 0;   /* a free block on its owner's list carries none */
        rsvh_free_local(&h->tld, pg, b);
        rsvi_unlock(&h->shared_lock);
        return;
    }
    rsvh_free_remote(pg, b);
}

void rsvh_free_foreign(rsvh_tld_t *t, rsvh_page_t *pg, rsvh_block_t *b)
{
    if (atomic_load_explicit(&pg->owner, memory_order_relaxed) == &rsvh_default_heap.tld &&
        t != &rsvh_tld_empty) {
        /* A shared LARGE page (rsvh_alloc_slow): park b for this thread's
         * next allocation of its class, which then takes no lock.  The
         * cookie makes every check read b as freed (a pending remote
         * free) while it waits; a page keeps counting it as live, so at
         * most one block per thread is kept from the others. */
        b->cookie = rsvh_cookie(b);
        rsvh_block_t *old = t->parked;
        t->parked = b;
        if (old) unpark_block(old);
        return;
    }
    rsvh_free_remote(pg, b);
}

void rsvh_tld_unpark(rsvh_tld_t *t)
{
    rsvh_block_t *b = t->parked;
    if (!b) return;
    t->parked = NULL;
    unpark_block(b);
}

void rsvh_tld_delayed(rsvh_tld_t *t)
{
    rsvh_block_t *b = atomic_exchange_explicit(&t->delayed, NULL, memory_order_acquire);
    while (b) {
        rsvh_block_t *next = b->next;
        rsvh_page_t *pg = rsvh_page_of(b);
        rsvh_collected(b);
        b->next = pg->free;
        pg->free = b;
        uint32_t u = rsvh_used(pg) - 1;
        rsvh_used_set(pg, u);
        if (u == 0 || pg->in_full) rsvh_free_local_slow(t, pg);
        b = next;
    }
}

/* Takes an abandoned page of class cls (default heap) or a new one, owned
 * by t and at the front of its queue with a free block.  NULL on OOM. */
static rsvh_page_t *page_fresh(rsvh_tld_t *t, unsigned cls)
{
    rsv_heap_t *h = t->heap;
    for (;;) {
        rsvh_page_t *pg = NULL;
        int adopted = 0;
        rsvh_lock(h);
        if (h->is_default && h->abandoned[cls]) {
            pg = h->abandoned[cls];
            h->abandoned[cls] = pg->next;
            if (pg->next) pg->next->prev = NULL;
            pg->next = pg->prev = NULL;
            adopted = 1;
        } else {
            pg = rsvh_page_claim(h, cls);
        }
        rsvh_unlock(h);
        if (!pg) return NULL;
        atomic_store_explicit(&pg->owner, t, memory_order_release);
        queue_push_front(&t->queues[cls], pg);
        direct_update(t, cls);
        if (adopted) {
            if (h->is_default) page_set_tag(pg, RSVH_NORMAL, 0);
            page_collect(pg);
        } else if ((size_t)atomic_load_explicit(&pg->capacity, memory_order_relaxed) * pg->block_size >
                   RSVH_REWIND_MIN) {
            pg->sole |= RSVH_SPREAD;   /* came back with its kept list (rsvh_page_claim) */
        }
        if (!pg->free) page_extend(pg);
        if (pg->free) return pg;
        if (!page_to_full(t, pg)) {
            page_collect(pg);
            if (pg->free) return pg;
        }
        direct_update(t, cls);
    }
}

void *rsvh_page_alloc_slow(rsvh_tld_t *t, size_t size)
{
    if (atomic_load_explicit(&t->delayed, memory_order_relaxed)) rsvh_tld_delayed(t);
    unsigned cls = rsvh_class_of(size);
    rsvh_queue_t *q = &t->queues[cls];
    rsvh_page_t *first = q->first;
    rsvh_page_t *pg = first;
    while (pg) {
        rsvh_page_t *next = pg->next;
        if (pg->free) break;
        page_collect(pg);
        if (pg->free) break;
        if (atomic_load_explicit(&pg->capacity, memory_order_relaxed) < pg->reserved) {
            page_extend(pg);
            break;
        }
        if (!page_to_full(t, pg)) {
            page_collect(pg);
            if (pg->free) break;
            next = pg->next; /* could not park it; try the rest */
        }
        pg = next;
    }
    if (!pg) {
        pg = page_fresh(t, cls);   /* first in q, direct entries updated */
        if (!pg) return NULL;
    } else if (pg != first) {
        /* Pages before it went to the full queue, or it moves up. */
        if (pg != q->first) {
            queue_remove(q, pg);
            queue_push_front(q, pg);
        }
        direct_update(t, cls);
    }
    return rsvh_block_take(pg);
}

/* Visits every page of t (class queues and full queue). */
#define TLD_FOREACH_PAGE(t, pg, body)                                        \
    do {                                                                     \
        for (unsigned c_ = 0; c_ <= RSVH_CLASSES; c_++) {                    \
            rsvh_queue_t *q_ = c_ < RSVH_CLASSES ? &(t)->queues[c_] : &(t)->full; \
            rsvh_page_t *n_;                                                 \
            for (rsvh_page_t *pg = q_->first; pg; pg = n_) {                 \
                n_ = pg->next;                                               \
                body                                                         \
            }                                                                \
        }                                                                    \
    } while (0)

void rsvh_tld_collect(rsvh_tld_t *t, int retire_all)
{
    if (atomic_load_explicit(&t->delayed, memory_order_relaxed)) rsvh_tld_delayed(t);
    TLD_FOREACH_PAGE(t, pg, {
        page_collect(pg);
        if (pg->in_full && pg->free) page_unfull(t, pg);
        if (rsvh_used(pg) == 0 && retire_all) page_retire(t, pg);
    });
    for (unsigned c = 0; c < RSVH_CLASSES; c++) direct_update(t, c);
}

void rsvh_tld_abandon(rsvh_tld_t *t)
{
    rsv_heap_t *h = t->heap;
    rsvh_tld_unpark(t);
    /* 1: no remote thread may start using t->delayed after this. */
    TLD_FOREACH_PAGE(t, pg, { page_set_tag(pg, RSVH_NEVER, 0); });
    /* 2: take back what was delayed before. */
    rsvh_block_t *b = atomic_exchange_explicit(&t->delayed, NULL, memory_order_acquire);
    while (b) {
        rsvh_block_t *next = b->next;
        rsvh_page_t *pg = rsvh_page_of(b);
        rsvh_collected(b);
        b->next = pg->free;
        pg->free = b;
        rsvh_used_set(pg, rsvh_used(pg) - 1);
        b = next;
    }
    /* 3: retire empty pages, hand the others to the heap. */
    rsvh_lock(h);
    TLD_FOREACH_PAGE(t, pg, {
        page_collect(pg);
        pg->next = pg->prev = NULL;
        pg->in_full = 0;
        atomic_store_explicit(&pg->owner, NULL, memory_order_release);
        if (rsvh_used(pg) == 0) {
            page_release(h, pg);
        } else {
            pg->next = h->abandoned[pg->cls];
            if (pg->next) pg->next->prev = pg;
            h->abandoned[pg->cls] = pg;
        }
    });
    rsvh_unlock(h);
    for (unsigned c = 0; c < RSVH_CLASSES; c++) {
        t->queues[c].first = t->queues[c].last = NULL;
        t->spare[c] = NULL;
    }
    t->full.first = t->full.last = NULL;
    for (unsigned i = 0; i < RSVH_DIRECT; i++) t->direct[i] = &rsvh_page_empty;
}

void rsvh_abandoned_collect(rsv_heap_t *h)
{
    for (unsigned c = 0; c < RSVH_CLASSES; c++) {
        rsvh_page_t *next;
        for (rsvh_page_t *pg = h->abandoned[c]; pg; pg = next) {
            next = pg->next;
            page_collect(pg);
            if (rsvh_used(pg) != 0) continue;
            if (pg->prev) pg->prev->next = pg->next;
            else h->abandoned[c] = pg->next;
            if (pg->next) pg->next->prev = pg->prev;
            pg->next = pg->prev = NULL;
            page_release(h, pg);
        }
    }
}
