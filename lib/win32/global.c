/* lib/win32/global.c — the Win32 Global* and Local* families: fixed blocks
 * straight from the process heap, moveable objects behind handles.
 *
 * A moveable handle is the address of the second slot of a two-slot entry
 * {flags, data} in one reserved table (spec GL-2, GL-3):
 *
 *   entry (2P aligned):  [ flags word | data pointer ]
 *                                      ^ HGLOBAL: handle mod 2P == P
 *   flags: 1 used, 2 moveable, 4 discardable, 8 discarded, 0x8000 DDESHARE,
 *          lock count in bits 16..23 (saturates at 255, GL-21)
 *   free entry: flags = next free entry (2P aligned, so bit 0 clear)
 *
 * The table reserves room for 2^25 entries (x64) and commits 1 MiB at a time,
 * so there is no 65,536 cap (GL-5 is a deliberate deviation, docs/win32.md).
 * A handle is checked against the committed range and the used bit before
 * anything is read through it, so garbage never faults.  The data block
 * carries the entry as its owner tag (GL-4, GL-62).  Free entries are
 * cached per thread so GlobalAlloc/GlobalFree take no lock on the fast path.
 *
 * Must never: read through a handle or pointer before checking it, print,
 * or call an OS function directly.
 */
#include <string.h>

#include "internal.h"
#include "reservoir/vm.h"
#include "win32/w32.h"

#define P sizeof(void *)
#if defined(__GNUC__)
#  define W32_NOINLINE __attribute__((noinline))
#else
#  define W32_NOINLINE
#endif
#define W32_GMAX ((size_t)1 << (sizeof(void *) == 8 ? 25 : 23))
#define W32_GSTEP ((size_t)1 << 20)
#define W32_TC_MAX 64u
#define W32_TC_BATCH 32u

enum {
    E_USED = 1,
    E_MOVEABLE = 2,
    E_DISCARDABLE = 4,
    E_DISCARDED = 8,
    E_DDESHARE = 0x8000,
    E_LOCK_SHIFT = 16,
    E_LOCK_MASK = 0xFF << 16
};

typedef struct w32_entry {
    _Atomic uintptr_t flags;
    void *ptr;
} w32_entry_t;

static rsvi_lock_t g_lock;
static char *g_table;                 /* W32_GMAX entries reserved */
static _Atomic uintptr_t g_end;       /* end of the committed part */
static _Atomic uintptr_t g_size;      /* g_end - g_table: one compare in w32_entry */
static uintptr_t g_fresh;             /* next never-used entry (under g_lock) */
static w32_entry_t *g_free;           /* shared free list (under g_lock) */

/* ---- the handle table ------------------------------------------------------- */

/* Caller holds g_lock.  Returns a fresh or recycled entry, or NULL. */
static w32_entry_t *w32_take_locked(void)
{
    if (g_free) {
        w32_entry_t *e = g_free;
        g_free = (w32_entry_t *)atomic_load_explicit(&e->flags, memory_order_relaxed);
        return e;
    }
    if (!g_table) {
        void *base = NULL;
        if (rsv_vm_reserve(W32_GMAX * sizeof(w32_entry_t), 0, 0, &base, NULL) != 0) return NULL;
        g_table = base;
        g_fresh = (uintptr_t)base;
        atomic_store(&g_end, (uintptr_t)base);
    }
    uintptr_t end = atomic_load_explicit(&g_end, memory_order_relaxed);
    if (g_fresh + sizeof(w32_entry_t) > end) {
        if (end + W32_GSTEP > (uintptr_t)g_table + W32_GMAX * sizeof(w32_entry_t)) return NULL;
        if (rsv_vm_commit((void *)end, W32_GSTEP) != 0) return NULL;
        atomic_store_explicit(&g_end, end + W32_GSTEP, memory_order_release);
        atomic_store_explicit(&g_size, end + W32_GSTEP - (uintptr_t)g_table, memory_order_release);
    }
    w32_entry_t *e = (w32_entry_t *)g_fresh;
    g_fresh += sizeof(w32_entry_t);
    return e;
}

