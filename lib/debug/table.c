/* lib/debug/table.c — the debug layer's bookkeeping: pages from the vm
 * layer, the spin lock, the live-block hash table, the quarantine ring and
 * the backtrace store.  Must never allocate from a heap (the heap it
 * watches may be the one that called it) nor print.
 */
#include <errno.h>
#include <string.h>

#include "debug/impl.h"
#include "internal.h"
#include "os/backtrace.h"
#include "os/thread.h"
#include "reservoir/vm.h"

/* ---- pages ----------------------------------------------------------- */

void *dbgi_map(size_t bytes)
{
    void *p = NULL;
    if (bytes == 0 || rsv_vm_reserve(bytes, 0, 0, &p, NULL) != 0) return NULL;
    if (rsv_vm_commit(p, bytes) != 0) {
        (void)rsv_vm_release(p, 0);
        return NULL;
    }
    return p;
}

void dbgi_unmap(void *p, size_t bytes)
{
    (void)bytes;
    if (p) (void)rsv_vm_release(p, 0);
}

/* ---- lock ------------------------------------------------------------ */

void dbgi_lock(rsvi_dbg_t *d)
{
    while (atomic_flag_test_and_set_explicit(&d->lock, memory_order_acquire)) rsvi_os_yield();
}

void dbgi_unlock(rsvi_dbg_t *d)
{
    atomic_flag_clear_explicit(&d->lock, memory_order_release);
}

/* ---- table ----------------------------------------------------------- */

static size_t tbl_hash(uintptr_t key, size_t cap)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

dbg_entry_t *dbgi_find(dbg_table_t *t, uintptr_t key)
{
    if (t->cap == 0 || key <= DBG_KEY_TOMB) return NULL;
    for (size_t i = tbl_hash(key, t->cap), n = 0; n < t->cap; i = (i + 1) & (t->cap - 1), n++) {
        dbg_entry_t *e = &t->slots[i];
        if (e->key == key) return e;
        if (e->key == DBG_KEY_EMPTY) return NULL;
    }
    return NULL;
}

static void tbl_place(dbg_entry_t *slots, size_t cap, const dbg_entry_t *e)
{
    size_t i = tbl_hash(e->key, cap);
    while (slots[i].key > DBG_KEY_TOMB) i = (i + 1) & (cap - 1);
    slots[i] = *e;
}

/* Rehashes into a table of new_cap slots; 0 or ENOMEM (t unchanged). */
static int tbl_resize(dbg_table_t *t, size_t new_cap)
{
    if (new_cap > SIZE_MAX / sizeof(dbg_entry_t)) return ENOMEM;
    size_t bytes = new_cap * sizeof(dbg_entry_t);
    dbg_entry_t *slots = dbgi_map(bytes);
    if (!slots) return ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].key > DBG_KEY_TOMB) tbl_place(slots, new_cap, &t->slots[i]);
    dbgi_unmap(t->slots, t->bytes);
    t->slots = slots;
    t->cap = new_cap;
    t->bytes = bytes;
    t->tombs = 0;
    return 0;
}

dbg_entry_t *dbgi_insert(dbg_table_t *t, const dbg_entry_t *e)
{
    if (t->cap == 0 || (t->used + t->tombs + 1) * 2 > t->cap) {
        /* Rehash (dropping tombstones) into a table at most 25 % full. */
        size_t cap = t->cap ? t->cap : 1024;
        while ((t->used + 1) * 4 > cap) cap *= 2;
        if (tbl_resize(t, cap) != 0) return NULL;
    }
    size_t i = tbl_hash(e->key, t->cap);
    while (t->slots[i].key > DBG_KEY_TOMB) i = (i + 1) & (t->cap - 1);
    if (t->slots[i].key == DBG_KEY_TOMB) t->tombs--;
    t->slots[i] = *e;
    t->used++;
    return &t->slots[i];
}

void dbgi_remove(dbg_table_t *t, dbg_entry_t *slot)
{
    memset(slot, 0, sizeof *slot);
    slot->key = DBG_KEY_TOMB;
    t->used--;
    t->tombs++;
}

dbg_entry_t *dbgi_find_containing(dbg_table_t *t, uintptr_t addr)
{
    dbg_entry_t *best = NULL;
    for (size_t i = 0; i < t->cap; i++) {
        dbg_entry_t *e = &t->slots[i];
        if (e->key <= DBG_KEY_TOMB) continue;
        if (addr > e->key && addr - e->key < (e->size ? e->size : 1)) {
            if (!best || e->state == DBG_LIVE) best = e;
        }
    }
    return best;
}

void dbgi_table_release(dbg_table_t *t)
{
    dbgi_unmap(t->slots, t->bytes);
    memset(t, 0, sizeof *t);
}

