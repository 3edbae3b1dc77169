/* lib/debug/core.c — the debug decorator: creates the state, decorates
 * blocks (fills, canaries, guard pages), frees them through the
 * quarantine, and checks them on free, realloc, validate, reclaim and
 * destroy.  Every operation runs under the state's spin lock; reports are
 * delivered with it held (see debug.h: a handler must not call back into
 * the allocator).
 *
 * Must never allocate from a heap, print with stdio, or touch a block
 * outside [raw, raw + raw_size) of an entry it owns.
 */
#include <errno.h>
#include <string.h>

#include "debug/impl.h"
#include "internal.h"
#include "os/backtrace.h"
#include "reservoir/vm.h"

#define DBG_WRAP_FLAGS (RSV_DEBUG_FILL | RSV_DEBUG_CANARY | RSV_DEBUG_GUARD | RSV_DEBUG_QUARANTINE \
                        | RSV_DEBUG_LEAKS | RSV_DEBUG_BACKTRACE)
#define DBG_POST 16u

/* RSV_DEBUG's bits (lib/env.c) are the public ones where they overlap. */
_Static_assert((unsigned)RSVI_DBG_FILL == (unsigned)RSV_DEBUG_FILL
               && (unsigned)RSVI_DBG_CANARY == (unsigned)RSV_DEBUG_CANARY
               && (unsigned)RSVI_DBG_GUARD == (unsigned)RSV_DEBUG_GUARD
               && (unsigned)RSVI_DBG_QUARANTINE == (unsigned)RSV_DEBUG_QUARANTINE
               && (unsigned)RSVI_DBG_LEAKS == (unsigned)RSV_DEBUG_LEAKS
               && (unsigned)RSVI_DBG_GUARD_UNDER == (unsigned)RSV_DEBUG_GUARD_UNDER
               && (unsigned)RSVI_DBG_BACKTRACE == (unsigned)RSV_DEBUG_BACKTRACE,
               "RSVI_DBG_* and RSV_DEBUG_* bits differ");

int rsvi_dbg_wanted(const rsv_debug_opts_t *o)
{
    return o != NULL && (o->flags & DBG_WRAP_FLAGS) != 0;
}

static size_t dbg_pre(unsigned flags, size_t align)
{
    if (!(flags & RSV_DEBUG_CANARY)) return 0;
    return align > 16 ? align : 16;
}

size_t rsvi_dbg_raw_size(const rsv_debug_opts_t *o, size_t size, size_t align)
{
    unsigned flags = o ? o->flags : 0;
    size_t extra = (flags & RSV_DEBUG_CANARY) ? dbg_pre(flags, align) + DBG_POST : 0;
    if (size > SIZE_MAX - extra) return SIZE_MAX;
    return size + extra;
}

rsvi_dbg_t *rsvi_dbg_create(const rsv_debug_opts_t *o, const rsvi_dbg_backend_t *be,
                            const char *allocator, const char *name)
{
    size_t bytes = (sizeof(rsvi_dbg_t) + rsv_vm_page_size() - 1) & ~(rsv_vm_page_size() - 1);
    rsvi_dbg_t *d = dbgi_map(bytes);
    if (!d) {
        rsvi_error(ENOMEM, "debug: cannot map the debug state");
        return NULL;
    }
    memset(d, 0, sizeof *d);
    atomic_flag_clear(&d->lock);
    d->self_bytes = bytes;
    d->o = *o;
    d->be = *be;
    d->allocator = allocator ? allocator : "allocator";
    d->name = name ? name : "";
    d->page = rsv_vm_page_size();
    if (d->o.quarantine_bytes == 0) d->o.quarantine_bytes = (size_t)16 << 20;
    if (d->o.quarantine_blocks == 0) d->o.quarantine_blocks = 4096;
    if (d->o.backtrace_depth == 0) d->o.backtrace_depth = 16;
    if (d->o.backtrace_depth > RSV_DEBUG_MAX_FRAMES) d->o.backtrace_depth = RSV_DEBUG_MAX_FRAMES;
    if ((d->o.flags & RSV_DEBUG_QUARANTINE)
        && dbgi_ring_init(&d->ring, d->o.quarantine_blocks) != 0) {
        dbgi_unmap(d, bytes);
        rsvi_error(ENOMEM, "debug: cannot map the quarantine");
        return NULL;
    }
    d->hist_cap = 256;
    d->hist_bytes = d->hist_cap * sizeof(dbg_entry_t);
    d->hist = dbgi_map(d->hist_bytes);
    if (!d->hist) {
        dbgi_ring_release(&d->ring);
        dbgi_unmap(d, bytes);
        rsvi_error(ENOMEM, "debug: cannot map the free history");
        return NULL;
    }
    if (d->o.flags & RSV_DEBUG_BACKTRACE) rsvi_os_backtrace_init();
    return d;
}

