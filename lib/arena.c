/* lib/arena.c — the out-of-line half of reservoir/arena.h: creating and
 * destroying arenas, the allocation slow path (commit, chain, zero, tell the
 * memory tools), realloc, positions and temporary scopes.
 *
 * Owns every write to an arena's cold fields and the rule that decides
 * `limit` (arena_update_limit).  Must never allocate from anything but the
 * arena's own regions, print, or leave an arena changed after a failure.
 * Errors reach the handler once: region.c reports commit/reserve failures,
 * this file reports misuse and a full reservation.
 *
 * Invariants (checked by rsvi_arena_validate):
 *   - pos and limit lie in the current block, header <= pos <= limit <= committed end;
 *   - pos - base and limit - base are multiples of the arena's alignment;
 *   - every byte of a block at or after max(dirty, pos) and before the
 *     committed end reads zero (it was never handed out since its commit);
 *   - limit == pos whenever `slow` is non-zero, or the arena zeroes and
 *     pos < dirty (recycled memory must be cleared on the slow path).
 */
#include <errno.h>
#include <string.h>

#include "arena_internal.h"
#include "arena_san.h"
#include "debug/dbg.h"
#include "internal.h"
#include "reservoir/vm.h"

#if UINTPTR_MAX > 0xFFFFFFFFu
/* 10,000 arenas x 4 GiB = 40 TiB: under a third of the 128 TiB user
 * address space of x86-64 Linux, leaving the rest to heaps and the program,
 * while one arena still holds a 4 GiB frame (docs/arena.md). */
#define ARENA_DEFAULT_RESERVE ((size_t)4 << 30)
#else
#define ARENA_DEFAULT_RESERVE ((size_t)64 << 20)
#endif
/* Keep 1 MiB committed after pop_to: a frame that breathes within it never
 * pays the mprotect + first-touch cost again (DESIGN decision 2). */
#define ARENA_DEFAULT_RETAIN ((size_t)1 << 20)
#define ARENA_MAX_DEFAULT_ALIGN ((size_t)4096)

