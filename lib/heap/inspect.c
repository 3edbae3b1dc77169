/* lib/heap/inspect.c — looking at a heap from outside the hot paths:
 * rsv_heap_validate (the full consistency check, which doubles as
 * HeapValidate), rsv_heap_walk (HeapWalk), rsv_heap_stats and
 * rsv_heap_trim.
 *
 * On the default heap other live threads own pages: their free lists are
 * theirs alone, so validate and walk check those pages' shared fields only
 * and report their carved blocks as in use; the calling thread's pages and
 * abandoned pages are checked block by block.  Never allocates; messages
 * are formatted into the caller's buffer.
 */
#include <errno.h>
#include <string.h>

#include "heap/heap_internal.h"

/* ---- locking for inspection ----------------------------------------------------- */

static void insp_lock(rsv_heap_t *h)
{
    if (!h->is_default && !(h->flags & RSV_HEAP_NO_SERIALIZE)) rsvi_rlock(&h->api_lock);
    if (h->is_default) rsvi_lock(&h->shared_lock);   /* the shared LARGE pages hold still */
    rsvh_lock(h);
}

static void insp_unlock(rsv_heap_t *h)
{
    rsvh_unlock(h);
    if (h->is_default) rsvi_unlock(&h->shared_lock);
    if (!h->is_default && !(h->flags & RSV_HEAP_NO_SERIALIZE)) rsvi_runlock(&h->api_lock);
}

/* The tld whose pages the caller may read block by block. */
static rsvh_tld_t *insp_self(rsv_heap_t *h)
{
    return h->is_default ? rsvh_tls_get() : &h->tld;
}

static int insp_readable(rsv_heap_t *h, const rsvh_page_t *pg)
{
    rsvh_tld_t *o = atomic_load_explicit(&((rsvh_page_t *)pg)->owner, memory_order_acquire);
    return o == insp_self(h) || (h->is_default && (o == NULL || o == &h->tld));
}

/* ---- validate ----------------------------------------------------------------- */

static int bad(char *msg, size_t n, const char *what)
{
    if (msg && n) {
        size_t l = strlen(what);
        if (l >= n) l = n - 1;
        memcpy(msg, what, l);
        msg[l] = '\0';
    }
    return EINVAL;
}

/* Counts a free list of pg, checking every link (and, with need_cookie,
 * every block's cookie: the remote list's blocks carry one; each block's
 * live bit must be `live`: clear on the owner's list, still set on the
 * remote list).  Returns the count or -1 on
 * a bad link. */
static long insp_list(rsvh_segment_t *s, const rsvh_page_t *pg, const rsvh_block_t *b,
                      int need_cookie, int live)
{
    uint32_t cap = atomic_load_explicit(&((rsvh_page_t *)pg)->capacity, memory_order_relaxed);
    long n = 0;
    for (; b; b = b->next) {
        uintptr_t off = (uintptr_t)b - (uintptr_t)rsvh_page_start(pg);
        if ((uintptr_t)b < (uintptr_t)rsvh_page_start(pg) || off % pg->block_size || off / pg->block_size >= cap)
            return -1;
        if (need_cookie && b->cookie != rsvh_cookie(b)) return -1;
        if (((rsvh_live_load(rsvh_live_word(s, b)) & rsvh_live_bit(b)) != 0) != live) return -1;
        if (++n > (long)cap) return -1;
    }
    return n;
}