/* ---- checks ------------------------------------------------------------ */

/* Canaries (or guard slack) of a block: 0, or the kind with *bad set. */
static int dbg_check_block(rsvi_dbg_t *d, const dbg_entry_t *e, uintptr_t *bad)
{
    if (e->guard) return dbgi_guard_check(d, e, bad);
    if (!(d->o.flags & RSV_DEBUG_CANARY)) return 0;
    const unsigned char *raw = (const unsigned char *)e->raw;
    const unsigned char *user = (const unsigned char *)e->key;
    const unsigned char *end = raw + e->raw_size;
    for (const unsigned char *p = user; p > raw; p--)
        if (p[-1] != RSV_DEBUG_CANARY_BYTE) { *bad = (uintptr_t)(p - 1); return RSV_BUG_UNDERRUN; }
    for (const unsigned char *p = user + e->size; p < end; p++)
        if (*p != RSV_DEBUG_CANARY_BYTE) { *bad = (uintptr_t)p; return RSV_BUG_OVERRUN; }
    return 0;
}

/* Fill of a freed plain block within [lo, hi) (clipped to the block): 0 or
 * RSV_BUG_USE_AFTER_FREE with *bad.  Reclaimed blocks may also read zero:
 * the allocator may have decommitted and recommitted their pages (so a
 * write of zeros after an arena pop goes unseen).  Neither the arena's pop
 * nor the pool's reset writes into the blocks they take back. */
static int dbg_check_freed(rsvi_dbg_t *d, const dbg_entry_t *e, uintptr_t lo, uintptr_t hi, uintptr_t *bad)
{
    uintptr_t raw = (uintptr_t)e->raw;
    if (lo < raw) lo = raw;
    if (hi > raw + e->raw_size) hi = raw + e->raw_size;
    int canary = (d->o.flags & RSV_DEBUG_CANARY) != 0;
    for (uintptr_t p = lo; p < hi; p++) {
        unsigned char c = *(const unsigned char *)p;
        int in_user = p >= e->key && p < e->key + e->size;
        unsigned char want = in_user ? RSV_DEBUG_FREE_BYTE : RSV_DEBUG_CANARY_BYTE;
        if (!in_user && !canary) continue;
        if (c == want || (e->reclaimed && c == 0)) continue;
        *bad = p;
        return RSV_BUG_USE_AFTER_FREE;
    }
    return 0;
}

/* Rewrites a reported block's canaries (or guard slack), so that one
 * corruption is reported once, not again at every later check. */
static void dbg_repair(rsvi_dbg_t *d, const dbg_entry_t *e)
{
    unsigned char *user = (unsigned char *)e->key;
    if (e->guard) {
        uintptr_t lo = e->key & ~(uintptr_t)(d->page - 1);
        uintptr_t hi = (e->key + (e->size ? e->size : 1) + d->page - 1) & ~(uintptr_t)(d->page - 1);
        memset((void *)lo, RSV_DEBUG_CANARY_BYTE, e->key - lo);
        memset(user + e->size, RSV_DEBUG_CANARY_BYTE, hi - (e->key + e->size));
    } else if (d->o.flags & RSV_DEBUG_CANARY) {
        unsigned char *raw = (unsigned char *)e->raw;
        memset(raw, RSV_DEBUG_CANARY_BYTE, (size_t)(user - raw));
        memset(user + e->size, RSV_DEBUG_CANARY_BYTE, e->raw_size - (size_t)(user - raw) - e->size);
    }
}

static void dbg_report_check(rsvi_dbg_t *d, int kind, const dbg_entry_t *e, uintptr_t bad,
                             const void *site, const char *label)
{
    const char *detail = kind == RSV_BUG_OVERRUN ? "canary after the block overwritten"
                       : kind == RSV_BUG_UNDERRUN ? "canary before the block overwritten"
                       : "freed block written after free";
    dbgi_report(d, (rsv_debug_kind_t)kind, e, (const void *)bad, site, label, detail);
    if (kind != RSV_BUG_USE_AFTER_FREE) {
        dbg_repair(d, e);
    } else if (!e->guard && !e->reclaimed) {
        memset((void *)e->key, RSV_DEBUG_FREE_BYTE, e->size);
        dbg_repair(d, e);
    }
}

