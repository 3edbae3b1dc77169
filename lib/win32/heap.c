/* lib/win32/heap.c — the Win32 Heap* family (HeapCreate ... HeapWalk,
 * GetProcessHeap(s)) on Reservoir heaps, and the process-heap block
 * services Global* and Local* build on (w32.h).
 *
 * Each façade heap is a record at the base of its own 64 KiB slot (so
 * handles have their low 16 bits clear, spec HC-2) inside one reserved table;
 * a slot's page is never decommitted, so any HANDLE can be checked without
 * faulting.  Slot 0 is the process heap, on rsv_heap_default() with no
 * façade lock (the heap is thread-safe and per-thread cached).  Private
 * heaps are created RSV_HEAP_NO_SERIALIZE and serialised here with a
 * recursive lock, so that HeapLock and per-call HEAP_NO_SERIALIZE behave as
 * kernel32's critical section does (spec HA-11, HL-1..3).  Small blocks of
 * both kinds come first from the per-thread front (front.c), whose fast
 * paths (RsvHeapAlloc, RsvHeapFree) take no lock: HeapLock and the heap
 * inspections close the heap's gate so other threads' calls take the
 * locking path instead.
 *
 * Every block carries a 2P-byte header (w32.h) in front of the pointer:
 * the exact requested size and an owner tag.  Blocks of 0x10000*2P-0x1000
 * bytes or more are "large": the pointer is 8P-aligned and the block starts
 * 8P before it, the header still 2P before the pointer (spec HA-9).
 *
 * Must never: trust a pointer or handle before checking it, print, or call
 * an OS function directly.
 */
#include <string.h>

#include "internal.h"
#include "reservoir/heap.h"
#include "reservoir/vm.h"
#include "win32/w32.h"

#define W32_SLOT (64u * 1024u)
#define W32_SLOTS (sizeof(void *) == 8 ? 4096u : 512u)
#define W32_HEAP_MAGIC ((uintptr_t)0x52735648u) /* "RsVH" */
#define W32_PAD (8 * sizeof(void *))            /* large blocks: start -> pointer */
/* Spec HA-9 / HC-7: 0x7F000 (x86) / 0xFF000 (x64). */
#define W32_LARGE_MIN ((size_t)0x10000 * 2 * sizeof(void *) - 0x1000)
/* Bytes of a fixed heap not available to blocks (spec HC-8: between
 * 0x600 and 0xC00 on x64). */
#define W32_FIXED_OVERHEAD ((size_t)0x800)
#define W32_MAX_REQUEST ((size_t)-1 / 2)
#if defined(__GNUC__)
#  define W32_NOINLINE __attribute__((noinline))
#else
#  define W32_NOINLINE
#endif

struct rsvi_w32_heap {
    rsvi_w32_front_t front; /* first: the fast paths reach it from the HANDLE */
    uintptr_t magic;        /* W32_HEAP_MAGIC while live */
    rsv_heap_t *rh;
    DWORD flags;            /* creation flags kept (HC-4) | HEAP_GROWABLE */
    int is_process;
    size_t max_size;        /* rounded maximum; 0 = growable */
    size_t limit;           /* fixed heaps: bytes blocks may use */
    size_t used;            /* fixed heaps: bytes blocks use */
    uint64_t seq;           /* creation order (GetProcessHeaps) */
    ULONG compat;           /* HeapCompatibilityInformation: 0 or 2 */
    rsvi_rlock_t lock;   /* private serialised heaps only */
};

enum { SLOT_NEVER = 0, SLOT_FREE = 1, SLOT_LIVE = 2 };

static rsvi_lock_t reg_lock;
static _Atomic int reg_ready;                 /* 0 no, 1 yes, -1 failed */
static char *reg_base;                        /* W32_SLOTS * W32_SLOT bytes */
static _Atomic unsigned char reg_state[4096];
static unsigned reg_high;                     /* slots ever used (under reg_lock) */
static uint64_t reg_seq;
rsvi_w32_heap_t *_Atomic rsvi_w32_reg_process; /* fast-path compare */
#define reg_process rsvi_w32_reg_process
static _Atomic int terminate_on_corruption;   /* HeapEnableTerminationOnCorruption */

static size_t w32_page(void) { return rsv_vm_page_size(); }

/* Zeroes a heap record but its front state, which front.c owns (other
 * threads may read a dead record's key under the front lock). */
static void w32_record_clear(rsvi_w32_heap_t *h)
{
    memset((char *)h + sizeof h->front, 0, sizeof *h - sizeof h->front);
}

static size_t w32_round(size_t n, size_t unit) { return (n + unit - 1) & ~(unit - 1); }

/* Creates the slot table and the process heap; 0 or -1. */
static int w32_registry_init(void)
{
    int r = atomic_load_explicit(&reg_ready, memory_order_acquire);
    if (r) return r > 0 ? 0 : -1;
    rsvi_lock(&reg_lock);
    r = atomic_load(&reg_ready);
    if (r == 0) {
        void *base = NULL;
        rsv_heap_t *def = rsv_heap_default();
        r = -1;
        if (def && rsv_vm_reserve((size_t)W32_SLOTS * W32_SLOT, W32_SLOT, 0, &base, NULL) == 0) {
            if (rsv_vm_commit(base, w32_page()) == 0) {
                rsvi_w32_heap_t *ph = (rsvi_w32_heap_t *)base;
                reg_base = base;
                w32_record_clear(ph);
                ph->magic = W32_HEAP_MAGIC;
                ph->rh = def;
                ph->flags = HEAP_GROWABLE;
                ph->is_process = 1;
                ph->seq = reg_seq++;
                rsvi_w32_front_init(&ph->front, ph->seq + 1);
                reg_high = 1;
                atomic_store(&reg_state[0], SLOT_LIVE);
                atomic_store(&reg_process, ph);
                r = 1;
            } else {
                (void)rsv_vm_release(base, (size_t)W32_SLOTS * W32_SLOT);
            }
        }
        /* A failure is not cached: a later call may find memory. */
        if (r > 0) atomic_store_explicit(&reg_ready, r, memory_order_release);
    }
    rsvi_unlock(&reg_lock);
    return r > 0 ? 0 : -1;
}