static int insp_page(rsv_heap_t *h, rsvh_segment_t *s, rsvh_page_t *pg, unsigned i, char *msg,
                     size_t n)
{
    if (pg->cls >= RSVH_CLASSES || pg->block_size != rsvh_class_size[pg->cls])
        return bad(msg, n, "heap: page block size does not match its class");
    if (rsvh_kind_of_class(pg->cls) != s->kind) return bad(msg, n, "heap: page class in the wrong segment kind");
    size_t psize = (size_t)1 << s->page_shift;
    char *start = (char *)s + (size_t)i * psize + (i == 0 ? RSVH_HDR : 0);
    if (rsvh_page_start(pg) != start) return bad(msg, n, "heap: page start is wrong");
    if (pg->reserved != (size_t)((char *)s + rsvh_page_end_off(s->page_shift, i) - start) / pg->block_size)
        return bad(msg, n, "heap: page block count is wrong");
    uint32_t cap = atomic_load_explicit(&pg->capacity, memory_order_relaxed);
    if (cap > pg->reserved) return bad(msg, n, "heap: page carved past its end");
    if (rsvh_used(pg) > cap) return bad(msg, n, "heap: page has more live blocks than carved");
    if (!insp_readable(h, pg)) return 0;
    long f = insp_list(s, pg, pg->free, 0, 0);
    if (f < 0) return bad(msg, n, "heap: corrupt free list");
    uintptr_t x = atomic_load_explicit(&pg->xfree, memory_order_acquire);
    long r = insp_list(s, pg, (const rsvh_block_t *)(x & ~(uintptr_t)RSVH_TAG), 1, 1);
    if (r < 0) return bad(msg, n, "heap: corrupt remote-free list");
    /* Remote frees stay counted in `used` until the owner collects them. */
    if ((uint64_t)f + rsvh_used(pg) != cap || (uint64_t)r > rsvh_used(pg))
        return bad(msg, n, "heap: free and live blocks do not add up to the page");
    /* The live bitmap: one bit per block counted in `used` (remote frees
     * keep theirs until collected), none anywhere else on the page. */
    _Atomic uint64_t *w = rsvh_live_word(s, start);
    _Atomic uint64_t *we = rsvh_live_word(s, (char *)s + rsvh_page_end_off(s->page_shift, i) - 1) + 1;
    uint64_t bits = 0;
    for (; w < we; w++) bits += (uint64_t)__builtin_popcountll(rsvh_live_load(w));
    if (bits != rsvh_used(pg)) return bad(msg, n, "heap: live bitmap disagrees with the page's live blocks");
    return 0;
}

static int insp_queues(rsvh_tld_t *t, char *msg, size_t n)
{
    for (unsigned c = 0; c <= RSVH_CLASSES; c++) {
        rsvh_queue_t *q = c < RSVH_CLASSES ? &t->queues[c] : &t->full;
        rsvh_page_t *prev = NULL;
        for (rsvh_page_t *pg = q->first; pg; prev = pg, pg = pg->next) {
            if (pg->prev != prev) return bad(msg, n, "heap: page queue links broken");
            if (atomic_load_explicit(&pg->owner, memory_order_relaxed) != t)
                return bad(msg, n, "heap: queued page owned by another");
            if (pg->block_size == 0) return bad(msg, n, "heap: free page in a queue");
            if (c < RSVH_CLASSES && (pg->cls != c || pg->in_full))
                return bad(msg, n, "heap: page in the wrong queue");
            if (c == RSVH_CLASSES && !pg->in_full) return bad(msg, n, "heap: full-queue page not marked");
        }
        if (q->last != prev) return bad(msg, n, "heap: page queue tail wrong");
        if (c < RSVH_CLASSES && rsvh_class_size[c] <= RSVH_DIRECT_MAX) {
            rsvh_page_t *want = q->first ? q->first : &rsvh_page_empty;
            if (t->direct[rsvh_class_size[c] / 16] != want)
                return bad(msg, n, "heap: direct table out of date");
        }
    }
    return 0;
}

