/* lib/heap/area.c — a heap's address space: areas (regions carved into
 * 4 MiB segments), segment claim/release with first fit, the dirty-segment
 * purge with delay (DESIGN decision 2), and pages handed out from segments.
 *
 * Every function runs with the heap's shared state locked (rsvh_lock) or
 * on a heap only one thread can see.  Never allocates from a heap; metadata
 * comes from meta.c.  A failure leaves every structure as it was.
 *
 * Purging decommits and at once recommits a free run: the pages read zero,
 * RSS falls at once (MADV_FREE would leave it counted), and the run merges
 * back into its neighbours' kernel mapping, so an area stays at two
 * mappings whatever its history (decision 1).
 */
#include <errno.h>
#include <string.h>

#include "heap/heap_internal.h"
#include "os/thread.h"
#include "reservoir/vm.h"

#define AREA_MAX_SEGS ((size_t)1 << 16)    /* 256 GiB per area */

static int bit_get(const uint64_t *w, size_t i) { return (int)((w[i / 64] >> (i % 64)) & 1); }
static void bit_set(uint64_t *w, size_t i) { w[i / 64] |= (uint64_t)1 << (i % 64); }
static void bit_clr(uint64_t *w, size_t i) { w[i / 64] &= ~((uint64_t)1 << (i % 64)); }

/* The cookie word of a SMALL/MEDIUM/LARGE segment that went back to its
 * area whole (rsvh_page_release) with its header intact: its descriptors
 * still hold each page's class, `touched` count and kept list, valid for
 * as long as nothing writes the memory.  A purge makes it read zero; a
 * huge span that takes it as a later segment clears it (area_unkeep); a
 * huge span that starts there writes a new header.  Differs from the live
 * cookie, so the segment map and rsvh_lookup never take it for live. */
static uintptr_t seg_kept_cookie(const void *s) { return rsvh_cookie(s) ^ 2; }

/* Clears the kept-header mark of segments [index, index + n) of a that
 * are about to hold something else (a huge span): only a dirty segment
 * can hold one, and its header is resident, so no new page is touched. */
static void area_unkeep(rsvh_area_t *a, size_t index, size_t n)
{
    for (size_t i = index; i < index + n; i++)
        if (bit_get(a->dirty, i)) ((rsvh_segment_t *)(a->region.base + i * RSVH_SEG_SIZE))->cookie = 0;
}

static size_t area_words(size_t nsegs) { return (nsegs + 63) / 64; }
static size_t area_meta_size(size_t nsegs)
{
    return sizeof(rsvh_area_t) + 4 * area_words(nsegs) * sizeof(uint64_t);
}

/* Reserves a new area of at least `need` segments and links it. */
static rsvh_area_t *area_new(rsv_heap_t *h, size_t need)
{
    size_t bytes = h->next_area;
    if (h->max_size) {
        if (h->areas) {
            rsvi_error(ENOMEM, "heap: capped heap is full");
            return NULL;
        }
    }
    if (need > AREA_MAX_SEGS) {
        rsvi_error(ENOMEM, "heap: request larger than an area");
        return NULL;
    }
    if (bytes < need * RSVH_SEG_SIZE) bytes = need * RSVH_SEG_SIZE;
    size_t nsegs = bytes / RSVH_SEG_SIZE;
    if (nsegs > AREA_MAX_SEGS) nsegs = AREA_MAX_SEGS;
    rsvh_area_t *a = rsvh_meta_alloc(area_meta_size(nsegs));
    if (!a) return NULL;
    rsv_region_opts_t o = {0};
    o.reserve = nsegs * RSVH_SEG_SIZE;
    o.commit_step = RSVH_SEG_SIZE;
    o.alignment = RSVH_SEG_SIZE;
    o.flags = h->region_flags;
    if (rsv_region_init(&a->region, &o) != 0) {
        rsvh_meta_free(a, area_meta_size(nsegs));
        return NULL;
    }
    a->nsegs = nsegs;
    size_t words = area_words(nsegs);
    a->used = (uint64_t *)(a + 1);
    a->dirty = a->used + words;
    a->decommitted = a->dirty + words;
    a->aged = a->decommitted + words;
    /* Mark the bits past nsegs used so searches never hand them out. */
    for (size_t i = nsegs; i < words * 64; i++) bit_set(a->used, i);
    /* Append: first fit then prefers older (lower) areas. */
    rsvh_area_t **pp = &h->areas;
    while (*pp) pp = &(*pp)->next;
    *pp = a;
    h->reserved += a->region.reserved;
    if (!h->max_size && h->next_area < ((size_t)64 << 30)) h->next_area *= 2;
    return a;
}