/* Free entries are cached per thread (rsvi_w32_tcache_t.entries), linked
 * through their flags word (bit 0 clear, so they read as free) with a NULL
 * data slot, so GlobalAlloc/GlobalFree take no lock on the fast path. */

/* Caller holds g_lock.  Moves tc's cached entries to the shared list until
 * at most `keep` remain. */
static void w32_flush_locked(rsvi_w32_tcache_t *tc, size_t keep)
{
    while (tc->nentries > keep) {
        w32_entry_t *e = tc->entries;
        tc->entries = (w32_entry_t *)atomic_load_explicit(&e->flags, memory_order_relaxed);
        tc->nentries--;
        atomic_store_explicit(&e->flags, (uintptr_t)g_free, memory_order_relaxed);
        g_free = e;
    }
}

void rsvi_w32_entries_flush(rsvi_w32_tcache_t *tc)
{
    rsvi_lock(&g_lock);
    w32_flush_locked(tc, 0);
    w32_entry_t *e = tc->hot_entry;
    if (e) {
        atomic_store_explicit(&e->flags, (uintptr_t)g_free, memory_order_relaxed);
        g_free = e;
        tc->hot_entry = NULL;
    }
    rsvi_unlock(&g_lock);
}

/* An unused entry, from this thread's cache when possible; NULL when the
 * table is full or memory ran out. */
static w32_entry_t *w32_entry_pop(void)
{
    rsvi_w32_tcache_t *tc = rsvi_w32_tcache();
    w32_entry_t *e = tc ? tc->hot_entry : NULL;
    if (e) {
        tc->hot_entry = NULL;
        return e;
    }
    e = tc ? tc->entries : NULL;
    if (RSV_LIKELY(e != NULL)) {
        tc->entries = (w32_entry_t *)atomic_load_explicit(&e->flags, memory_order_relaxed);
        tc->nentries--;
        return e;
    }
    rsvi_lock(&g_lock);
    e = w32_take_locked();
    for (unsigned i = 1; e && tc && i < W32_TC_BATCH; i++) {
        w32_entry_t *x = w32_take_locked();
        if (!x) break;
        x->ptr = NULL;
        atomic_store_explicit(&x->flags, (uintptr_t)tc->entries, memory_order_relaxed);
        tc->entries = x;
        tc->nentries++;
    }
    rsvi_unlock(&g_lock);
    return e;
}

static void w32_entry_push(w32_entry_t *e)
{
    rsvi_w32_tcache_t *tc = rsvi_w32_tcache();
    e->ptr = NULL;
    if (RSV_UNLIKELY(!tc)) { /* no thread state: straight to the shared list */
        rsvi_lock(&g_lock);
        atomic_store_explicit(&e->flags, (uintptr_t)g_free, memory_order_release);
        g_free = e;
        rsvi_unlock(&g_lock);
        return;
    }
    /* The newest entry is the hot one: handles are reused exactly LIFO, as
     * kernel32 reuses them. */
    w32_entry_t *old = tc->hot_entry;
    atomic_store_explicit(&e->flags, 0, memory_order_release);
    tc->hot_entry = e;
    if (!old) return;
    atomic_store_explicit(&old->flags, (uintptr_t)tc->entries, memory_order_release);
    tc->entries = old;
    if (RSV_UNLIKELY(++tc->nentries > W32_TC_MAX)) {
        rsvi_lock(&g_lock);
        w32_flush_locked(tc, W32_TC_MAX - W32_TC_BATCH);
        rsvi_unlock(&g_lock);
    }
}

/* 1 when h has the shape of a moveable handle (GL-2). */
static int w32_is_handle(const void *h) { return ((uintptr_t)h & (2 * P - 1)) == P; }

/* The entry slot behind handle h, used or not, or NULL.  Never faults: the
 * offset from the table, rotated right by log2(2P), is below the committed
 * size / 2P only for a multiple of 2P (the handle shape, GL-2) inside the
 * committed part. */