static int insp_all(rsv_heap_t *h, char *msg, size_t n)
{
    size_t avail_segs[RSVH_KINDS_PAGED] = {0}, free_segs[RSVH_KINDS_PAGED] = {0};
    size_t live = 0, bytes = 0;
    for (unsigned k = 0; k < RSVH_KINDS_PAGED; k++)
        for (rsvh_segment_t *s = h->avail[k]; s; s = s->next) {
            if (s->kind != k || !s->free_mask) return bad(msg, n, "heap: bad segment in the available list");
            if (++avail_segs[k] > ((size_t)1 << 40)) return bad(msg, n, "heap: available list loops");
        }
    for (rsvh_area_t *a = h->areas; a; a = a->next) {
        size_t i = 0, used = 0;
        rsvh_segment_t *s;
        while ((s = rsvh_area_next(a, &i)) != NULL) {
            used += s->span;
            if (!rsvh_segmap_has(s) || s->cookie != rsvh_cookie(s))
                return bad(msg, n, "heap: segment missing from the segment map");
            if (s->heap != h || s->area != a || a->region.base + s->index * RSVH_SEG_SIZE != (char *)s)
                return bad(msg, n, "heap: segment header does not match its place");
            if ((s->index + s->span) * RSVH_SEG_SIZE > a->region.committed)
                return bad(msg, n, "heap: segment outside the committed prefix");
            if (s->kind == RSVH_HUGE) {
                size_t off = (size_t)(s->huge_block - (char *)s);
                if (off < RSVH_HDR || off > RSVH_SEG_SIZE || s->huge_size != s->span * RSVH_SEG_SIZE - off)
                    return bad(msg, n, "heap: huge block header is wrong");
                live++;
                bytes += s->huge_size;
                continue;
            }
            if (s->kind >= RSVH_KINDS_PAGED || s->span != 1) return bad(msg, n, "heap: bad segment kind");
            if (s->page_count != (RSVH_SEG_SIZE >> s->page_shift)) return bad(msg, n, "heap: bad page count");
            unsigned in_use = 0;
            for (unsigned p = 0; p < s->page_count; p++) {
                rsvh_page_t *pg = &s->pages[p];
                int is_free = (int)((s->free_mask >> p) & 1);
                if (is_free != (pg->block_size == 0)) return bad(msg, n, "heap: page free mask disagrees");
                if (is_free) continue;
                in_use++;
                int e = insp_page(h, s, pg, p, msg, n);
                if (e) return e;
                live += rsvh_used(pg);
                bytes += (size_t)rsvh_used(pg) * pg->block_size;
            }
            if (in_use != s->pages_used || in_use == 0) return bad(msg, n, "heap: segment page count wrong");
            if (s->free_mask) free_segs[s->kind]++;
        }
        if (used != a->used_segs) return bad(msg, n, "heap: area segment count wrong");
    }
    for (unsigned k = 0; k < RSVH_KINDS_PAGED; k++)
        if (avail_segs[k] != free_segs[k]) return bad(msg, n, "heap: available list misses segments");
    int e = insp_queues(insp_self(h), msg, n);
    if (!e && h->is_default) e = insp_queues(&h->tld, msg, n);   /* the shared LARGE pages */
    if (e) return e;
    if (!h->is_default && (h->tld.in_use != bytes || h->tld.live_blocks != live))
        return bad(msg, n, "heap: live byte count disagrees with the blocks");
    return 0;
}

int rsv_heap_validate(rsv_heap_t *h, const void *p, char *msg, size_t msg_size)
{
    if (!h) return bad(msg, msg_size, "heap: NULL heap");
    if (msg && msg_size) msg[0] = '\0';
    if (RSV_UNLIKELY(h->debug)) { /* canaries and quarantine first (issue 7) */
        if (p && !rsvi_heap_debug_knows(h, p)) return bad(msg, msg_size, "heap: pointer not in this heap");
        if (rsvi_heap_debug_validate(h, p, __builtin_return_address(0)) != 0)
            return bad(msg, msg_size, "heap: block corrupted (see the debug report)");
        if (p) return 0;
    }
    if (p) {
        rsvh_segment_t *seg;
        rsvh_page_t *pg;
        insp_lock(h);
        int why = rsvh_lookup(p, &seg, &pg);
        if (why == RSVH_OK && seg->heap != h) why = RSVH_BAD_FOREIGN;
        insp_unlock(h);
        switch (why) {
        case RSVH_OK: return 0;
        case RSVH_BAD_FREED: return bad(msg, msg_size, "heap: block is free");
        case RSVH_BAD_INTERIOR: return bad(msg, msg_size, "heap: not the start of a block");
        default: return bad(msg, msg_size, "heap: pointer not in this heap");
        }
    }
    if (h->is_default) {
        rsvh_default_init();
        /* Blocks others handed back through our delayed list count as live
         * until we take them; take them first. */
        rsvh_tld_t *t = rsvh_tls_get();
        if (t != &rsvh_tld_empty) rsvh_tld_delayed(t);
    }
    insp_lock(h);
    int e = insp_all(h, msg, msg_size);
    insp_unlock(h);
    return e;
}