rsvi_w32_heap_t *rsvi_w32_process_heap(void)
{
    rsvi_w32_heap_t *ph = atomic_load_explicit(&reg_process, memory_order_acquire);
    if (RSV_LIKELY(ph != NULL)) return ph;
    return w32_registry_init() == 0 ? atomic_load(&reg_process) : NULL;
}

/* The live heap behind a HANDLE, or NULL.  Never faults: the handle must
 * be a live slot of the table before it is read. */
static rsvi_w32_heap_t *w32_heap(HANDLE hh)
{
    rsvi_w32_heap_t *ph = atomic_load_explicit(&reg_process, memory_order_acquire);
    if (RSV_LIKELY(hh == (HANDLE)ph && ph)) return ph;
    if (!reg_base) return NULL;
    uintptr_t u = (uintptr_t)hh, b = (uintptr_t)reg_base;
    if (u < b || u - b >= (uintptr_t)W32_SLOTS * W32_SLOT || (u & (W32_SLOT - 1))) return NULL;
    size_t i = (u - b) / W32_SLOT;
    if (atomic_load_explicit(&reg_state[i], memory_order_acquire) != SLOT_LIVE) return NULL;
    rsvi_w32_heap_t *h = (rsvi_w32_heap_t *)hh;
    return h->magic == W32_HEAP_MAGIC ? h : NULL;
}

static void w32_lock(rsvi_w32_heap_t *h, DWORD eff)
{
    if (!h->is_process && !(eff & HEAP_NO_SERIALIZE)) rsvi_rlock(&h->lock);
}

static void w32_unlock(rsvi_w32_heap_t *h, DWORD eff)
{
    if (!h->is_process && !(eff & HEAP_NO_SERIALIZE)) rsvi_runlock(&h->lock);
}

/* HeapLock, and HeapWalk & co.: the lock, and the front's gate closed so
 * other threads' lock-free fast paths take the locking path and wait.  A
 * fast path already past its gate check finishes on its own bin (and that
 * block's header) only; it never touches the heap's shared state. */
static void w32_excl_begin(rsvi_w32_heap_t *h, DWORD eff)
{
    if (h->is_process || (eff & HEAP_NO_SERIALIZE)) return;
    rsvi_rlock(&h->lock);
    atomic_store_explicit(&h->front.gate, 0, memory_order_seq_cst);
}

static void w32_excl_end(rsvi_w32_heap_t *h, DWORD eff)
{
    if (h->is_process || (eff & HEAP_NO_SERIALIZE)) return;
    if (h->lock.depth == 0) /* the outermost hold: open the gate again */
        atomic_store_explicit(&h->front.gate, h->front.key, memory_order_release);
    rsvi_runlock(&h->lock);
}

/* Bytes a block of n costs a fixed heap. */
static size_t w32_charge(size_t n) { return w32_round(n, RSVI_W32_HDR) + RSVI_W32_HDR; }

static rsvi_w32_hdr_t *w32_hdr(const void *p) { return (rsvi_w32_hdr_t *)((char *)p - RSVI_W32_HDR); }

static void *w32_start(const void *p, uintptr_t tag)
{
    return (char *)p - ((tag & RSVI_W32_LARGE) ? W32_PAD : RSVI_W32_HDR);
}

/* The heap a live tag belongs to. */
static rsvi_w32_heap_t *w32_tag_heap(uintptr_t tag)
{
    if (tag & RSVI_W32_MOVEABLE) return atomic_load(&reg_process);
    return (rsvi_w32_heap_t *)(tag & ~(uintptr_t)RSVI_W32_TAGBITS);
}

/* Finds the live façade block at p, in any heap; NULL when p is not one.
 * *known = 1 when a Reservoir heap owns the address (a freed block rather
 * than garbage).  Reads memory only after the heap vouched for it. */
static rsvi_w32_hdr_t *w32_find_any(const void *p, int *known)
{
    uintptr_t u = (uintptr_t)p;
    *known = 0;
    if (!p || (u & (RSVI_W32_HDR - 1)) || u < W32_PAD) return NULL;
    rsvi_w32_run_t *run = rsvi_w32_front_run(p);
    if (run) { /* a block of the per-thread front (front.c) */
        rsvi_w32_hdr_t *ch = w32_hdr(p);
        uintptr_t ctag = ch->tag;
        *known = 1;
        if ((ctag & (RSVI_W32_LIVE | RSVI_W32_LARGE)) != RSVI_W32_LIVE) return NULL;
        rsvi_w32_heap_t *ch_heap = w32_tag_heap(ctag);
        return ch_heap && run->owner == &ch_heap->front ? ch : NULL;
    }
    /* rsv_heap_of vouches for a live block start before anything is read. */
    char *b = (char *)p - RSVI_W32_HDR;
    rsv_heap_t *rh = rsv_heap_of(b);
    int large = 0;
    if (RSV_UNLIKELY(!rh)) {
        b = (char *)p - W32_PAD;
        rh = rsv_heap_of(b);
        if (!rh || rsv_heap_usable_size(rh, b) < W32_PAD) {
            *known = rsvi_vm_lookup(p, NULL, NULL); /* a freed block, not garbage */
            return NULL;
        }
        large = 1;
    }
    *known = 1;
    rsvi_w32_hdr_t *hdr = w32_hdr(p);
    uintptr_t tag = hdr->tag;
    if (!(tag & RSVI_W32_LIVE) || !!(tag & RSVI_W32_LARGE) != large) return NULL;
    rsvi_w32_heap_t *h = w32_tag_heap(tag);
    if (!h || w32_heap((HANDLE)h) != h || h->rh != rh) return NULL;
    return hdr;
}