/* ---- quarantine ring ------------------------------------------------- */

int dbgi_ring_init(dbg_ring_t *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    if (cap == 0) return 0;
    if (cap > SIZE_MAX / sizeof(dbg_qitem_t)) return ENOMEM;
    r->bytes = cap * sizeof(dbg_qitem_t);
    r->items = dbgi_map(r->bytes);
    if (!r->items) return ENOMEM;
    r->cap = cap;
    return 0;
}

void dbgi_ring_release(dbg_ring_t *r)
{
    dbgi_unmap(r->items, r->bytes);
    memset(r, 0, sizeof *r);
}

/* ---- backtraces ------------------------------------------------------ */

#define BT_RESERVE ((size_t)256 << 20)
#define BT_SLOTS ((size_t)1 << 16)

static int bt_init(dbg_bt_store_t *s)
{
    void *p = NULL;
    if (rsv_vm_reserve(BT_RESERVE, 0, 0, &p, NULL) != 0) return ENOMEM;
    s->slots = dbgi_map(BT_SLOTS * sizeof(uint32_t));
    if (!s->slots) {
        (void)rsv_vm_release(p, 0);
        return ENOMEM;
    }
    s->nslots = BT_SLOTS;
    s->base = p;
    s->reserved = BT_RESERVE;
    s->committed = 0;
    s->used = 8; /* id 0 means none: offset 0 is never a record */
    return 0;
}

static uint32_t bt_hash(void *const *f, unsigned n)
{
    uint64_t h = 1469598103934665603ull;
    for (unsigned i = 0; i < n; i++) h = (h ^ (uint64_t)(uintptr_t)f[i]) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

void *const *dbgi_bt_frames(const dbg_bt_store_t *s, uint32_t id, unsigned *n)
{
    *n = 0;
    if (id == 0 || !s->base) return NULL;
    size_t off = (size_t)(id - 1) * 8;
    if (off + 8 > s->used) return NULL;
    const uint32_t *hdr = (const uint32_t *)(s->base + off);
    *n = hdr[0];
    return (void *const *)(s->base + off + 8);
}

uint32_t dbgi_bt_record(dbg_bt_store_t *s, unsigned depth, const void *site)
{
    void *frames[RSV_DEBUG_MAX_FRAMES + 8];
    unsigned n = rsvi_os_backtrace(frames, depth + 8 <= RSV_DEBUG_MAX_FRAMES + 8 ? depth + 8
                                                                             : RSV_DEBUG_MAX_FRAMES + 8);
    if (n == 0) return 0;
    unsigned start = 0;
    for (unsigned i = 0; i < n; i++)
        if (frames[i] == site) { start = i; break; }
    void **f = frames + start;
    n -= start;
    if (n > depth) n = depth;
    if (!s->base && bt_init(s) != 0) return 0;
    uint32_t h = bt_hash(f, n);
    size_t slot = h & (s->nslots - 1);
    for (unsigned probe = 0; probe < 16; probe++, slot = (slot + 1) & (s->nslots - 1)) {
        uint32_t id = s->slots[slot];
        if (id == 0) break;
        unsigned m;
        void *const *g = dbgi_bt_frames(s, id, &m);
        const uint32_t *hdr = (const uint32_t *)(s->base + (size_t)(id - 1) * 8);
        if (g && m == n && hdr[1] == h && memcmp(g, f, n * sizeof(void *)) == 0) return id;
    }
    size_t need = 8 + (size_t)n * sizeof(void *);
    if (s->used + need > s->reserved) return 0;
    if (s->used + need > s->committed) {
        size_t step = (size_t)64 << 10;
        size_t to = (s->used + need + step - 1) / step * step;
        if (to > s->reserved) to = s->reserved;
        if (rsv_vm_commit(s->base + s->committed, to - s->committed) != 0) return 0;
        s->committed = to;
    }
    uint32_t *hdr = (uint32_t *)(s->base + s->used);
    hdr[0] = n;
    hdr[1] = h;
    memcpy(s->base + s->used + 8, f, n * sizeof(void *));
    uint32_t id = (uint32_t)(s->used / 8 + 1);
    s->used += (need + 7) & ~(size_t)7;
    slot = h & (s->nslots - 1);
    for (unsigned probe = 0; probe < 16; probe++, slot = (slot + 1) & (s->nslots - 1))
        if (s->slots[slot] == 0) { s->slots[slot] = id; break; }
    return id;
}

void dbgi_bt_release(dbg_bt_store_t *s)
{
    if (s->base) (void)rsv_vm_release(s->base, 0);
    dbgi_unmap(s->slots, s->nslots * sizeof(uint32_t));
    memset(s, 0, sizeof *s);
}