static size_t arena_round(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

/* Bytes before the first allocation of a block: the header, rounded to a
 * cache line and to the arena's alignment. */
static size_t arena_hdr(const rsv_arena_t *a)
{
    size_t al = a->align_mask + 1;
    return arena_round(sizeof(rsv_arena_t), al > 64 ? al : 64);
}

/* The only writer of `limit`; see the invariants above. */
static void arena_update_limit(rsv_arena_t *a)
{
    rsv_arena_t *cur = a->current;
    if (a->slow || ((a->flags & RSV_ARENA_ZERO) && a->pos < cur->dirty)) {
        a->limit = a->pos;
        return;
    }
    size_t end = cur->region.committed & ~a->align_mask;
    a->limit = cur->region.base + end;
}

/* Records that memory up to pos was handed out; call before pos moves back. */
static void arena_sync_dirty(rsv_arena_t *a)
{
    if (a->pos > a->current->dirty) a->current->dirty = a->pos;
}

/* Poisons a range the region has just committed past `old_committed`. */
static void arena_note_commit(rsv_arena_t *blk, size_t old_committed)
{
    char *from = blk->region.base + old_committed;
    size_t n = blk->region.committed - old_committed;
    SAN_POISON(from, n);
    SAN_VG_NOACCESS(from, n);
    (void)from;
    (void)n;
}

/* Releases one block's region, telling the tools first so that whoever
 * maps the address range next starts clean. */
static void arena_block_release(rsv_arena_t *blk)
{
    rsv_region_t r = blk->region;   /* the struct lives in what we release */
    SAN_VG_DESTROY(blk);
    SAN_UNPOISON(r.base, r.peak);
    rsv_region_release(&r);
}

/* Reserves a region for a block header plus `need` bytes and commits the
 * header.  Returns the block with its region filled in, or NULL (region.c
 * has reported the failure and nothing is left behind). */
static rsv_arena_t *arena_block_new(const rsv_region_opts_t *ro, size_t hdr)
{
    rsv_region_t r;
    if (rsv_region_init(&r, ro) != 0) return NULL;
    if (rsv_region_commit_to(&r, hdr) != 0) {
        rsv_region_release(&r);
        return NULL;
    }
    rsv_arena_t *blk = (rsv_arena_t *)(void *)r.base;
    memset(blk, 0, sizeof *blk);
    blk->region = r;
    blk->dirty = r.base + hdr;
    blk->current = blk;
    SAN_VG_CREATE(blk, 0);
    SAN_POISON(r.base + hdr, r.committed - hdr);
    SAN_VG_NOACCESS(r.base + hdr, r.committed - hdr);
    return blk;
}

#if RSV_CHECKS >= 1
static void *arena_dbg_raw(void *ctx, size_t size, size_t align); /* debug layer's backend */
#endif

rsv_arena_t *rsv_arena_create(const rsv_arena_opts_t *opts)
{
    static const rsv_arena_opts_t defaults;
    if (!opts) opts = &defaults;
    size_t align = opts->alignment ? opts->alignment : alignof(max_align_t);
    if ((align & (align - 1)) || align > ARENA_MAX_DEFAULT_ALIGN) {
        rsvi_error(EINVAL, "arena: alignment must be a power of two <= 4096");
        return NULL;
    }
    if (opts->flags & ~(unsigned)(RSV_ARENA_ZERO | RSV_ARENA_CHAIN)) {
        rsvi_error(EINVAL, "arena: unknown flags");
        return NULL;
    }
    rsv_arena_t probe;
    probe.align_mask = align - 1;
    size_t hdr = arena_hdr(&probe);

    rsv_region_opts_t ro;
    memset(&ro, 0, sizeof ro);
    ro.reserve = opts->reserve ? opts->reserve : ARENA_DEFAULT_RESERVE;
    if (ro.reserve < hdr + align) ro.reserve = hdr + align;
    ro.commit_step = opts->commit_step;
    ro.retain = opts->retain ? opts->retain : ARENA_DEFAULT_RETAIN;
    rsv_arena_t *a = arena_block_new(&ro, hdr);
    if (!a) return NULL;

    a->align_mask = align - 1;
    a->pos = a->region.base + hdr;
    a->flags = opts->flags;
    a->name = opts->name;
    a->chain_reserve = ro.reserve;
#if RSV_CHECKS >= 1
    /* Debug layer (issue 7): a state for the OOM policy, and every block
     * through it (slow path forced) when decoration is asked for. */
    if (opts->debug && (rsvi_dbg_wanted(opts->debug) || opts->debug->oom != RSV_OOM_NULL)) {
        rsvi_dbg_backend_t be = {arena_dbg_raw, NULL, a, RSVI_DBG_BE_RECLAIMS | RSVI_DBG_BE_ANCHOR,
                                 NULL, 0, 0};
        a->debug = rsvi_dbg_create(opts->debug, &be, "arena", opts->name ? opts->name : "");
        if (!a->debug) {
            rsv_arena_destroy(a);
            return NULL;
        }
        if (rsvi_dbg_wanted(opts->debug)) a->slow |= RSVI_ARENA_SLOW_DEBUG;
    }
#endif
    /* A tool that must see each allocation keeps the inline path off. */
    if (SAN_TRACKING()) a->slow |= RSVI_ARENA_SLOW_TOOLS;
    arena_update_limit(a);
    return a;
}

void rsv_arena_destroy(rsv_arena_t *a)
{
    if (!a) return;
    /* Debug layer (issue 7): final checks and leak report, before the
     * regions go. */
    if (a->debug) rsvi_dbg_destroy(a->debug, RSVI_DBG_SITE());
    a->debug = NULL;
    rsv_arena_t *blk = a->current;
    while (blk) {
        rsv_arena_t *prev = blk->prev;
        arena_block_release(blk);
        blk = prev;
    }
}

/* Appends a block able to hold `size` bytes aligned to `align` and makes it
 * current.  Returns 0, or -1 with the arena unchanged. */
static int arena_chain(rsv_arena_t *a, size_t size, size_t align)
{
    rsv_arena_t *cur = a->current;
    size_t hdr = arena_hdr(a);
    size_t page = rsv_vm_page_size();
    if (size > SIZE_MAX / 4 - hdr - align) {
        rsvi_error(ENOMEM, "arena: request larger than any reservation");
        return -1;
    }
    size_t need = arena_round(hdr + align + size, page);
    rsv_region_opts_t ro;
    memset(&ro, 0, sizeof ro);
    ro.reserve = need > a->chain_reserve ? need : a->chain_reserve;
    ro.commit_step = a->region.step;
    ro.retain = a->region.retain;
    rsv_arena_t *blk = arena_block_new(&ro, hdr);
    if (!blk) return -1;
    blk->prev = cur;
    blk->base_pos = cur->base_pos + cur->region.usable;
    blk->flags = a->flags;
    blk->align_mask = a->align_mask;
    arena_sync_dirty(a);           /* cur->dirty now marks where cur stopped */
    a->current = blk;
    a->pos = blk->region.base + hdr;
    arena_update_limit(a);
    return 0;
}

/* Zeroes the part of [p, p + n) that may hold recycled bytes: everything at
 * or after `dirty` is still zero from its commit. */
static void arena_zero(char *p, size_t n, const char *dirty)
{
    if (p >= dirty) return;
    size_t m = (size_t)(dirty - p);
    memset(p, 0, m < n ? m : n);
}

/* Allocation with every option; zero != 0 clears the result. */
static void *arena_alloc(rsv_arena_t *a, size_t size, size_t align, int zero)
{
    size_t amask = a->align_mask;
    if (align == 0) {
        align = amask + 1;
    } else if ((align & (align - 1)) || align > RSV_ARENA_MAX_ALIGN) {
        rsvi_error(EINVAL, "arena: alignment must be a power of two <= 1 GiB");
        return NULL;
    } else if (align <= amask) {
        align = amask + 1;
    }
    arena_sync_dirty(a);
    for (;;) {
        rsv_arena_t *cur = a->current;
        char *base = cur->region.base;
        size_t usable = cur->region.usable;
        size_t off = (size_t)(a->pos - base);
        size_t pad = (size_t)(-(uintptr_t)a->pos & (align - 1));
        /* usable and off are multiples of the alignment, so a size that
         * fits still fits once rounded up to it. */
        if (pad > usable - off || size > usable - off - pad) {
            if (!(a->flags & RSV_ARENA_CHAIN)) {
                rsvi_error(ENOMEM, "arena: reservation full");
                return NULL;
            }
            if (arena_chain(a, size, align) != 0) return NULL;
            continue;
        }
        off += pad;
        size_t end = off + arena_round(size, amask + 1);
        if (end > cur->region.committed) {
            size_t before = cur->region.committed;
            if (rsv_region_commit_to(&cur->region, end) != 0) return NULL;
            arena_note_commit(cur, before);
            arena_update_limit(a);
        }
        char *p = base + off;
        /* HOOK(debug, issue 7): every allocation passes here when the debug
         * layer sets RSVI_ARENA_SLOW_DEBUG; fill, canaries and the
         * allocation record go in here (reserve the extra bytes above). */
        SAN_UNPOISON(p, size);
        SAN_VG_ALLOC(cur, p, size);
        if (zero) {
            arena_zero(p, size, cur->dirty);
            SAN_VG_DEFINED(p, size);
        }
        a->pos = base + end;
        arena_update_limit(a);
        return p;
    }
}

/* ---- debug layer (issue 7) ------------------------------------------------ */

#if RSV_CHECKS >= 1
/* The debug layer's raw backend: a plain bump (never reports OOM itself). */
static void *arena_dbg_raw(void *ctx, size_t size, size_t align)
{
    return arena_alloc(ctx, size, align, 0);
}
#endif

/* A decorated block; align as rsv_arena_alloc_slow. */
static void *arena_dbg_alloc(rsv_arena_t *a, size_t size, size_t align, int zero, const void *site)
{
    if ((align & (align - 1)) || align > RSV_ARENA_MAX_ALIGN) {
        rsvi_error(EINVAL, "arena: alignment must be a power of two <= 1 GiB");
        return NULL;
    }
    /* The default alignment stays "default" (0) when it is the usual 16:
     * 16 for the debug layer too, unless RSV_DEBUG_GUARD_EXACT asks guard
     * blocks to end exactly at their guard page. */
    if (align <= a->align_mask) align = a->align_mask + 1 <= 16 ? 0 : a->align_mask + 1;
    return rsvi_dbg_alloc(a->debug, size, align, zero, site);
}

/* The blocks past logical position pos die: tells the debug layer, block
 * by block of the chain, before they are poisoned or decommitted. */
static void arena_dbg_pop(rsv_arena_t *a, size_t pos, const void *site)
{
    for (rsv_arena_t *blk = a->current; blk; blk = blk->prev) {
        char *lo = blk->region.base;
        char *hi = blk->region.base + blk->region.reserved;
        if (pos > blk->base_pos) lo += pos - blk->base_pos < blk->region.reserved
                                       ? pos - blk->base_pos : blk->region.reserved;
        if (lo < hi) rsvi_dbg_reclaim(a->debug, lo, hi, site);
        if (pos >= blk->base_pos) break;
    }
}

/* A failed plain allocation: the OOM policy, when one was given. */
static void *arena_oom(rsv_arena_t *a, void *p, size_t size)
{
    if (RSV_UNLIKELY(!p) && a->debug) rsvi_dbg_oom(rsvi_dbg_opts(a->debug), "arena", a->name ? a->name : "", size);
    return p;
}

void *rsv_arena_alloc_slow(rsv_arena_t *a, size_t size, size_t align)
{
    int zero = (a->flags & RSV_ARENA_ZERO) != 0;
    if (RSV_UNLIKELY(a->slow & RSVI_ARENA_SLOW_DEBUG)) return arena_dbg_alloc(a, size, align, zero, RSVI_DBG_SITE());
    return arena_oom(a, arena_alloc(a, size, align, zero), size);
}

void *rsv_arena_calloc_aligned(rsv_arena_t *a, size_t n, size_t size, size_t align)
{
    if (size != 0 && n > SIZE_MAX / size) {
        rsvi_error(EINVAL, "arena: array size overflows");
        return NULL;
    }
    if (RSV_UNLIKELY(a->slow & RSVI_ARENA_SLOW_DEBUG)) return arena_dbg_alloc(a, n * size, align, 1, RSVI_DBG_SITE());
    return arena_oom(a, arena_alloc(a, n * size, align, 1), n * size);
}

void *rsv_arena_calloc(rsv_arena_t *a, size_t n, size_t size)
{
    return rsv_arena_calloc_aligned(a, n, size, 0);
}

/* 1 when [p, p + n) lies in memory the arena has handed out. */
static int arena_owns(const rsv_arena_t *a, const char *p, size_t n)
{
    for (const rsv_arena_t *blk = a->current; blk; blk = blk->prev) {
        const char *start = blk->region.base + arena_hdr(a);
        const char *end = blk == a->current ? a->pos : blk->dirty;
        if (p >= start && p <= end) return n <= (size_t)(end - p);
    }
    return 0;
}

void *rsv_arena_realloc(rsv_arena_t *a, void *p, size_t old_size, size_t new_size)
{
    if (!p) return rsv_arena_alloc(a, new_size);
    if (RSV_UNLIKELY(a->slow & RSVI_ARENA_SLOW_DEBUG)) return rsvi_dbg_realloc(a->debug, p, new_size, RSVI_DBG_SITE());
    if (RSV_CHECKS >= 1 && !arena_owns(a, p, old_size)) {
        rsvi_error(EINVAL, "arena: realloc of memory the arena did not hand out");
        return NULL;
    }
    rsv_arena_t *cur = a->current;
    char *c = p;
    size_t unit = a->align_mask + 1;
    int last = c >= cur->region.base && c <= a->pos
            && (size_t)(a->pos - c) == arena_round(old_size, unit);
    size_t off = (size_t)(c - cur->region.base);
    if (last && new_size <= cur->region.usable - off) {
        size_t end = off + arena_round(new_size, unit);
        if (end > cur->region.committed) {
            size_t before = cur->region.committed;
            if (rsv_region_commit_to(&cur->region, end) != 0) return NULL;
            arena_note_commit(cur, before);
        }
        arena_sync_dirty(a);
        /* HOOK(debug, issue 7): resize the allocation record of p here. */
        if (new_size > old_size) {
            SAN_UNPOISON(c, new_size);
            if (a->flags & RSV_ARENA_ZERO) arena_zero(c + old_size, new_size - old_size, cur->dirty);
        } else {
            SAN_POISON(c + new_size, (size_t)(a->pos - c) - new_size);
        }
        /* MEMPOOL_CHANGE resizes the chunk but leaves the bytes' state:
         * a grown tail must become addressable, a cut one inaccessible. */
        SAN_VG_CHANGE(cur, c, new_size);
        if (new_size > old_size) {
            SAN_VG_UNDEFINED(c + old_size, new_size - old_size);
            if (a->flags & RSV_ARENA_ZERO) SAN_VG_DEFINED(c + old_size, new_size - old_size);
        } else {
            SAN_VG_NOACCESS(c + new_size, old_size - new_size);
        }
        a->pos = cur->region.base + end;
        arena_update_limit(a);
        return p;
    }
    if (new_size <= old_size) return p;
    void *q = rsv_arena_alloc_slow(a, new_size, 0);
    if (q) memcpy(q, p, old_size);
    return q;
}

size_t rsv_arena_pos(const rsv_arena_t *a)
{
    const rsv_arena_t *cur = a->current;
    return cur->base_pos + (size_t)(a->pos - cur->region.base);
}

void rsv_arena_pop_to(rsv_arena_t *a, size_t pos)
{
    if (pos >= rsv_arena_pos(a)) return;
    size_t hdr = arena_hdr(a);
    arena_sync_dirty(a);
    rsv_arena_t *cur = a->current;
    /* Debug layer (issue 7): allocations in [pos, rsv_arena_pos(a)) die
     * here; it fills them with the freed pattern before they are poisoned. */
    if (RSV_UNLIKELY(a->slow & RSVI_ARENA_SLOW_DEBUG)) arena_dbg_pop(a, pos, RSVI_DBG_SITE());
    while (cur->prev && pos < cur->base_pos + hdr) {
        rsv_arena_t *prev = cur->prev;
        arena_block_release(cur);
        cur = prev;
        a->current = cur;
        a->pos = cur->dirty;   /* where cur stopped when the chain moved on */
    }
    size_t off = pos > cur->base_pos + hdr ? pos - cur->base_pos : hdr;
    off = arena_round(off, a->align_mask + 1);
    /* What the arena was using just before this pop stays committed (plus
     * `retain`): a frame or request of steady size reuses it with no
     * mprotect and no first-touch fault, which cost 2-7 us a page here
     * (the bench suite's game frame ran 62x the bump loop when reset
     * decommitted down to `retain`).  A spike is given back at the next
     * pop that finds the arena did not grow back: one cycle of hysteresis. */
    size_t used = (size_t)(a->pos - cur->region.base);
    char *np = cur->region.base + off;
    if (np < a->pos) {
        SAN_POISON(np, (size_t)(a->pos - np));
        a->pos = np;
    }
    SAN_VG_TRIM(cur, cur->region.base, off);
    if (rsv_region_decommit_from(&cur->region, used > off ? used : off) == 0) {
        char *end = cur->region.base + cur->region.committed;
        if (cur->dirty > end) cur->dirty = end;
    }
    arena_update_limit(a);
}

void rsv_arena_reset(rsv_arena_t *a)
{
    rsv_arena_pop_to(a, 0);
}

const char *rsv_arena_name(const rsv_arena_t *a)
{
    return a->name;
}

void rsv_arena_stats(const rsv_arena_t *a, rsv_arena_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->pos = rsv_arena_pos(a);
    size_t hdr = arena_hdr(a);
    for (const rsv_arena_t *blk = a->current; blk; blk = blk->prev) {
        const char *end = blk == a->current ? a->pos : blk->dirty;
        out->used += (size_t)(end - blk->region.base) - hdr;
        out->committed += blk->region.committed;
        out->reserved += blk->region.reserved;
        out->blocks++;
    }
    out->peak = a->current->region.peak;
}

rsv_temp_t rsv_temp_begin(rsv_arena_t *a)
{
    rsv_temp_t t;
    t.arena = a;
    t.pos = rsv_arena_pos(a);
    return t;
}

void rsv_temp_end(rsv_temp_t t)
{
    if (t.arena) rsv_arena_pop_to(t.arena, t.pos);
}

void rsvi_arena_set_slow(rsv_arena_t *a, unsigned reason, int on)
{
    if (on) a->slow |= reason;
    else a->slow &= ~reason;
    arena_update_limit(a);
}

int rsvi_arena_validate(const rsv_arena_t *a)
{
    const rsv_arena_t *cur = a->current;
    const char *base = cur->region.base;
    size_t hdr = arena_hdr(a);
    if (a->pos < base + hdr || a->limit < a->pos) return 0;
    if ((size_t)(a->limit - base) > cur->region.committed) return 0;
    if ((size_t)(a->pos - base) & a->align_mask) return 0;
    if ((size_t)(a->limit - base) & a->align_mask) return 0;
    if ((a->slow || ((a->flags & RSV_ARENA_ZERO) && a->pos < cur->dirty)) && a->limit != a->pos)
        return 0;
    for (const rsv_arena_t *blk = cur; blk->prev; blk = blk->prev)
        if (blk->base_pos != blk->prev->base_pos + blk->prev->region.usable) return 0;
    return 1;
}