/* The live block at p when it belongs to h (HeapReAlloc, HeapFree,
 * HeapSize, HeapValidate, and the process heap for Global*); NULL
 * otherwise, *known as w32_find_any. */
static rsvi_w32_hdr_t *w32_find(const rsvi_w32_heap_t *h, const void *p, int *known)
{
    rsvi_w32_hdr_t *hdr = w32_find_any(p, known);
    return hdr && w32_tag_heap(hdr->tag) == h ? hdr : NULL;
}

/* Allocates a block of n bytes in h tagged with owner (0 = h itself).
 * Caller holds h's lock.  NULL on failure, last error not yet set. */
static void *w32_alloc(rsvi_w32_heap_t *h, DWORD eff, size_t n, uintptr_t owner)
{
    if (n > W32_MAX_REQUEST) return NULL; /* HA-4, HA-5: never wrap */
    if (h->front.key && n <= RSVI_W32_FRONT_MAX) {
        rsvi_w32_tcache_t *tc = rsvi_w32_tcache();
        char *u = NULL;
        if (tc) {
            rsvi_w32_slot_t *s = rsvi_w32_slot(tc, h);
            if (!rsvi_w32_slot_holds(s, &h->front)) rsvi_w32_slot_claim(s, &h->front);
            u = rsvi_w32_front_alloc(s, n);
        }
        if (RSV_LIKELY(u != NULL)) {
            rsvi_w32_hdr_t *ch = w32_hdr(u);
            ch->size = n;
            ch->tag = (owner ? (owner | RSVI_W32_MOVEABLE) : (uintptr_t)h) | RSVI_W32_LIVE;
            if (eff & HEAP_ZERO_MEMORY) memset(u, 0, n);
            return u;
        }
    }
    int large = n >= W32_LARGE_MIN;
    if (h->max_size) {
        if (large || w32_charge(n) > h->limit - h->used) return NULL; /* HC-7 */
    }
    char *b = large ? rsv_heap_alloc_aligned(h->rh, n + W32_PAD, W32_PAD)
                    : rsv_heap_alloc(h->rh, n + RSVI_W32_HDR);
    if (!b) return NULL;
    char *p = b + (large ? W32_PAD : RSVI_W32_HDR);
    rsvi_w32_hdr_t *hdr = w32_hdr(p);
    hdr->size = n;
    hdr->tag = (owner ? (owner | RSVI_W32_MOVEABLE) : (uintptr_t)h) | RSVI_W32_LIVE |
               (large ? RSVI_W32_LARGE : 0);
    if (eff & HEAP_ZERO_MEMORY) memset(p, 0, n);
    if (h->max_size) h->used += w32_charge(n);
    return p;
}

static void w32_free(rsvi_w32_heap_t *h, void *p)
{
    rsvi_w32_hdr_t *hdr = w32_hdr(p);
    uintptr_t tag = hdr->tag;
    if (rsvi_w32_in_space(p)) { /* a front block (p was vetted) */
        rsvi_w32_tcache_t *tc = rsvi_w32_tcache();
        hdr->tag = 0;
        if (RSV_UNLIKELY(!tc)) { /* no thread state: straight back to the heap */
            rsvi_w32_front_give(&h->front, p);
            return;
        }
        rsvi_w32_slot_t *s = rsvi_w32_slot(tc, h);
        if (!rsvi_w32_slot_holds(s, &h->front)) rsvi_w32_slot_claim(s, &h->front);
        rsvi_w32_run_t *r = rsvi_w32_run_of(p);
        if (RSV_UNLIKELY(rsvi_w32_bin_push(s, r, p))) rsvi_w32_bin_trim(s, r->cls);
        return;
    }
    if (h->max_size) h->used -= w32_charge(hdr->size);
    hdr->tag = 0;
    rsv_heap_free(h->rh, w32_start(p, tag));
}

/* Resizes p (a live block of h).  Returns the (possibly moved) pointer or
 * NULL with p untouched (HR-3, HR-4).  Caller holds h's lock. */
static void *w32_realloc(rsvi_w32_heap_t *h, DWORD eff, void *p, size_t n)
{
    rsvi_w32_hdr_t *hdr = w32_hdr(p);
    size_t old = hdr->size;
    uintptr_t tag = hdr->tag;
    int large = (tag & RSVI_W32_LARGE) != 0;
    size_t off = large ? W32_PAD : RSVI_W32_HDR;
    char *b = w32_start(p, tag);
    if (n > W32_MAX_REQUEST) return NULL;
    if (h->max_size) {
        if (n >= W32_LARGE_MIN) return NULL;
        size_t oc = w32_charge(old), nc = w32_charge(n);
        if (nc > oc && nc - oc > h->limit - h->used) return NULL;
    }
    /* Room in place: the whole usable block for ordinary blocks (so a
     * shrink can grow back, HR-8); for large blocks only the pages still
     * committed after a shrink (Windows decommits the tail, HR-9). */
    size_t cached = rsvi_w32_in_space(p) ? (size_t)rsvi_w32_run_of(p)->stride - RSVI_W32_HDR : 0;
    size_t cap = cached ? cached
                 : large ? w32_round(old + off, w32_page()) - off
                         : rsv_heap_usable_size(h->rh, b) - off;
    int in_place = n <= cap;
    if (!in_place && !cached && !(large && (eff & HEAP_REALLOC_IN_PLACE_ONLY)))
        in_place = rsv_heap_expand(h->rh, b, n + off) != NULL;
    if (in_place) {
        if (h->max_size) h->used = h->used - w32_charge(old) + w32_charge(n);
        hdr->size = n;
        if ((eff & HEAP_ZERO_MEMORY) && n > old) memset((char *)p + old, 0, n - old); /* HR-6 */
        return p;
    }
    if (eff & HEAP_REALLOC_IN_PLACE_ONLY) return NULL; /* HR-7 */
    uintptr_t owner = (tag & RSVI_W32_MOVEABLE) ? (tag & ~(uintptr_t)RSVI_W32_TAGBITS) : 0;
    char *q = w32_alloc(h, 0, n, owner);
    if (!q) return NULL;
    memcpy(q, p, old < n ? old : n); /* HR-5 */
    if ((eff & HEAP_ZERO_MEMORY) && n > old) memset(q + old, 0, n - old);
    w32_free(h, p);
    return q;
}