/* ---- walk ------------------------------------------------------------------------ */

typedef struct walk_ctx {
    rsv_heap_walk_fn fn;
    void *user;
    unsigned region;
} walk_ctx_t;

static int walk_emit(walk_ctx_t *w, void *addr, size_t size, int kind, int committed)
{
    rsv_heap_walk_entry_t e;
    e.addr = addr;
    e.size = size;
    e.kind = kind;
    e.committed = committed;
    e.region_index = w->region;
    return w->fn(w->user, &e);
}

static void walk_mark(uint64_t *bits, const rsvh_page_t *pg, const rsvh_block_t *b)
{
    for (; b; b = b->next) {
        size_t i = (size_t)((const char *)b - rsvh_page_start(pg)) / pg->block_size;
        bits[i / 64] |= (uint64_t)1 << (i % 64);
    }
}

static int walk_page(rsv_heap_t *h, walk_ctx_t *w, rsvh_segment_t *s, rsvh_page_t *pg, unsigned i)
{
    size_t psize = (size_t)1 << s->page_shift;
    char *pstart = (char *)s + (size_t)i * psize + (i == 0 ? RSVH_HDR : 0);
    char *pend = (char *)s + rsvh_page_end_off(s->page_shift, i);
    if (pg->block_size == 0) return walk_emit(w, pstart, (size_t)(pend - pstart), RSV_WALK_BLOCK_FREE, 1);
    uint64_t bits[4096 / 64];
    uint32_t cap = atomic_load_explicit(&pg->capacity, memory_order_relaxed);
    memset(bits, 0, sizeof bits);
    if (insp_readable(h, pg)) {
        walk_mark(bits, pg, pg->free);
        uintptr_t x = atomic_load_explicit(&pg->xfree, memory_order_acquire);
        walk_mark(bits, pg, (const rsvh_block_t *)(x & ~(uintptr_t)RSVH_TAG));
    }
    for (uint32_t b = 0; b < cap; b++) {
        int fr = (int)((bits[b / 64] >> (b % 64)) & 1);
        int r = walk_emit(w, rsvh_page_start(pg) + (size_t)b * pg->block_size, pg->block_size,
                          fr ? RSV_WALK_BLOCK_FREE : RSV_WALK_BLOCK_USED, 1);
        if (r) return r;
    }
    char *tail = rsvh_page_start(pg) + (size_t)cap * pg->block_size;
    if (tail < pend) return walk_emit(w, tail, (size_t)(pend - tail), RSV_WALK_BLOCK_FREE, 1);
    return 0;
}

static int walk_area(rsv_heap_t *h, walk_ctx_t *w, rsvh_area_t *a)
{
    int r = walk_emit(w, a->region.base, a->region.reserved, RSV_WALK_REGION, 0);
    if (r) return r;
    size_t i = 0;
    while (i < a->nsegs) {
        int st = rsvh_area_seg_state(a, i);
        if (st != 0) {
            size_t j = i + 1;
            while (j < a->nsegs && rsvh_area_seg_state(a, j) == st) j++;
            r = walk_emit(w, a->region.base + i * RSVH_SEG_SIZE, (j - i) * RSVH_SEG_SIZE,
                          st == 1 ? RSV_WALK_BLOCK_FREE : RSV_WALK_UNCOMMITTED, st == 1);
            if (r) return r;
            i = j;
            continue;
        }
        size_t at = i;
        rsvh_segment_t *s = rsvh_area_next(a, &at);
        if (!s) break;
        i = at;
        if (s->kind == RSVH_HUGE) {
            r = walk_emit(w, s->huge_block, s->huge_size, RSV_WALK_BLOCK_USED, 1);
            if (r) return r;
            continue;
        }
        for (unsigned p = 0; p < s->page_count; p++) {
            r = walk_page(h, w, s, &s->pages[p], p);
            if (r) return r;
        }
    }
    return 0;
}