/* First index >= from of a run of n free segments in a whose (start + 1)
 * segment address is aligned to align (align > SEG only), or SIZE_MAX. */
static size_t area_find(const rsvh_area_t *a, size_t n, size_t align)
{
    size_t i = a->hint;
    while (i + n <= a->nsegs) {
        /* Skip full words quickly. */
        if ((i % 64) == 0 && a->used[i / 64] == ~(uint64_t)0) {
            i += 64;
            continue;
        }
        if (bit_get(a->used, i)) {
            i++;
            continue;
        }
        if (align > RSVH_SEG_SIZE) {
            uintptr_t block = (uintptr_t)a->region.base + (i + 1) * RSVH_SEG_SIZE;
            if (block & (align - 1)) {
                uintptr_t want = (block + align - 1) & ~(uintptr_t)(align - 1);
                i = (want - (uintptr_t)a->region.base) / RSVH_SEG_SIZE - 1;
                continue;
            }
        }
        size_t j = 1;
        while (j < n && !bit_get(a->used, i + j)) j++;
        if (j == n) return i;
        i += j + 1;
    }
    return SIZE_MAX;
}

/* Makes [index, index + n) of a accessible: grows the committed prefix
 * and recommits decommitted holes.  0 or an error code. */
static int area_make_committed(rsvh_area_t *a, size_t index, size_t n)
{
    size_t end = (index + n) * RSVH_SEG_SIZE;
    size_t below = a->region.committed / RSVH_SEG_SIZE;
    for (size_t i = index; i < index + n && i < below; i++) {
        if (!bit_get(a->decommitted, i)) continue;
        size_t j = i;
        while (j < index + n && j < below && bit_get(a->decommitted, j)) j++;
        int e = rsv_vm_commit(a->region.base + i * RSVH_SEG_SIZE, (j - i) * RSVH_SEG_SIZE);
        if (e) {
            rsvi_error(e, "heap: commit failed");
            return e;
        }
        for (size_t k = i; k < j; k++) bit_clr(a->decommitted, k);
        i = j;
    }
    if (end > a->region.committed) return rsv_region_commit_to(&a->region, end);
    return 0;
}

/* 1 when [index, index+n) of a reads zero (never touched since commit). */
static int area_is_zero(const rsvh_area_t *a, size_t index, size_t n)
{
    for (size_t i = index; i < index + n; i++)
        if (bit_get(a->dirty, i)) return 0;
    return 1;
}

static void area_take(rsv_heap_t *h, rsvh_area_t *a, size_t index, size_t n)
{
    for (size_t i = index; i < index + n; i++) {
        RSV_ASSERT_INV(!bit_get(a->used, i));
        bit_set(a->used, i);
        if (bit_get(a->dirty, i)) {
            bit_clr(a->dirty, i);
            bit_clr(a->aged, i);
            h->dirty_bytes -= RSVH_SEG_SIZE;
        }
    }
    a->used_segs += n;
    if (index == a->hint) a->hint = index + n;
    size_t committed = 0;
    for (rsvh_area_t *x = h->areas; x; x = x->next) committed += x->region.committed;
    if (committed > h->committed_peak) h->committed_peak = committed;
}

void *rsvh_area_claim(rsv_heap_t *h, size_t n, size_t align, int *zero, rsvh_area_t **area,
                      size_t *index)
{
    if (h->dirty_bytes) rsvh_purge(h, 0);
    for (int attempt = 0; attempt < 2; attempt++) {
        for (rsvh_area_t *a = h->areas; a; a = a->next) {
            size_t i = area_find(a, n, align);
            if (i == SIZE_MAX) continue;
            if (area_make_committed(a, i, n) != 0) return NULL;
            *zero = area_is_zero(a, i, n);
            area_unkeep(a, i + 1, n - 1);   /* the first one's caller writes its header */
            area_take(h, a, i, n);
            *area = a;
            *index = i;
            return a->region.base + i * RSVH_SEG_SIZE;
        }
        size_t need = n + (align > RSVH_SEG_SIZE ? align / RSVH_SEG_SIZE : 0);
        if (attempt == 0 && !area_new(h, need)) return NULL;
    }
    rsvi_error(ENOMEM, "heap: no room for the request");
    return NULL;
}

int rsvh_area_grow(rsv_heap_t *h, rsvh_area_t *a, size_t end, size_t n, int *zero)
{
    if (end + n > a->nsegs) return ENOMEM;
    for (size_t i = end; i < end + n; i++)
        if (bit_get(a->used, i)) return ENOMEM;
    int e = area_make_committed(a, end, n);
    if (e) return e;
    *zero = area_is_zero(a, end, n);
    area_unkeep(a, end, n);
    area_take(h, a, end, n);
    return 0;
}