/* ---- quarantine -------------------------------------------------------- */

/* Takes the block out of the table for good: releases a guard block, gives
 * a plain one back to the backend unless the allocator already has it. */
static void dbg_drop(rsvi_dbg_t *d, dbg_entry_t *e)
{
    if (e->free_site || e->state == DBG_FREED) {
        dbg_entry_t *h = &d->hist[d->hist_next++ % d->hist_cap];
        *h = *e;
        h->state = DBG_FREED;
    }
    if (e->guard) {
        dbgi_guard_release(d, e);
    } else if (!e->reclaimed && d->be.free && e->raw) {
        d->be.free(d->be.ctx, e->raw);
    }
    dbgi_remove(&d->table, e);
}

/* Evicts the oldest quarantined block: checks its fill, then drops it. */
static void dbg_evict_one(rsvi_dbg_t *d, const void *site)
{
    dbg_ring_t *r = &d->ring;
    dbg_qitem_t it = r->items[r->head];
    r->head = (r->head + 1) % r->cap;
    r->count--;
    dbg_entry_t *e = dbgi_find(&d->table, it.key);
    if (!e || e->seq != it.seq || e->state != DBG_FREED) return; /* stale: already dropped */
    if (e->reclaimed) {
        d->reclaimed--; /* not read: the allocator may have decommitted it */
    } else if (!e->guard) {
        uintptr_t bad;
        d->q_bytes -= e->raw_size;
        if (dbg_check_freed(d, e, e->raw ? (uintptr_t)e->raw : e->key, UINTPTR_MAX, &bad))
            dbg_report_check(d, RSV_BUG_USE_AFTER_FREE, e, bad, site, "found at");
    }
    dbg_drop(d, e);
}

static void dbg_quarantine(rsvi_dbg_t *d, dbg_entry_t *e, const void *site)
{
    dbg_ring_t *r = &d->ring;
    size_t add = (e->guard || e->reclaimed) ? 0 : e->raw_size;
    uintptr_t key = e->key;
    uint64_t seq = e->seq;
    e->state = DBG_FREED;
    if (e->reclaimed) d->reclaimed++;
    d->q_bytes += add;
    /* Eviction may drop entries (tombstones only: e stays where it is). */
    while (r->count > 0 && (r->count == r->cap || d->q_bytes > d->o.quarantine_bytes))
        dbg_evict_one(d, site);
    if (r->count == r->cap) return; /* cannot happen: cap >= 1 */
    r->items[(r->head + r->count) % r->cap] = (dbg_qitem_t){key, seq};
    r->count++;
}

/* A live block stops being live: fill, then quarantine or drop. */
static void dbg_retire(rsvi_dbg_t *d, dbg_entry_t *e, const void *site, int reclaimed)
{
    d->live--;
    d->live_bytes -= e->size;
    e->free_site = site;
    int hold = (d->o.flags & RSV_DEBUG_QUARANTINE) && d->ring.cap > 0;
    if (e->guard) {
        dbgi_guard_retire(d, e);
        if (hold) dbg_quarantine(d, e, site);
        else dbg_drop(d, e);
        return;
    }
    if (d->o.flags & (RSV_DEBUG_FILL | RSV_DEBUG_QUARANTINE)) memset((void *)e->key, RSV_DEBUG_FREE_BYTE, e->size);
    e->reclaimed = (uint8_t)(reclaimed != 0);
    if (hold) dbg_quarantine(d, e, site);
    else dbg_drop(d, e);
}

/* Before the backend's memory [lo, hi) is decorated again: checks and
 * drops the reclaimed blocks it overlaps. */