/* ---- services for global.c ------------------------------------------------ */

void *rsvi_w32_palloc(DWORD flags, size_t n, uintptr_t owner)
{
    rsvi_w32_heap_t *ph = rsvi_w32_process_heap();
    void *p = ph ? w32_alloc(ph, flags, n, owner) : NULL;
    if (!p) rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
    return p;
}

void *rsvi_w32_prealloc(DWORD flags, void *p, size_t n)
{
    void *q = w32_realloc(rsvi_w32_process_heap(), flags, p, n);
    if (!q) rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
    return q;
}

void rsvi_w32_pfree(void *p) { w32_free(rsvi_w32_process_heap(), p); }

rsvi_w32_hdr_t *rsvi_w32_pblock(const void *p, int *known)
{
    return w32_find(rsvi_w32_process_heap(), p, known);
}

void rsvi_w32_retag(void *p, uintptr_t owner)
{
    rsvi_w32_hdr_t *hdr = w32_hdr(p);
    uintptr_t keep = hdr->tag & RSVI_W32_LARGE;
    hdr->tag = (owner ? (owner | RSVI_W32_MOVEABLE) : (uintptr_t)rsvi_w32_process_heap()) |
               RSVI_W32_LIVE | keep;
}

/* ---- HeapCreate / HeapDestroy / GetProcessHeap(s) ----------------------------- */