void rsvh_area_release(rsv_heap_t *h, rsvh_area_t *a, size_t index, size_t n)
{
    for (size_t i = index; i < index + n; i++) {
        RSV_ASSERT_INV(bit_get(a->used, i));
        bit_clr(a->used, i);
        bit_set(a->dirty, i);
    }
    a->used_segs -= n;
    if (index < a->hint) a->hint = index;
    if (h->dirty_bytes == 0) h->dirty_since = rsvi_os_now_ns();   /* next aging tick from now */
    h->dirty_bytes += n * RSVH_SEG_SIZE;
    rsvh_purge(h, 0);
}

/* Decommits and recommits [i, j) of a; clears the dirty bits.  On a failed
 * recommit the run is marked decommitted (claims commit it again). */
static size_t area_purge_run(rsv_heap_t *h, rsvh_area_t *a, size_t i, size_t j)
{
    char *p = a->region.base + i * RSVH_SEG_SIZE;
    size_t bytes = (j - i) * RSVH_SEG_SIZE;
    /* A failed decommit leaves the run dirty (its contents are still
     * there, so it must not count as reading zero). */
    if (rsv_vm_decommit(p, bytes) != 0) return 0;
    for (size_t k = i; k < j; k++) {
        bit_clr(a->dirty, k);
        bit_clr(a->aged, k);
    }
    h->dirty_bytes -= bytes;
    if (rsv_vm_commit(p, bytes) != 0)
        for (size_t k = i; k < j; k++) bit_set(a->decommitted, k);
    return bytes;
}

/* Purges the free runs of a whose bits are set in `which` (dirty or aged). */
static size_t area_purge_bits(rsv_heap_t *h, rsvh_area_t *a, const uint64_t *which, size_t top)
{
    size_t purged = 0;
    for (size_t i = 0; i < top; i++) {
        if ((i % 64) == 0 && which[i / 64] == 0) {
            i += 63;
            continue;
        }
        if (!bit_get(which, i)) continue;
        size_t j = i;
        while (j < top && bit_get(which, j)) j++;
        purged += area_purge_run(h, a, i, j);
        i = j;
    }
    return purged;
}

/* Free segments age in two steps: a tick every purge delay purges the
 * segments that were already dirty at the previous tick and still are, then
 * marks the rest as aged.  So a freed segment is purged between one and two
 * delays after its release, and one reused meanwhile never is (batch
 * workloads that free and refill every few hundred ms keep their pages). */
size_t rsvh_purge(rsv_heap_t *h, int force)
{
    size_t purged = 0;
    if (!force) {
        if (!h->dirty_bytes) return 0;
        if (h->dirty_bytes <= h->purge_above && h->purge_delay_ns != 0) {
            uint64_t now = rsvi_os_now_ns();
            if (now - h->dirty_since < h->purge_delay_ns) return 0;
            h->dirty_since = now;
            for (rsvh_area_t *a = h->areas; a; a = a->next) {
                purged += area_purge_bits(h, a, a->aged, a->region.committed / RSVH_SEG_SIZE);
                memcpy(a->aged, a->dirty, area_words(a->nsegs) * sizeof(uint64_t));
            }
            return purged;
        }
    }
    for (rsvh_area_t *a = h->areas; a; a = a->next) {
        size_t top = a->region.committed / RSVH_SEG_SIZE;
        if (force) {
            /* Free segments at the top: shrink the committed prefix. */
            size_t last = top;
            while (last > 0 && !bit_get(a->used, last - 1)) last--;
            if (last < top) {
                size_t retain = a->region.retain, before = a->region.committed;
                a->region.retain = 0;
                if (rsv_region_decommit_from(&a->region, last * RSVH_SEG_SIZE) == 0) {
                    purged += before - a->region.committed;
                    for (size_t k = a->region.committed / RSVH_SEG_SIZE; k < top; k++) {
                        bit_clr(a->dirty, k);
                        bit_clr(a->aged, k);
                        bit_clr(a->decommitted, k);
                    }
                    top = a->region.committed / RSVH_SEG_SIZE;
                }
                a->region.retain = retain;
            }
        }
        purged += area_purge_bits(h, a, a->dirty, top);
    }
    h->dirty_bytes = 0;
    for (rsvh_area_t *a = h->areas; a; a = a->next)
        for (size_t w = 0; w < area_words(a->nsegs); w++)
            h->dirty_bytes += (size_t)__builtin_popcountll(a->dirty[w]) * RSVH_SEG_SIZE;
    h->dirty_since = rsvi_os_now_ns();
    return purged;
}