static void dbg_check_reuse(rsvi_dbg_t *d, uintptr_t lo, uintptr_t hi, const void *site)
{
    dbg_ring_t *r = &d->ring;
    for (size_t i = 0; i < r->count && d->reclaimed > 0; i++) {
        dbg_qitem_t it = r->items[(r->head + i) % r->cap];
        dbg_entry_t *e = dbgi_find(&d->table, it.key);
        if (!e || e->seq != it.seq || e->state != DBG_FREED || !e->reclaimed || e->guard) continue;
        uintptr_t raw = (uintptr_t)e->raw;
        if (raw >= hi || raw + e->raw_size <= lo) continue;
        uintptr_t bad;
        if (dbg_check_freed(d, e, lo, hi, &bad))
            dbg_report_check(d, RSV_BUG_USE_AFTER_FREE, e, bad, site, "found at");
        d->reclaimed--;
        dbgi_remove(&d->table, e);
    }
}

/* ---- operations -------------------------------------------------------- */

void *rsvi_dbg_alloc(rsvi_dbg_t *d, size_t size, size_t align, int zero, const void *site)
{
    dbg_entry_t e;
    memset(&e, 0, sizeof e);
    e.size = size;
    e.alloc_site = site;
    size_t a = align ? align : 16;
    int guard = (d->o.flags & RSV_DEBUG_GUARD) && a <= d->page;
    dbgi_lock(d);
    if (guard) {
        if (d->be.flags & RSVI_DBG_BE_ANCHOR) {
            e.anchor = d->be.alloc(d->be.ctx, 1, 1);
            if (!e.anchor) goto oom;
        }
        if (dbgi_guard_alloc(d, size, align, &e) != 0) goto oom;
        if (e.anchor && d->reclaimed) dbg_check_reuse(d, (uintptr_t)e.anchor, (uintptr_t)e.anchor + 1, site);
    } else {
        size_t pre = dbg_pre(d->o.flags, a);
        size_t rs = rsvi_dbg_raw_size(&d->o, size, a);
        if (rs == SIZE_MAX) goto oom;
        e.raw = d->be.alloc(d->be.ctx, rs ? rs : 1, a);
        if (!e.raw) goto oom;
        e.raw_size = rs;
        e.anchor = e.raw;
        e.key = (uintptr_t)e.raw + pre;
        if (d->reclaimed) dbg_check_reuse(d, (uintptr_t)e.raw, (uintptr_t)e.raw + rs, site);
        if (pre) memset(e.raw, RSV_DEBUG_CANARY_BYTE, pre);
        if (rs > pre + size) memset(e.raw + pre + size, RSV_DEBUG_CANARY_BYTE, rs - pre - size);
    }
    if (zero) memset((void *)e.key, 0, size);
    else if (d->o.flags & RSV_DEBUG_FILL) memset((void *)e.key, RSV_DEBUG_NEW_BYTE, size);
    e.seq = ++d->seq;
    if (d->o.flags & RSV_DEBUG_BACKTRACE) e.bt = dbgi_bt_record(&d->bt, d->o.backtrace_depth, site);
    e.state = DBG_LIVE;
    dbg_entry_t *old = dbgi_find(&d->table, e.key);
    if (old) { /* memory the allocator reused behind our back (reclaimed, unchecked) */
        if (old->state == DBG_FREED && old->reclaimed) d->reclaimed--;
        dbgi_remove(&d->table, old);
    }
    if (!dbgi_insert(&d->table, &e)) {
        if (e.guard) dbgi_guard_release(d, &e);
        else if (d->be.free) d->be.free(d->be.ctx, e.raw);
        goto oom;
    }
    d->live++;
    d->live_bytes += size;
    dbgi_unlock(d);
    return (void *)e.key;
oom:
    dbgi_unlock(d);
    rsvi_dbg_oom(&d->o, d->allocator, d->name, size);
    return NULL;
}

/* Reports a free of p that is no live block; returns the kind. */
static int dbg_bad_free(rsvi_dbg_t *d, dbg_entry_t *e, const void *p, const void *site, const char *what)
{
    if (!e) { /* freed and gone from the table: the history may know it */
        size_t n = d->hist_next < d->hist_cap ? d->hist_next : d->hist_cap;
        for (size_t i = 1; i <= n && !e; i++) {
            dbg_entry_t *h = &d->hist[(d->hist_next - i) % d->hist_cap];
            if (h->key == (uintptr_t)p) e = h;
        }
    }
    if (e && e->state == DBG_FREED) {
        dbgi_report(d, RSV_BUG_DOUBLE_FREE, e, p, site, "freed again at", what);
        return RSV_BUG_DOUBLE_FREE;
    }
    dbg_entry_t *c = dbgi_find_containing(&d->table, (uintptr_t)p);
    if (c) {
        dbgi_report(d, RSV_BUG_INTERIOR_FREE, c, p, site, "freed at", "pointer inside the block");
        return RSV_BUG_INTERIOR_FREE;
    }
    dbgi_report(d, RSV_BUG_INVALID_FREE, NULL, p, site, "freed at", "pointer is no block of this allocator");
    return RSV_BUG_INVALID_FREE;
}