/* Mimics kernel32 HeapCreate (spec HC-1..HC-14). */
HANDLE RSV_WINAPI RsvHeapCreate(DWORD flOptions, SIZE_T dwInitialSize, SIZE_T dwMaximumSize)
{
    if (w32_registry_init() != 0) {
        rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    size_t page = w32_page();
    DWORD keep = flOptions & (HEAP_NO_SERIALIZE | HEAP_GENERATE_EXCEPTIONS | HEAP_CREATE_ENABLE_EXECUTE);
    size_t max = 0;
    if (dwMaximumSize) {
        if (dwMaximumSize > W32_MAX_REQUEST) {
            rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
            return NULL;
        }
        max = w32_round(dwMaximumSize, page); /* HC-6 */
    }
    size_t init = dwInitialSize > W32_MAX_REQUEST ? W32_MAX_REQUEST : w32_round(dwInitialSize ? dwInitialSize : 1, page);
    if (max && init > max) init = max; /* HC-10 [R] */

    int debug = rsv_debug_available() && rsvi_env()->debug != 0;
    rsv_heap_opts_t o = {0};
    o.initial_commit = init;
    o.flags = RSV_HEAP_NO_SERIALIZE | ((keep & HEAP_CREATE_ENABLE_EXECUTE) ? RSV_HEAP_EXECUTABLE : 0);
    o.name = "win32";
    rsv_heap_t *rh = rsv_heap_create(&o);
    if (!rh) {
        rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }

    rsvi_lock(&reg_lock);
    rsvi_w32_heap_t *h = NULL;
    for (unsigned i = 1; i < W32_SLOTS; i++) {
        unsigned char st = atomic_load(&reg_state[i]);
        if (st == SLOT_LIVE) continue;
        char *slot = reg_base + (size_t)i * W32_SLOT;
        if (st == SLOT_NEVER && rsv_vm_commit(slot, page) != 0) break;
        atomic_store(&reg_state[i], SLOT_FREE);
        h = (rsvi_w32_heap_t *)slot;
        w32_record_clear(h);
        h->magic = W32_HEAP_MAGIC;
        h->rh = rh;
        h->flags = keep | (max ? 0 : HEAP_GROWABLE);
        h->max_size = max;
        h->limit = max > W32_FIXED_OVERHEAD ? max - W32_FIXED_OVERHEAD : 0;
        h->seq = reg_seq++;
        /* The front serves growable, non-executable heaps whose blocks
         * the debug layer does not watch: a capped heap counts every block
         * itself, and runs are never executable. */
        rsvi_w32_front_init(&h->front,
                            (max || debug || (keep & HEAP_CREATE_ENABLE_EXECUTE)) ? 0 : h->seq + 1);
        if (i + 1 > reg_high) reg_high = i + 1;
        atomic_store_explicit(&reg_state[i], SLOT_LIVE, memory_order_release);
        break;
    }
    rsvi_unlock(&reg_lock);
    if (!h) {
        rsv_heap_destroy(rh);
        rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    return (HANDLE)h;
}

/* Mimics kernel32 HeapDestroy (HD-1..HD-3): the process heap and unknown
 * handles fail with ERROR_INVALID_HANDLE. */
BOOL RSV_WINAPI RsvHeapDestroy(HANDLE hHeap)
{
    rsvi_w32_heap_t *h = w32_heap(hHeap);
    if (!h || h->is_process) {
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    /* Runs first, while the slot cannot be reused by a new heap. */
    rsvi_w32_front_destroy(&h->front);
    rsvi_lock(&reg_lock);
    size_t i = (size_t)((char *)h - reg_base) / W32_SLOT;
    atomic_store(&reg_state[i], SLOT_FREE);
    rsv_heap_t *rh = h->rh;
    h->magic = 0;
    h->rh = NULL;
    rsvi_unlock(&reg_lock);
    rsv_heap_destroy(rh);
    return TRUE;
}

/* Mimics kernel32 GetProcessHeap (PH-1). */
HANDLE RSV_WINAPI RsvGetProcessHeap(void)
{
    rsvi_w32_heap_t *ph = rsvi_w32_process_heap();
    if (!ph) rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
    return (HANDLE)ph;
}

/* Mimics kernel32 GetProcessHeaps (PH-2..PH-5): returns the number of live
 * heaps; stores up to NumberOfHeaps of them, process heap first, then in
 * creation order (the documented partial fill, PH-4 [R]). */
DWORD RSV_WINAPI RsvGetProcessHeaps(DWORD NumberOfHeaps, PHANDLE ProcessHeaps)
{
    if (w32_registry_init() != 0) {
        rsvi_w32_set_error(ERROR_NOT_ENOUGH_MEMORY);
        return 0;
    }
    rsvi_lock(&reg_lock);
    DWORD total = 0;
    for (unsigned i = 0; i < reg_high; i++) total += atomic_load(&reg_state[i]) == SLOT_LIVE;
    DWORD want = ProcessHeaps ? (NumberOfHeaps < total ? NumberOfHeaps : total) : 0;
    uint64_t last = 0;
    for (DWORD k = 0; k < want; k++) {
        rsvi_w32_heap_t *best = NULL;
        for (unsigned i = 0; i < reg_high; i++) {
            if (atomic_load(&reg_state[i]) != SLOT_LIVE) continue;
            rsvi_w32_heap_t *h = (rsvi_w32_heap_t *)(reg_base + (size_t)i * W32_SLOT);
            if ((k == 0 || h->seq > last) && (!best || h->seq < best->seq)) best = h;
        }
        ProcessHeaps[k] = (HANDLE)best;
        last = best->seq;
    }
    rsvi_unlock(&reg_lock);
    return total;
}

/* ---- HeapAlloc / HeapReAlloc / HeapFree / HeapSize / HeapValidate ----------- */

/* Everything but the fast path of RsvHeapAlloc, out of line so the fast
 * path saves no registers. */
static W32_NOINLINE LPVOID w32_heap_alloc_slow(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes)
{
    rsvi_w32_heap_t *h = w32_heap(hHeap);
    if (RSV_UNLIKELY(!h)) {
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return NULL;
    }
    DWORD eff = rsvi_w32_heap_call_flags(h->flags, dwFlags);
    w32_lock(h, eff);
    void *p = w32_alloc(h, eff, dwBytes, 0);
    w32_unlock(h, eff);
    if (RSV_UNLIKELY(!p)) rsvi_w32_alloc_failed(eff);
    return p;
}

/* Mimics kernel32 HeapAlloc (HA-1..HA-13). */
LPVOID RSV_WINAPI RsvHeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes)
{
    /* Fast path: a small block from this thread's bin for the heap, no
     * lock and no call (issue 5's speed target).  The slot naming hHeap
     * vouches that hHeap's record may be read (records are never
     * decommitted); its gate equals the slot's key only while the heap is
     * the one the slot cached, alive and not under HeapLock. */
    if (RSV_LIKELY(dwBytes <= RSVI_W32_FRONT_MAX && !(dwFlags & HEAP_ZERO_MEMORY))) {
        rsvi_w32_tcache_t *tc = rsvi_os_w32_tls_peek();
        if (RSV_LIKELY(tc != NULL)) {
            rsvi_w32_slot_t *s = rsvi_w32_slot(tc, hHeap);
            rsvi_w32_front_t *f = s->heap;
            if (RSV_LIKELY(f == (rsvi_w32_front_t *)hHeap &&
                           atomic_load_explicit(&f->gate, memory_order_relaxed) == s->key)) {
                char *u = rsvi_w32_bin_pop(s, dwBytes);
                if (RSV_LIKELY(u != NULL)) {
                    rsvi_w32_hdr_t *ch = w32_hdr(u);
                    ch->size = dwBytes;
                    ch->tag = (uintptr_t)hHeap | RSVI_W32_LIVE;
                    return u;
                }
            }
        }
    }
    return w32_heap_alloc_slow(hHeap, dwFlags, dwBytes);
}

/* Mimics kernel32 HeapReAlloc (HR-1..HR-12). */
LPVOID RSV_WINAPI RsvHeapReAlloc(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem, SIZE_T dwBytes)
{
    rsvi_w32_heap_t *h = w32_heap(hHeap);
    if (!h) {
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return NULL;
    }
    if (!lpMem) { /* HR-1: not realloc(NULL, n) */
        rsvi_w32_set_error(NO_ERROR);
        return NULL;
    }
    DWORD eff = rsvi_w32_heap_call_flags(h->flags, dwFlags);
    int known;
    w32_lock(h, eff);
    rsvi_w32_hdr_t *hdr = w32_find(h, lpMem, &known);
    if (!hdr) {
        w32_unlock(h, eff);
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    void *q = w32_realloc(h, eff, lpMem, dwBytes);
    w32_unlock(h, eff);
    if (!q) rsvi_w32_alloc_failed(eff);
    return q;
}

/* The bin of RsvHeapFree's fast path may be full: trims it and returns
 * TRUE, as a tail call so the fast path saves no registers. */
static W32_NOINLINE BOOL w32_trim_true(rsvi_w32_slot_t *s, const rsvi_w32_run_t *r)
{
    rsvi_w32_bin_trim(s, r->cls);
    return TRUE;
}

/* Everything but the fast path of RsvHeapFree. */
static W32_NOINLINE BOOL w32_heap_free_slow(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem)
{
    if (!lpMem) return TRUE; /* HF-1: whatever the heap */
    rsvi_w32_heap_t *h = w32_heap(hHeap);
    if (RSV_UNLIKELY(!h)) {
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    DWORD eff = rsvi_w32_heap_call_flags(h->flags, dwFlags);
    int known;
    w32_lock(h, eff);
    rsvi_w32_hdr_t *hdr = w32_find(h, lpMem, &known);
    if (RSV_UNLIKELY(!hdr)) {
        w32_unlock(h, eff);
        if (known && atomic_load(&terminate_on_corruption)) rsvi_w32_raise(STATUS_HEAP_CORRUPTION);
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    w32_free(h, lpMem);
    w32_unlock(h, eff);
    return TRUE;
}

/* Mimics kernel32 HeapFree (HF-1..HF-6): NULL is TRUE whatever the heap;
 * a pointer that is not a live block of hHeap is FALSE +
 * ERROR_INVALID_PARAMETER, never a crash. */
BOOL RSV_WINAPI RsvHeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem)
{
    /* Fast path: a vetted live front block of hHeap back to this thread's
     * bin for the heap, no lock (gate as in RsvHeapAlloc). */
    /* The vetting first: fewer values live at once, no register saved.
     * NULL fails it and is answered by the slow path.  (Skipping it for the
     * block the slot handed out last was tried: 8% slower a pair, the
     * extra store and compare costing more than the multiply.) */
    rsvi_w32_run_t *r = rsvi_w32_front_run(lpMem);
    if (RSV_LIKELY(r != NULL)) {
        rsvi_w32_hdr_t *ch = w32_hdr(lpMem);
        rsvi_w32_tcache_t *tc = rsvi_os_w32_tls_peek();
        if (RSV_LIKELY(ch->tag == ((uintptr_t)hHeap | RSVI_W32_LIVE) && tc != NULL)) {
            rsvi_w32_slot_t *s = rsvi_w32_slot(tc, hHeap);
            rsvi_w32_front_t *f = s->heap;
            if (RSV_LIKELY(f == (rsvi_w32_front_t *)hHeap &&
                           atomic_load_explicit(&f->gate, memory_order_relaxed) == s->key)) {
                ch->tag = 0;
                if (RSV_UNLIKELY(rsvi_w32_bin_push(s, r, lpMem))) return w32_trim_true(s, r);
                return TRUE;
            }
        }
    }
    return w32_heap_free_slow(hHeap, dwFlags, lpMem);
}

/* Mimics kernel32 HeapSize (HS-1, HS-2): the exact requested size, or
 * (SIZE_T)-1 + ERROR_INVALID_PARAMETER. */
SIZE_T RSV_WINAPI RsvHeapSize(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem)
{
    rsvi_w32_heap_t *h = w32_heap(hHeap);
    if (!h) {
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return (SIZE_T)-1;
    }
    DWORD eff = rsvi_w32_heap_call_flags(h->flags, dwFlags);
    int known;
    w32_lock(h, eff);
    rsvi_w32_hdr_t *hdr = w32_find(h, lpMem, &known);
    SIZE_T r = hdr ? hdr->size : (SIZE_T)-1;
    w32_unlock(h, eff);
    if (r == (SIZE_T)-1) rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
    return r;
}

/* rsvi_w32_front_walk callback of HeapValidate: a live front block must
 * carry this heap (or a moveable entry, on the process heap) and a size
 * within its capacity.  Non-zero stops the walk: inconsistent. */
static int w32_front_check(void *user, void *block, size_t size, int used)
{
    const rsvi_w32_hdr_t *hdr = block;
    if (!used) return 0;
    return w32_tag_heap(hdr->tag) != user || (hdr->tag & RSVI_W32_LARGE) || hdr->size > size - RSVI_W32_HDR;
}

/* Mimics kernel32 HeapValidate (HV-1..HV-5): never sets the last error. */
BOOL RSV_WINAPI RsvHeapValidate(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem)
{
    rsvi_w32_heap_t *h = w32_heap(hHeap);
    if (!h) return FALSE;
    DWORD eff = rsvi_w32_heap_call_flags(h->flags, dwFlags);
    int known, ok;
    if (!lpMem) {
        w32_excl_begin(h, eff);
        ok = rsv_heap_validate(h->rh, NULL, NULL, 0) == 0 &&
             rsvi_w32_front_walk(&h->front, w32_front_check, h) == 0;
        w32_excl_end(h, eff);
    } else {
        w32_lock(h, eff);
        ok = w32_find(h, lpMem, &known) != NULL;
        w32_unlock(h, eff);
    }
    return ok ? TRUE : FALSE;
}

/* ---- HeapLock / HeapUnlock / HeapWalk / HeapCompact / HeapSummary ------------- */

/* Mimics kernel32 HeapLock (HL-1..HL-3): recursive; a no-op returning TRUE
 * on HEAP_NO_SERIALIZE heaps. */
BOOL RSV_WINAPI RsvHeapLock(HANDLE hHeap)
{
    rsvi_w32_heap_t *h = w32_heap(hHeap);
    if (!h) {
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (h->is_process) rsv_heap_lock(h->rh);
    else w32_excl_begin(h, h->flags);
    return TRUE;
}

/* Mimics kernel32 HeapUnlock. */
BOOL RSV_WINAPI RsvHeapUnlock(HANDLE hHeap)
{
    rsvi_w32_heap_t *h = w32_heap(hHeap);
    if (!h) {
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (h->is_process) {
        rsv_heap_unlock(h->rh);
    } else if (!(h->flags & HEAP_NO_SERIALIZE)) {
        if (!rsvi_rlock_held(&h->lock)) {
            rsvi_w32_set_error(ERROR_NOT_LOCKED);
            return FALSE;
        }
        w32_excl_end(h, h->flags);
    }
    return TRUE;
}

/* One step of HeapWalk: find the entry after `prev` (or the first). */
typedef struct w32_walk {
    const rsvi_w32_heap_t *heap;
    const PROCESS_HEAP_ENTRY *prev; /* NULL: want the first entry */
    int passed;                     /* prev has been seen */
    PROCESS_HEAP_ENTRY out;
    int found;
    size_t largest_free;            /* HeapCompact */
    size_t busy_bytes;              /* HeapSummary */
} w32_walk_t;

/* The façade header of a used block the walk reported, or NULL when the
 * block is not one of ours (the process heap also serves rsv_malloc). */
static rsvi_w32_hdr_t *w32_walk_hdr(const rsvi_w32_heap_t *h, const rsv_heap_walk_entry_t *e)
{
    rsvi_w32_hdr_t *hdr;
    if (e->size >= RSVI_W32_HDR) {
        hdr = (rsvi_w32_hdr_t *)e->addr;
        if ((hdr->tag & (RSVI_W32_LIVE | RSVI_W32_LARGE)) == RSVI_W32_LIVE && w32_tag_heap(hdr->tag) == h &&
            hdr->size <= e->size - RSVI_W32_HDR)
            return hdr;
    }
    if (e->size >= W32_PAD) {
        hdr = (rsvi_w32_hdr_t *)((char *)e->addr + W32_PAD - RSVI_W32_HDR);
        if ((hdr->tag & (RSVI_W32_LIVE | RSVI_W32_LARGE)) == (RSVI_W32_LIVE | RSVI_W32_LARGE) &&
            w32_tag_heap(hdr->tag) == h && hdr->size <= e->size - W32_PAD)
            return hdr;
    }
    return NULL;
}

static void w32_walk_map(const rsvi_w32_heap_t *h, const rsv_heap_walk_entry_t *e, PROCESS_HEAP_ENTRY *o)
{
    memset(o, 0, sizeof *o);
    o->lpData = e->addr;
    o->cbData = e->size > 0xFFFFFFFFu ? 0xFFFFFFFFu : (DWORD)e->size;
    o->iRegionIndex = (BYTE)(e->region_index > 255 ? 255 : e->region_index);
    switch (e->kind) {
    case RSV_WALK_REGION:
        o->wFlags = PROCESS_HEAP_REGION;
        o->Region.dwCommittedSize = o->cbData;
        o->Region.lpFirstBlock = e->addr;
        o->Region.lpLastBlock = (char *)e->addr + e->size;
        break;
    case RSV_WALK_BLOCK_USED: {
        o->wFlags = PROCESS_HEAP_ENTRY_BUSY;
        /* A façade block reports the caller's pointer and exact size.  The
         * header is read from the live block itself: no heap call may be
         * made from inside rsv_heap_walk. */
        rsvi_w32_hdr_t *hdr = w32_walk_hdr(h, e);
        if (hdr) {
            o->lpData = (char *)hdr + RSVI_W32_HDR;
            o->cbData = hdr->size > 0xFFFFFFFFu ? 0xFFFFFFFFu : (DWORD)hdr->size;
            o->cbOverhead = (BYTE)((hdr->tag & RSVI_W32_LARGE) ? W32_PAD : RSVI_W32_HDR);
        }
        break;
    }
    case RSV_WALK_UNCOMMITTED:
        o->wFlags = PROCESS_HEAP_UNCOMMITTED_RANGE;
        break;
    default:
        o->wFlags = 0;
        break;
    }
}

static int w32_walk_cb(void *user, const rsv_heap_walk_entry_t *e)
{
    w32_walk_t *w = user;
    PROCESS_HEAP_ENTRY m;
    w32_walk_map(w->heap, e, &m);
    if (e->kind == RSV_WALK_BLOCK_FREE && e->committed && e->size > w->largest_free)
        w->largest_free = e->size;
    if (m.wFlags == PROCESS_HEAP_ENTRY_BUSY) w->busy_bytes += m.cbData;
    if (w->found) return 0;
    if (!w->prev || w->passed) {
        w->out = m;
        w->found = 1;
        return w->prev ? 1 : 0;
    }
    if (m.lpData == w->prev->lpData && m.wFlags == w->prev->wFlags) w->passed = 1;
    return 0;
}

/* The front's blocks as walk entries, after the Reservoir heap's own:
 * blocks a bin holds (tag not live) are free entries, never busy. */
static int w32_front_cb(void *user, void *block, size_t size, int used)
{
    rsv_heap_walk_entry_t e = {block, size, used ? RSV_WALK_BLOCK_USED : RSV_WALK_BLOCK_FREE, 1, 0};
    return w32_walk_cb(user, &e);
}

/* Mimics kernel32 HeapWalk (HW-1, HW-2, HW-12): entries in the heap's
 * order (the Reservoir heap's, then the front's runs), FALSE +
 * ERROR_NO_MORE_ITEMS at the end. */
BOOL RSV_WINAPI RsvHeapWalk(HANDLE hHeap, LPPROCESS_HEAP_ENTRY lpEntry)
{
    rsvi_w32_heap_t *h = w32_heap(hHeap);
    if (!h) {
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (!lpEntry) {
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    w32_walk_t w;
    memset(&w, 0, sizeof w);
    w.heap = h;
    w.prev = lpEntry->lpData ? lpEntry : NULL;
    w32_excl_begin(h, h->flags);
    if (rsv_heap_walk(h->rh, w32_walk_cb, &w) == 0) (void)rsvi_w32_front_walk(&h->front, w32_front_cb, &w);
    w32_excl_end(h, h->flags);
    if (!w.found) {
        rsvi_w32_set_error(ERROR_NO_MORE_ITEMS);
        return FALSE;
    }
    *lpEntry = w.out;
    return TRUE;
}

/* Mimics kernel32 HeapCompact (HCo-1): the largest committed free block;
 * 0 with NO_ERROR when there is none. */
SIZE_T RSV_WINAPI RsvHeapCompact(HANDLE hHeap, DWORD dwFlags)
{
    rsvi_w32_heap_t *h = w32_heap(hHeap);
    if (!h) {
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return 0;
    }
    DWORD eff = rsvi_w32_heap_call_flags(h->flags, dwFlags);
    w32_walk_t w;
    memset(&w, 0, sizeof w);
    w.heap = h;
    w.found = 1;
    w32_excl_begin(h, eff);
    (void)rsv_heap_walk(h->rh, w32_walk_cb, &w);
    (void)rsvi_w32_front_walk(&h->front, w32_front_cb, &w);
    w32_excl_end(h, eff);
    if (!w.largest_free) rsvi_w32_set_error(NO_ERROR);
    return w.largest_free;
}

/* Mimics kernel32 HeapSummary (HSu-1). */
BOOL RSV_WINAPI RsvHeapSummary(HANDLE hHeap, DWORD dwFlags, LPHEAP_SUMMARY lpSummary)
{
    rsvi_w32_heap_t *h = w32_heap(hHeap);
    if (!h) {
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (!lpSummary || lpSummary->cb != sizeof(HEAP_SUMMARY) || dwFlags != 0) {
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    rsv_heap_stats_t st;
    w32_walk_t w;
    memset(&w, 0, sizeof w);
    w.heap = h;
    w.found = 1;
    w32_excl_begin(h, h->flags);
    rsv_heap_stats(h->rh, &st);
    (void)rsv_heap_walk(h->rh, w32_walk_cb, &w);
    (void)rsvi_w32_front_walk(&h->front, w32_front_cb, &w);
    w32_excl_end(h, h->flags);
    lpSummary->cbAllocated = w.busy_bytes;
    lpSummary->cbCommitted = st.committed;
    lpSummary->cbReserved = st.reserved > st.committed ? st.reserved : st.committed;
    lpSummary->cbMaxReserve = h->max_size ? h->max_size : lpSummary->cbReserved;
    return TRUE;
}

/* ---- HeapQueryInformation / HeapSetInformation --------------------------------- */

/* Mimics kernel32 HeapQueryInformation (HI-1..HI-3, HI-11). */
BOOL RSV_WINAPI RsvHeapQueryInformation(HANDLE HeapHandle, HEAP_INFORMATION_CLASS HeapInformationClass,
                                        PVOID HeapInformation, SIZE_T HeapInformationLength,
                                        PSIZE_T ReturnLength)
{
    if (HeapInformationClass != HeapCompatibilityInformation) {
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (!HeapHandle) {
        rsvi_w32_set_error(ERROR_NOACCESS);
        return FALSE;
    }
    rsvi_w32_heap_t *h = w32_heap(HeapHandle);
    if (!h) {
        rsvi_w32_set_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    if (ReturnLength) *ReturnLength = sizeof(ULONG);
    if (!HeapInformation || HeapInformationLength < sizeof(ULONG)) {
        rsvi_w32_set_error(ERROR_INSUFFICIENT_BUFFER);
        return FALSE;
    }
    ULONG v = h->compat;
    memcpy(HeapInformation, &v, sizeof v);
    return TRUE;
}

/* Mimics kernel32 HeapSetInformation (HI-4, HI-5, HI-7..HI-10). */
BOOL RSV_WINAPI RsvHeapSetInformation(HANDLE HeapHandle, HEAP_INFORMATION_CLASS HeapInformationClass,
                                      PVOID HeapInformation, SIZE_T HeapInformationLength)
{
    switch ((int)HeapInformationClass) {
    case HeapEnableTerminationOnCorruption:
        atomic_store(&terminate_on_corruption, 1);
        return TRUE;
    case 3: { /* HeapOptimizeResources */
        DWORD ver = 0;
        if (!HeapInformation || HeapInformationLength < 2 * sizeof(DWORD)) {
            rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
            return FALSE;
        }
        memcpy(&ver, HeapInformation, sizeof ver);
        if (ver != HEAP_OPTIMIZE_RESOURCES_CURRENT_VERSION) {
            rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
            return FALSE;
        }
        rsvi_w32_heap_t *h = HeapHandle ? w32_heap(HeapHandle) : rsvi_w32_process_heap();
        if (!h) {
            rsvi_w32_set_error(ERROR_INVALID_HANDLE);
            return FALSE;
        }
        w32_lock(h, h->flags);
        (void)rsv_heap_trim(h->rh);
        w32_unlock(h, h->flags);
        return TRUE;
    }
    case HeapCompatibilityInformation: {
        rsvi_w32_heap_t *h = w32_heap(HeapHandle);
        ULONG v;
        if (!HeapInformation || HeapInformationLength < sizeof(ULONG)) {
            rsvi_w32_set_error(ERROR_INSUFFICIENT_BUFFER);
            return FALSE;
        }
        if (!h) {
            rsvi_w32_set_error(ERROR_INVALID_HANDLE);
            return FALSE;
        }
        memcpy(&v, HeapInformation, sizeof v);
        if (v == 2 && (h->flags & HEAP_NO_SERIALIZE)) { /* HI-7 */
            rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
            return FALSE;
        }
        if ((v != 0 && v != 2) || (v == 0 && h->compat == 2)) { /* HI-5, HI-8 */
            rsvi_w32_set_error(ERROR_GEN_FAILURE);
            return FALSE;
        }
        h->compat = v;
        return TRUE;
    }
    default:
        rsvi_w32_set_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
}