RSV_INLINE w32_entry_t *w32_slot_of(const void *h)
{
    const unsigned sh = P == 8 ? 4 : 3, bits = (unsigned)(8 * sizeof(uintptr_t));
    uintptr_t size = atomic_load_explicit(&g_size, memory_order_acquire);
    uintptr_t off = (uintptr_t)h - P - (uintptr_t)g_table;
    uintptr_t rot = (off >> sh) | (off << (bits - sh));
    return rot < (size >> sh) ? (w32_entry_t *)((uintptr_t)h - P) : NULL;
}

/* The live entry behind handle h, or NULL.  Never faults. */
static w32_entry_t *w32_entry(const void *h)
{
    w32_entry_t *en = w32_slot_of(h);
    return en && (atomic_load_explicit(&en->flags, memory_order_acquire) & E_USED) ? en : NULL;
}

static HGLOBAL w32_handle(w32_entry_t *e) { return (HGLOBAL)&e->ptr; }

static unsigned w32_locks(uintptr_t f) { return (unsigned)((f & E_LOCK_MASK) >> E_LOCK_SHIFT); }

/* The live process-heap block at p (a fixed pointer), or NULL; *known as
 * rsvi_w32_pblock. */
static rsvi_w32_hdr_t *w32_fixed(const void *p, int *known)
{
    *known = 0;
    if (!p || ((uintptr_t)p & (2 * P - 1))) return NULL;
    return rsvi_w32_pblock(p, known);
}

/* ---- shared Global/Local implementations ------------------------------------- */

static HGLOBAL w32_galloc(UINT flags, SIZE_T n, int local)
{
    if (flags & ~(UINT)(local ? LMEM_VALID_FLAGS : GMEM_VALID_FLAGS)) { /* GL-14 */
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    DWORD hf = (flags & GMEM_ZEROINIT) ? HEAP_ZERO_MEMORY : 0;
    if (!(flags & GMEM_MOVEABLE)) {
        if (!local && n == 0) n = 1; /* GL-10 */
        return rsvi_w32_palloc(hf, n, 0);
    }
    w32_entry_t *e = w32_entry_pop();
    if (!e) {
        rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY); /* GL-16 */
        return NULL;
    }
    uintptr_t f = E_USED | E_MOVEABLE;
    if (flags & (local ? LMEM_DISCARDABLE : GMEM_DISCARDABLE)) f |= E_DISCARDABLE;
    if (!local && (flags & GMEM_DDESHARE)) f |= E_DDESHARE;
    if (n == 0) { /* GL-11: born discarded */
        f |= E_DISCARDED;
        e->ptr = NULL;
    } else {
        e->ptr = rsvi_w32_palloc(hf, n, (uintptr_t)e);
        if (!e->ptr) {
            w32_entry_push(e);
            return NULL;
        }
    }
    atomic_store_explicit(&e->flags, f, memory_order_release);
    return w32_handle(e);
}

static LPVOID w32_glock(HGLOBAL h, int local)
{
    w32_entry_t *e = w32_entry(h);
    if (e) {
        void *p = e->ptr;
        if (!p) { /* GL-23 */
            rsvi_w32_set_error(ERROR_DISCARDED);
            return NULL;
        }
        uintptr_t f = atomic_load_explicit(&e->flags, memory_order_relaxed);
        while (w32_locks(f) < 255 && /* GL-21 */
               !atomic_compare_exchange_weak_explicit(&e->flags, &f, f + ((uintptr_t)1 << E_LOCK_SHIFT),
                                                      memory_order_relaxed, memory_order_relaxed)) {
        }
        return p;
    }
    int known;
    if (!w32_is_handle(h) && w32_fixed(h, &known)) return (LPVOID)h; /* GL-22 */
    /* GL-24, GL-25: LocalLock leaves the last error alone for a pointer. */
    if (!local || w32_is_handle(h) || !h) rsvi_w32_set_error(ERROR_INVALID_HANDLE);
    return NULL;
}