rsvh_segment_t *rsvh_area_next(rsvh_area_t *a, size_t *i)
{
    while (*i < a->nsegs) {
        if ((*i % 64) == 0 && a->used[*i / 64] == 0) {
            *i += 64;
            continue;
        }
        if (!bit_get(a->used, *i)) {
            (*i)++;
            continue;
        }
        rsvh_segment_t *s = (rsvh_segment_t *)(a->region.base + *i * RSVH_SEG_SIZE);
        *i += s->span ? s->span : 1;
        return s;
    }
    return NULL;
}

int rsvh_area_seg_state(const rsvh_area_t *a, size_t i)
{
    if (bit_get(a->used, i)) return 0;
    if (i * RSVH_SEG_SIZE >= a->region.committed || bit_get(a->decommitted, i)) return 2;
    return 1;
}

void rsvh_areas_release(rsv_heap_t *h)
{
    rsvh_area_t *a = h->areas;
    while (a) {
        rsvh_area_t *next = a->next;
        rsvh_segmap_clear_range(a->region.base, a->region.reserved);
        rsv_region_release(&a->region);
        rsvh_meta_free(a, area_meta_size(a->nsegs));
        a = next;
    }
    h->areas = NULL;
    h->reserved = 0;
    h->dirty_bytes = 0;
}

/* ---- pages in segments ---------------------------------------------------- */

static const uint8_t kind_shift[RSVH_KINDS_PAGED] = {16, 19, 22};

static void seg_avail_push(rsv_heap_t *h, rsvh_segment_t *s)
{
    s->prev = NULL;
    s->next = h->avail[s->kind];
    if (s->next) s->next->prev = s;
    h->avail[s->kind] = s;
}