int rsvi_dbg_free(rsvi_dbg_t *d, void *p, const void *site)
{
    dbgi_lock(d);
    dbg_entry_t *e = dbgi_find(&d->table, (uintptr_t)p);
    if (!e && d->be.usable && d->be.usable(d->be.ctx, p)) {
        /* A plain block from before the decoration was switched on. */
        d->be.free(d->be.ctx, p);
        dbgi_unlock(d);
        return 0;
    }
    if (!e || e->state != DBG_LIVE) {
        int k = dbg_bad_free(d, e, p, site, "block freed twice");
        dbgi_unlock(d);
        return k;
    }
    uintptr_t bad;
    int k = dbg_check_block(d, e, &bad);
    if (k) dbg_report_check(d, k, e, bad, site, "freed at");
    dbg_retire(d, e, site, 0);
    dbgi_unlock(d);
    return 0;
}

void *rsvi_dbg_realloc(rsvi_dbg_t *d, void *p, size_t size, const void *site)
{
    if (!p) return rsvi_dbg_alloc(d, size, 0, 0, site);
    dbgi_lock(d);
    dbg_entry_t *e = dbgi_find(&d->table, (uintptr_t)p);
    size_t old = 0;
    int plain = 0;
    if (!e && d->be.usable) plain = (old = d->be.usable(d->be.ctx, p)) != 0;
    if (!plain && (!e || e->state != DBG_LIVE)) {
        (void)dbg_bad_free(d, e, p, site, "realloc of a freed block");
        dbgi_unlock(d);
        return NULL;
    }
    if (!plain) old = e->size;
    dbgi_unlock(d);
    void *n = rsvi_dbg_alloc(d, size, 0, 0, site);
    if (!n) return NULL;
    memcpy(n, p, old < size ? old : size);
    (void)rsvi_dbg_free(d, p, site); /* a plain block goes straight back */
    return n;
}

size_t rsvi_dbg_usable(rsvi_dbg_t *d, const void *p)
{
    dbgi_lock(d);
    dbg_entry_t *e = dbgi_find(&d->table, (uintptr_t)p);
    size_t n = e && e->state == DBG_LIVE ? e->size : 0;
    dbgi_unlock(d);
    return n;
}

int rsvi_dbg_owns(rsvi_dbg_t *d, const void *p)
{
    dbgi_lock(d);
    dbg_entry_t *e = dbgi_find(&d->table, (uintptr_t)p);
    int r = e && e->state == DBG_LIVE;
    dbgi_unlock(d);
    return r;
}

int rsvi_dbg_knows(rsvi_dbg_t *d, const void *p)
{
    dbgi_lock(d);
    int r = dbgi_find(&d->table, (uintptr_t)p) != NULL;
    dbgi_unlock(d);
    return r;
}

/* Checks everything (lock held); returns the first kind found or 0. */
static int dbg_validate_all(rsvi_dbg_t *d, const void *site)
{
    int first = 0;
    for (size_t i = 0; i < d->table.cap; i++) {
        dbg_entry_t *e = &d->table.slots[i];
        if (e->key <= DBG_KEY_TOMB) continue;
        uintptr_t bad;
        int k = 0;
        if (e->state == DBG_LIVE) k = dbg_check_block(d, e, &bad);
        else if (!e->guard && !e->reclaimed) k = dbg_check_freed(d, e, (uintptr_t)e->raw, UINTPTR_MAX, &bad);
        if (k) {
            dbg_report_check(d, k, e, bad, site, "found at");
            if (!first) first = k;
        }
    }
    return first;
}

int rsvi_dbg_validate(rsvi_dbg_t *d, const void *p, const void *site)
{
    dbgi_lock(d);
    int k;
    if (p == NULL) {
        k = dbg_validate_all(d, site);
    } else {
        dbg_entry_t *e = dbgi_find(&d->table, (uintptr_t)p);
        uintptr_t bad;
        if (!e || e->state != DBG_LIVE) k = RSV_BUG_INVALID_FREE;
        else if ((k = dbg_check_block(d, e, &bad)) != 0) dbg_report_check(d, k, e, bad, site, "found at");
    }
    dbgi_unlock(d);
    return k;
}