static BOOL w32_gunlock(HGLOBAL h, int local)
{
    w32_entry_t *e = w32_entry(h);
    if (e) {
        uintptr_t f = atomic_load_explicit(&e->flags, memory_order_relaxed);
        for (;;) {
            if (w32_locks(f) == 0) { /* GL-30 */
                rsvi_w32_set_error(ERROR_NOT_LOCKED);
                return FALSE;
            }
            if (atomic_compare_exchange_weak_explicit(&e->flags, &f, f - ((uintptr_t)1 << E_LOCK_SHIFT),
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        }
        if (w32_locks(f) > 1) return TRUE;
        rsvi_w32_set_error(NO_ERROR);
        return FALSE;
    }
    if (w32_is_handle(h) || !h) { /* GL-33 */
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return local ? FALSE : TRUE;
    }
    if (local) { /* GL-32, GL-34 */
        rsvi_w32_set_error(ERROR_NOT_LOCKED);
        return FALSE;
    }
    return TRUE;
}

static HGLOBAL w32_gfree(HGLOBAL h)
{
    if (!h) return NULL; /* GL-100 */
    w32_entry_t *e = w32_entry(h);
    if (e) { /* GL-102: locked objects are freed too */
        if (e->ptr) rsvi_w32_pfree(e->ptr);
        w32_entry_push(e);
        return NULL;
    }
    int known = 0;
    rsvi_w32_hdr_t *hdr = w32_is_handle(h) ? NULL : w32_fixed(h, &known);
    if (!hdr) { /* GL-103, GL-104 */
        rsvi_w32_set_error(w32_is_handle(h) || known ? ERROR_INVALID_HANDLE : ERROR_NOACCESS);
        return h;
    }
    if (hdr->tag & RSVI_W32_MOVEABLE) { /* the data pointer of a moveable object */
        w32_entry_t *owner = (w32_entry_t *)(hdr->tag & ~(uintptr_t)RSVI_W32_TAGBITS);
        rsvi_w32_pfree(h);
        w32_entry_push(owner);
        return NULL;
    }
    rsvi_w32_pfree(h);
    return NULL;
}

static SIZE_T w32_gsize(HGLOBAL h)
{
    w32_entry_t *e = w32_entry(h);
    if (e) { /* GL-50, GL-51 */
        void *p = e->ptr;
        return p ? ((rsvi_w32_hdr_t *)((char *)p - RSVI_W32_HDR))->size : 0;
    }
    int known;
    rsvi_w32_hdr_t *hdr = w32_is_handle(h) ? NULL : w32_fixed(h, &known);
    if (hdr) return hdr->size; /* GL-53 */
    rsvi_w32_set_error(ERROR_INVALID_HANDLE); /* GL-52 */
    return 0;
}

static UINT w32_gflags(HGLOBAL h, int local)
{
    w32_entry_t *e = w32_entry(h);
    if (e) { /* GL-40, GL-42, GL-45 */
        uintptr_t f = atomic_load_explicit(&e->flags, memory_order_relaxed);
        UINT r = w32_locks(f);
        if (f & E_DISCARDABLE) r |= local ? LMEM_DISCARDABLE : GMEM_DISCARDABLE;
        if (!e->ptr) r |= GMEM_DISCARDED;
        if (!local && (f & E_DDESHARE)) r |= GMEM_DDESHARE;
        return r;
    }
    int known;
    if (!w32_is_handle(h) && w32_fixed(h, &known)) return 0; /* GL-41 */
    /* GL-43, GL-44 */
    rsvi_w32_set_error(local && !w32_is_handle(h) && h ? ERROR_NOACCESS : ERROR_INVALID_HANDLE);
    return GMEM_INVALID_HANDLE;
}

static HGLOBAL w32_ghandle(LPCVOID p, int local)
{
    if (!p) { /* GL-64 */
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    w32_entry_t *e = w32_entry(p);
    if (e) return (HGLOBAL)p;
    int known;
    rsvi_w32_hdr_t *hdr = w32_is_handle(p) ? NULL : w32_fixed(p, &known);
    if (hdr) { /* GL-60..GL-62: the back-pointer decides */
        if (hdr->tag & RSVI_W32_MOVEABLE)
            return w32_handle((w32_entry_t *)(hdr->tag & ~(uintptr_t)RSVI_W32_TAGBITS));
        return (HGLOBAL)p;
    }
    rsvi_w32_set_error(local && !w32_is_handle(p) ? ERROR_NOACCESS : ERROR_INVALID_HANDLE); /* GL-63 */
    return NULL;
}

static HGLOBAL w32_grealloc(HGLOBAL h, SIZE_T n, UINT flags, int local)
{
    UINT discardable = local ? LMEM_DISCARDABLE : GMEM_DISCARDABLE;
    DWORD hf = (flags & GMEM_ZEROINIT) ? HEAP_ZERO_MEMORY : 0;
    w32_entry_t *e = w32_entry(h);
    int known = 0;
    rsvi_w32_hdr_t *hdr = (e || w32_is_handle(h)) ? NULL : w32_fixed(h, &known);
    if (!e && !hdr) { /* GL-70, GL-71 */
        rsvi_w32_set_error(w32_is_handle(h) || !h || known ? ERROR_INVALID_HANDLE : ERROR_NOACCESS);
        return NULL;
    }
    if (flags & GMEM_MODIFY) { /* GL-72, GL-73 */
        if (e) {
            if (flags & discardable) atomic_fetch_or(&e->flags, (uintptr_t)E_DISCARDABLE);
            return h;
        }
        if (local || !(flags & GMEM_MOVEABLE) || (hdr->tag & RSVI_W32_MOVEABLE)) return h;
        w32_entry_t *ne = w32_entry_pop();
        if (!ne) {
            rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
            return NULL;
        }
        ne->ptr = (void *)h;
        rsvi_w32_retag((void *)h, (uintptr_t)ne);
        atomic_store_explicit(&ne->flags,
                              (uintptr_t)(E_USED | E_MOVEABLE | ((flags & discardable) ? E_DISCARDABLE : 0)),
                              memory_order_release);
        return w32_handle(ne);
    }
    if (flags & discardable) { /* GL-76 */
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    if (hdr) { /* fixed: moves only with GMEM_MOVEABLE (GL-74, GL-75) */
        DWORD rf = hf | ((flags & GMEM_MOVEABLE) ? 0 : HEAP_REALLOC_IN_PLACE_ONLY);
        return rsvi_w32_prealloc(rf, (void *)h, n);
    }
    uintptr_t f = atomic_load_explicit(&e->flags, memory_order_relaxed);
    if (n == 0) { /* GL-78, GL-80, GL-90: discard unlocked objects only */
        if (!(flags & GMEM_MOVEABLE) || w32_locks(f) != 0) {
            rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
            return NULL;
        }
        if (e->ptr) rsvi_w32_pfree(e->ptr);
        e->ptr = NULL;
        atomic_fetch_or(&e->flags, (uintptr_t)E_DISCARDED);
        return h;
    }
    if (!e->ptr) { /* GL-79: re-allocate a discarded object */
        void *p = rsvi_w32_palloc(hf, n, (uintptr_t)e);
        if (!p) return NULL;
        e->ptr = p;
        atomic_fetch_and(&e->flags, ~(uintptr_t)E_DISCARDED);
        return h;
    }
    /* GL-77, GL-80: a locked object moves only with GMEM_MOVEABLE. */
    DWORD rf = hf | ((w32_locks(f) && !(flags & GMEM_MOVEABLE)) ? HEAP_REALLOC_IN_PLACE_ONLY : 0);
    void *q = rsvi_w32_prealloc(rf, e->ptr, n);
    if (!q) return NULL;
    e->ptr = q;
    return h;
}

/* ---- Global* ------------------------------------------------------------------ */

/* The fast paths below fall back to these, as tail calls: out of line so
 * the fast paths save no registers. */
static W32_NOINLINE HGLOBAL w32_galloc_slow(UINT flags, SIZE_T n) { return w32_galloc(flags, n, 0); }
static W32_NOINLINE HGLOBAL w32_gfree_slow(HGLOBAL h) { return w32_gfree(h); }
static W32_NOINLINE LPVOID w32_glock_slow(HGLOBAL h) { return w32_glock(h, 0); }
static W32_NOINLINE BOOL w32_gunlock_slow(HGLOBAL h) { return w32_gunlock(h, 0); }
static W32_NOINLINE HGLOBAL w32_ghandle_slow(LPCVOID p) { return w32_ghandle(p, 0); }
static W32_NOINLINE HGLOBAL w32_trim_null(rsvi_w32_slot_t *s, const rsvi_w32_run_t *r)
{
    rsvi_w32_bin_trim(s, r->cls);
    return NULL;
}

/* Makes entry e a moveable object of n bytes with data block u (a front
 * block of the process heap); returns its handle. */
RSV_INLINE HGLOBAL w32_moveable_make(w32_entry_t *e, char *u, SIZE_T n)
{
    rsvi_w32_hdr_t *hdr = (rsvi_w32_hdr_t *)(u - RSVI_W32_HDR);
    hdr->size = n;
    hdr->tag = (uintptr_t)e | RSVI_W32_MOVEABLE | RSVI_W32_LIVE;
    e->ptr = u;
    atomic_store_explicit(&e->flags, (uintptr_t)(E_USED | E_MOVEABLE), memory_order_release);
    return w32_handle(e);
}

/* RsvGlobalAlloc(GMEM_MOVEABLE, n) when the hot entry or the hot block is
 * missing: from the caches' lists, still without a lock (s: the thread's
 * live slot of the process heap), else the slow path. */
static W32_NOINLINE HGLOBAL w32_galloc_lists(rsvi_w32_tcache_t *tc, rsvi_w32_slot_t *s, SIZE_T n)
{
    rsvi_w32_bin_t *b = rsvi_w32_bin(s, n);
    if ((tc->hot_entry || tc->entries) && (b->hot || b->head)) {
        w32_entry_t *e = tc->hot_entry;
        if (e) {
            tc->hot_entry = NULL;
        } else {
            e = tc->entries;
            tc->entries = (w32_entry_t *)atomic_load_explicit(&e->flags, memory_order_relaxed);
            tc->nentries--;
        }
        return w32_moveable_make(e, rsvi_w32_bin_pop(s, n), n);
    }
    return w32_galloc(GMEM_MOVEABLE, n, 0);
}

/* RsvGlobalFree of a moveable object with front data u when the hot entry
 * is taken: both go back onto the caches' lists. */
static W32_NOINLINE HGLOBAL w32_gfree_lists(w32_entry_t *e, char *u, rsvi_w32_slot_t *s)
{
    rsvi_w32_run_t *r = rsvi_w32_run_of(u);
    ((rsvi_w32_hdr_t *)(u - RSVI_W32_HDR))->tag = 0;
    w32_entry_push(e);
    if (RSV_UNLIKELY(rsvi_w32_bin_push(s, r, u))) rsvi_w32_bin_trim(s, r->cls);
    return NULL;
}

/* Mimics kernel32 GlobalAlloc (GL-10..GL-16).  Fast path: a moveable
 * object whose entry and data both come from this thread's caches. */
HGLOBAL RSV_WINAPI RsvGlobalAlloc(UINT uFlags, SIZE_T dwBytes)
{
    if (RSV_LIKELY(uFlags == GMEM_MOVEABLE && dwBytes - 1 < RSVI_W32_FRONT_MAX)) {
        rsvi_w32_tcache_t *tc = rsvi_os_w32_tls_peek();
        rsvi_w32_front_t *ph = (rsvi_w32_front_t *)atomic_load_explicit(&rsvi_w32_reg_process, memory_order_relaxed);
        rsvi_w32_slot_t *s = tc ? rsvi_w32_slot(tc, ph) : NULL;
        w32_entry_t *e = tc ? tc->hot_entry : NULL;
        rsvi_w32_bin_t *b = s ? rsvi_w32_bin(s, dwBytes) : NULL;
        char *u = b ? b->hot : NULL;
        /* The process heap's gate never closes (HeapLock on it does not
         * hold off small blocks, HL-4), so the slot naming it is enough.
         * Only the hot block and hot entry are taken here: a pair that
         * reuses them makes no load wait on the previous pair's stores. */
        if (RSV_LIKELY(u && e && s->heap == ph)) {
            b->hot = NULL;
            tc->hot_entry = NULL;
            return w32_moveable_make(e, u, dwBytes);
        }
        if (s && s->heap == ph) return w32_galloc_lists(tc, s, dwBytes);
    }
    return w32_galloc_slow(uFlags, dwBytes);
}
/* Mimics kernel32 GlobalReAlloc (GL-70..GL-82). */
HGLOBAL RSV_WINAPI RsvGlobalReAlloc(HGLOBAL hMem, SIZE_T dwBytes, UINT uFlags)
{
    return w32_grealloc(hMem, dwBytes, uFlags, 0);
}
/* Mimics kernel32 GlobalFree (GL-100..GL-105).  Fast path: a moveable
 * object with cached data goes back to this thread's caches. */
HGLOBAL RSV_WINAPI RsvGlobalFree(HGLOBAL hMem)
{
    w32_entry_t *e = w32_slot_of(hMem);
    if (RSV_LIKELY(e != NULL && (atomic_load_explicit(&e->flags, memory_order_acquire) & E_USED))) {
        char *u = e->ptr; /* the entry's own data block: trusted, only its kind is asked */
        rsvi_w32_tcache_t *tc = rsvi_os_w32_tls_peek();
        rsvi_w32_front_t *ph = (rsvi_w32_front_t *)atomic_load_explicit(&rsvi_w32_reg_process, memory_order_relaxed);
        rsvi_w32_slot_t *s = tc ? rsvi_w32_slot(tc, ph) : NULL;
        if (RSV_LIKELY(u && s && s->heap == ph && rsvi_w32_in_space(u))) {
            if (RSV_UNLIKELY(tc->hot_entry != NULL)) return w32_gfree_lists(e, u, s);
            e->ptr = NULL;
            atomic_store_explicit(&e->flags, 0, memory_order_release);
            tc->hot_entry = e;
            rsvi_w32_run_t *r = rsvi_w32_run_of(u);
            ((rsvi_w32_hdr_t *)(u - RSVI_W32_HDR))->tag = 0;
            if (RSV_UNLIKELY(rsvi_w32_bin_push(s, r, u))) return w32_trim_null(s, r);
            return NULL;
        }
    }
    return w32_gfree_slow(hMem);
}
/* Mimics kernel32 GlobalLock (GL-20..GL-25).  Fast path: a live moveable
 * object below the saturated count. */
LPVOID RSV_WINAPI RsvGlobalLock(HGLOBAL hMem)
{
    w32_entry_t *e = w32_slot_of(hMem);
    if (RSV_LIKELY(e != NULL)) {
        uintptr_t f = atomic_load_explicit(&e->flags, memory_order_acquire);
        void *p = e->ptr;
        if (RSV_LIKELY((f & E_USED) && p && w32_locks(f) < 255 &&
                       atomic_compare_exchange_strong_explicit(&e->flags, &f, f + ((uintptr_t)1 << E_LOCK_SHIFT),
                                                               memory_order_relaxed, memory_order_relaxed)))
            return p;
    }
    return w32_glock_slow(hMem);
}

/* Mimics kernel32 GlobalUnlock (GL-30..GL-34).  Fast path: a locked live
 * moveable object. */
BOOL RSV_WINAPI RsvGlobalUnlock(HGLOBAL hMem)
{
    w32_entry_t *e = w32_slot_of(hMem);
    if (RSV_LIKELY(e != NULL)) {
        uintptr_t f = atomic_load_explicit(&e->flags, memory_order_acquire);
        if (RSV_LIKELY((f & E_USED) && w32_locks(f) != 0 &&
                       atomic_compare_exchange_strong_explicit(&e->flags, &f, f - ((uintptr_t)1 << E_LOCK_SHIFT),
                                                               memory_order_relaxed, memory_order_relaxed))) {
            if (w32_locks(f) > 1) return TRUE;
            rsvi_os_w32_set_last_error_fast(NO_ERROR); /* GL-30 */
            return FALSE;
        }
    }
    return w32_gunlock_slow(hMem);
}
/* Mimics kernel32 GlobalHandle (GL-60..GL-64).  Fast path: the data
 * block of a moveable object in the front, vetted, names its entry. */
HGLOBAL RSV_WINAPI RsvGlobalHandle(LPCVOID pMem)
{
    if (RSV_LIKELY(rsvi_w32_front_run(pMem) != NULL)) {
        uintptr_t tag = ((const rsvi_w32_hdr_t *)((const char *)pMem - RSVI_W32_HDR))->tag;
        if (RSV_LIKELY((tag & (RSVI_W32_LIVE | RSVI_W32_MOVEABLE | RSVI_W32_LARGE)) ==
                       (RSVI_W32_LIVE | RSVI_W32_MOVEABLE)))
            return w32_handle((w32_entry_t *)(tag & ~(uintptr_t)RSVI_W32_TAGBITS));
    }
    return w32_ghandle_slow(pMem);
}
/* Mimics kernel32 GlobalSize (GL-50..GL-53). */
SIZE_T RSV_WINAPI RsvGlobalSize(HGLOBAL hMem) { return w32_gsize(hMem); }
/* Mimics kernel32 GlobalFlags (GL-40..GL-44). */
UINT RSV_WINAPI RsvGlobalFlags(HGLOBAL hMem) { return w32_gflags(hMem, 0); }

/* ---- Local* ------------------------------------------------------------------- */

/* Mimics kernel32 LocalAlloc (GL-10..GL-16). */
HLOCAL RSV_WINAPI RsvLocalAlloc(UINT uFlags, SIZE_T uBytes) { return w32_galloc(uFlags, uBytes, 1); }
/* Mimics kernel32 LocalReAlloc (GL-83: as GlobalReAlloc but no conversion). */
HLOCAL RSV_WINAPI RsvLocalReAlloc(HLOCAL hMem, SIZE_T uBytes, UINT uFlags)
{
    return w32_grealloc(hMem, uBytes, uFlags, 1);
}
/* Mimics kernel32 LocalFree. */
HLOCAL RSV_WINAPI RsvLocalFree(HLOCAL hMem) { return w32_gfree(hMem); }
/* Mimics kernel32 LocalLock. */
LPVOID RSV_WINAPI RsvLocalLock(HLOCAL hMem) { return w32_glock(hMem, 1); }
/* Mimics kernel32 LocalUnlock. */
BOOL RSV_WINAPI RsvLocalUnlock(HLOCAL hMem) { return w32_gunlock(hMem, 1); }
/* Mimics kernel32 LocalHandle. */
HLOCAL RSV_WINAPI RsvLocalHandle(LPCVOID pMem) { return w32_ghandle(pMem, 1); }
/* Mimics kernel32 LocalSize. */
SIZE_T RSV_WINAPI RsvLocalSize(HLOCAL hMem) { return w32_gsize(hMem); }
/* Mimics kernel32 LocalFlags. */
UINT RSV_WINAPI RsvLocalFlags(HLOCAL hMem) { return w32_gflags(hMem, 1); }