int rsv_heap_walk(rsv_heap_t *h, rsv_heap_walk_fn fn, void *user)
{
    if (!h || !fn) {
        rsvi_error(EINVAL, "heap: walk needs a heap and a callback");
        return EINVAL;
    }
    walk_ctx_t w = {fn, user, 0};
    int r = 0;
    insp_lock(h);
    for (rsvh_area_t *a = h->areas; a && !r; a = a->next, w.region++) r = walk_area(h, &w, a);
    insp_unlock(h);
    return r;
}

/* ---- stats and trim ---------------------------------------------------------------- */

void rsv_heap_stats(rsv_heap_t *h, rsv_heap_stats_t *out)
{
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!h) return;
    for (unsigned c = 0; c < RSVH_CLASSES; c++) out->class_size[c] = rsvh_class_size[c];
    insp_lock(h);
    for (rsvh_area_t *a = h->areas; a; a = a->next) {
        out->reserved += a->region.reserved;
        out->committed += a->region.committed;
        for (size_t i = 0; i < a->region.committed / RSVH_SEG_SIZE; i++)
            if (rsvh_area_seg_state(a, i) == 2) out->committed -= RSVH_SEG_SIZE;
        size_t i = 0;
        rsvh_segment_t *s;
        while ((s = rsvh_area_next(a, &i)) != NULL) {
            if (s->kind == RSVH_HUGE) {
                out->large_blocks++;
                out->blocks++;
                out->in_use += s->huge_size;
                continue;
            }
            for (unsigned p = 0; p < s->page_count; p++) {
                rsvh_page_t *pg = &s->pages[p];
                if (!pg->block_size) continue;
                uint32_t u = rsvh_used(pg);
                out->class_blocks[pg->cls] += u;
                out->blocks += u;
                out->in_use += (size_t)u * pg->block_size;
            }
        }
    }
    if (out->committed > h->committed_peak) h->committed_peak = out->committed;
    out->peak_committed = h->committed_peak;
    if (!h->is_default) {
        out->peak_in_use = h->tld.peak_in_use;
    } else {
        if (out->in_use > h->peak_sampled) h->peak_sampled = out->in_use;
        out->peak_in_use = h->peak_sampled;
    }
    insp_unlock(h);
}

size_t rsv_heap_trim(rsv_heap_t *h)
{
    if (!h) return 0;
    if (h->is_default) {
        rsvh_default_init();
        rsvh_tld_t *t = rsvh_tls_get();
        if (t != &rsvh_tld_empty) {
            rsvh_tld_unpark(t);
            rsvh_tld_collect(t, 1);
        }
        rsvi_lock(&h->shared_lock);
        rsvh_tld_collect(&h->tld, 1);
        rsvi_unlock(&h->shared_lock);
    } else {
        if (!(h->flags & RSV_HEAP_NO_SERIALIZE)) rsvi_rlock(&h->api_lock);
        rsvh_tld_collect(&h->tld, 1);
    }
    rsvh_lock(h);
    if (h->is_default) rsvh_abandoned_collect(h);
    size_t n = rsvh_purge(h, 1);
    rsvh_unlock(h);
    if (!h->is_default && !(h->flags & RSV_HEAP_NO_SERIALIZE)) rsvi_runlock(&h->api_lock);
    return n;
}