void rsvi_dbg_reclaim(rsvi_dbg_t *d, const void *lo, const void *hi, const void *site)
{
    int all = lo == NULL && hi == NULL;
    dbgi_lock(d);
    for (size_t i = 0; i < d->table.cap; i++) {
        dbg_entry_t *e = &d->table.slots[i];
        if (e->key <= DBG_KEY_TOMB) continue;
        if (!all && (e->anchor == NULL || (const char *)e->anchor < (const char *)lo
                     || (const char *)e->anchor >= (const char *)hi))
            continue;
        uintptr_t bad;
        if (e->state == DBG_LIVE) {
            int k = dbg_check_block(d, e, &bad);
            if (k) dbg_report_check(d, k, e, bad, site, "reclaimed at");
            dbg_retire(d, e, site, 1);
        } else if (!e->guard && !e->reclaimed) {
            /* Quarantined and about to be handed back to the allocator. */
            if (dbg_check_freed(d, e, (uintptr_t)e->raw, UINTPTR_MAX, &bad))
                dbg_report_check(d, RSV_BUG_USE_AFTER_FREE, e, bad, site, "found at");
            d->q_bytes -= e->raw_size;
            e->reclaimed = 1;
            d->reclaimed++;
        }
    }
    dbgi_unlock(d);
}

void rsvi_dbg_fork_lock(rsvi_dbg_t *d)
{
    dbgi_lock(d);
}

void rsvi_dbg_fork_unlock(rsvi_dbg_t *d)
{
    dbgi_unlock(d);
}

void rsvi_dbg_counts(rsvi_dbg_t *d, size_t *live, size_t *live_bytes, size_t *quarantined)
{
    dbgi_lock(d);
    if (live) *live = d->live;
    if (live_bytes) *live_bytes = d->live_bytes;
    if (quarantined) *quarantined = d->ring.count;
    dbgi_unlock(d);
}

size_t rsvi_dbg_report_leaks(rsvi_dbg_t *d, const char *when)
{
    dbgi_lock(d);
    size_t n = dbgi_leaks_locked(d, when, 0);
    dbgi_unlock(d);
    return n;
}

size_t rsvi_dbg_report_leaks_at_exit(rsvi_dbg_t *d)
{
    dbgi_lock(d);
    size_t n = dbgi_leaks_locked(d, "at exit", 1);
    dbgi_unlock(d);
    return n;
}

const rsv_debug_opts_t *rsvi_dbg_opts(const rsvi_dbg_t *d)
{
    return &d->o;
}

const rsvi_dbg_backend_t *rsvi_dbg_backend(const rsvi_dbg_t *d)
{
    return &d->be;
}

void rsvi_dbg_opts_from_env(unsigned bits, rsv_debug_opts_t *out)
{
    memset(out, 0, sizeof *out);
    if (bits == 0) return;
    out->flags = bits & (RSV_DEBUG_FILL | RSV_DEBUG_CANARY | RSV_DEBUG_GUARD | RSV_DEBUG_QUARANTINE
                         | RSV_DEBUG_LEAKS | RSV_DEBUG_GUARD_UNDER | RSV_DEBUG_BACKTRACE);
    if (bits & RSVI_DBG_OOM_ABORT) out->oom = RSV_OOM_ABORT;
    out->flags |= RSV_DEBUG_ABORT;
}

size_t rsvi_dbg_destroy(rsvi_dbg_t *d, const void *site)
{
    if (!d) return 0;
    dbgi_lock(d);
    (void)dbg_validate_all(d, site);
    size_t live = d->live;
    if (d->o.flags & RSV_DEBUG_LEAKS) (void)dbgi_leaks_locked(d, "at destroy", 0);
    for (size_t i = 0; i < d->table.cap; i++) {
        dbg_entry_t *e = &d->table.slots[i];
        if (e->key > DBG_KEY_TOMB && e->guard) dbgi_guard_release(d, e);
    }
    dbgi_table_release(&d->table);
    dbgi_ring_release(&d->ring);
    dbgi_bt_release(&d->bt);
    dbgi_unmap(d->hist, d->hist_bytes);
    dbgi_unmap(d, d->self_bytes);
    return live;
}