static void seg_avail_remove(rsv_heap_t *h, rsvh_segment_t *s)
{
    if (s->prev) s->prev->next = s->next;
    else h->avail[s->kind] = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

/* Divide-by-multiply constants for block size d: exact for offsets < 2^23. */
static void page_magic(rsvh_page_t *pg, uint32_t d)
{
    unsigned l = 0;
    while (((uint64_t)1 << l) < d) l++;
    unsigned k = 23 + l;
    pg->shift = (uint8_t)k;
    pg->magic = (uint32_t)((((uint64_t)1 << k) / d) + 1);
}

rsvh_page_t *rsvh_page_claim(rsv_heap_t *h, unsigned cls)
{
    unsigned kind = rsvh_kind_of_class(cls);
    rsvh_segment_t *s = h->avail[kind];
    if (!s) {
        int zero;
        rsvh_area_t *a;
        size_t index;
        s = rsvh_area_claim(h, 1, 0, &zero, &a, &index);
        if (!s) return NULL;
        /* This kind's segment handed back whole and untouched since: its
         * pages' kept lists (page_release) are still true. */
        int kept = !zero && s->cookie == seg_kept_cookie(s) && s->kind == kind;
        memset(s, 0, offsetof(rsvh_segment_t, pages));
        /* The owners' free checks read it: no stale bit may survive from a
         * huge block that held this memory (skipped when it reads zero, so
         * a fresh segment touches none of its 32 KiB, and when kept: every
         * page went back with no live block, so no bit is set). */
        if (!zero && !kept) memset((char *)s + RSVH_LIVE_OFF, 0, RSVH_SEG_SIZE - RSVH_LIVE_OFF);
        s->cookie = rsvh_cookie(s);
        s->kind = (uint8_t)kind;
        s->page_shift = kind_shift[kind];
        s->desc_shift = (uint8_t)(kind_shift[kind] - 6);
        s->page_count = (uint16_t)(RSVH_SEG_SIZE >> s->page_shift);
        s->heap = h;
        s->area = a;
        s->index = index;
        s->span = 1;
        s->free_mask = s->page_count == 64 ? ~(uint64_t)0 : (((uint64_t)1 << s->page_count) - 1);
        /* Every descriptor the free fast path can index gets capacity 0.
         * Their cls and start_off stay: when this segment last held pages
         * of the same kind, a class finds its old page again (below). */
        for (unsigned k = 0; k <= RSVH_MAX_PAGES; k++) {
            rsvh_page_t *d = &s->pages[k];
            /* A kept list stays with its touched count (the blocks it
             * holds); otherwise the memory may have been purged. */
            if (!kept || k >= s->page_count || !d->free) {
                d->free = NULL;
                d->touched = 0;
            }
            atomic_store_explicit(&d->capacity, 0, memory_order_relaxed);
            atomic_store_explicit(&d->used, 0, memory_order_relaxed);
            d->block_size = 0;
            atomic_store_explicit(&d->owner, NULL, memory_order_relaxed);
            if (k >= s->page_count) d->start_off = 0;
        }
        seg_avail_push(h, s);
        rsvh_segmap_set(s, 1);
    }
    /* Prefer a free page that last held this class (in any segment with a
     * free page, at most 8 looked at): its blocks' first words fall on the
     * 4 KiB pages already touched, so reusing it adds no resident memory.
     * Measured: a 10,000-object frame run twice touched 132 more pages on
     * the second run without this. */
    unsigned i = (unsigned)__builtin_ctzll(s->free_mask);
    unsigned looked = 0;
    for (rsvh_segment_t *c = s; c && looked < 8; c = c->next, looked++) {
        for (uint64_t m = c->free_mask; m; m &= m - 1) {
            unsigned j = (unsigned)__builtin_ctzll(m);
            if (c->pages[j].cls == cls && c->pages[j].start_off != 0) {
                s = c;
                i = j;
                goto chosen;
            }
        }
    }
chosen:
    s->free_mask &= ~((uint64_t)1 << i);
    s->pages_used++;
    if (!s->free_mask) seg_avail_remove(h, s);

    rsvh_page_t *pg = &s->pages[i];
    /* The same class on the same page lays its blocks out as before: the
     * first `touched` of them were carved while this segment was live, so
     * they are resident (page_extend carves them in bigger steps). */
    uint16_t touched = pg->cls == cls && pg->start_off != 0 ? pg->touched : 0;
    /* And when page_release (page.c) kept its free list (all `touched`
     * blocks, in address order), the page comes back carved that far. */
    rsvh_block_t *kept = touched ? pg->free : NULL;
    uint32_t bs = rsvh_class_size[cls];
    char *start = (char *)s + ((size_t)i << s->page_shift) + (i == 0 ? RSVH_HDR : 0);
    size_t psize = (size_t)((char *)s + rsvh_page_end_off(s->page_shift, i) - start);
    pg->free = kept;
    rsvh_used_set(pg, 0);
    pg->block_size = bs;
    atomic_store_explicit(&pg->capacity, kept ? touched : 0, memory_order_relaxed);
    pg->reserved = (uint16_t)(psize / bs);
    page_magic(pg, bs);
    pg->cls = (uint8_t)cls;
    pg->in_full = 0;
    pg->touched = touched;
    pg->sole = 0;
    atomic_store_explicit(&pg->owner, NULL, memory_order_relaxed);
    pg->start_off = (uint32_t)(start - (char *)s);
    atomic_store_explicit(&pg->xfree, RSVH_NORMAL, memory_order_relaxed);
    pg->next = pg->prev = NULL;
    return pg;
}

void rsvh_page_release(rsv_heap_t *h, rsvh_page_t *pg)
{
    rsvh_segment_t *s = (rsvh_segment_t *)((uintptr_t)pg & ~(uintptr_t)RSVH_SEG_MASK);
    unsigned i = (unsigned)(pg - s->pages);
    RSV_ASSERT_INV(rsvh_used(pg) == 0 && !((s->free_mask >> i) & 1));
    uint32_t cap = atomic_load_explicit(&pg->capacity, memory_order_relaxed);
    if (cap > pg->touched) pg->touched = (uint16_t)cap;   /* see rsvh_page_claim */
    pg->block_size = 0;
    atomic_store_explicit(&pg->capacity, 0, memory_order_relaxed);
    atomic_store_explicit(&pg->owner, NULL, memory_order_relaxed);
    if (!s->free_mask) seg_avail_push(h, s);
    s->free_mask |= (uint64_t)1 << i;
    s->pages_used--;
    if (s->pages_used == 0) {
        seg_avail_remove(h, s);
        rsvh_segmap_set(s, 0);
        s->cookie = seg_kept_cookie(s);   /* not live; header intact (rsvh_page_claim) */
        rsvh_area_release(h, s->area, s->index, 1);
    }
}

int rsvh_area_first(rsv_heap_t *h, size_t commit)
{
    rsvh_area_t *a = area_new(h, 1);
    if (!a) return ENOMEM;
    if (commit) {
        size_t c = commit > a->region.usable ? a->region.usable : commit;
        int e = rsv_region_commit_to(&a->region, c);
        if (e) return e;
    }
    return 0;
}
