/* bench/alloc_k32.c — kernel32's allocation functions behind rsvb_alloc_t,
 * the article's comparison (Windows build only; under Wine here):
 * HeapAlloc on the process heap and on a private heap with and without
 * HEAP_NO_SERIALIZE, GlobalAlloc fixed and moveable (+ GlobalLock /
 * GlobalUnlock), LocalAlloc, and VirtualAlloc/VirtualFree per block.
 *
 * A moveable block is used the way the article shows: GlobalAlloc, then
 * GlobalLock for the pointer the program works with; free finds the handle
 * back with GlobalHandle, unlocks and frees it.
 * Must never: be compiled outside the Windows build. */
#include "workloads.h"

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

/* Caps shared by every kernel32 row. */
#define K32_CAPS (RSVB_CAP_FREE | RSVB_CAP_REALLOC | RSVB_CAP_SHARED | RSVB_CAP_LARGE)

static void k32_nop_destroy(void *ctx) { (void)ctx; }

/* ---- HeapAlloc ---------------------------------------------------------- */
static void *k32_process_create(size_t block) { (void)block; return GetProcessHeap(); }
static void *k32_private_create(size_t block) { (void)block; return HeapCreate(0, 0, 0); }
static void *k32_noser_create(size_t block)
{
    (void)block;
    return HeapCreate(HEAP_NO_SERIALIZE, 0, 0);
}
static void k32_heap_destroy(void *ctx) { HeapDestroy((HANDLE)ctx); }
static void *k32_heap_alloc(void *ctx, size_t n) { return HeapAlloc((HANDLE)ctx, 0, n); }
static void k32_heap_free(void *ctx, void *p, size_t n) { (void)n; HeapFree((HANDLE)ctx, 0, p); }
static void *k32_heap_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)old;
    return HeapReAlloc((HANDLE)ctx, 0, p, n);
}

static const rsvb_alloc_t k32_process_ops = {
    K32_CAPS, k32_process_create, k32_nop_destroy,
    k32_heap_alloc, k32_heap_free, k32_heap_realloc, NULL,
};
static const rsvb_alloc_t k32_private_ops = {
    K32_CAPS, k32_private_create, k32_heap_destroy,
    k32_heap_alloc, k32_heap_free, k32_heap_realloc, NULL,
};
/* No-serialize heaps are never shared between threads (no prodcons). */
static const rsvb_alloc_t k32_noser_ops = {
    K32_CAPS & ~RSVB_CAP_SHARED, k32_noser_create, k32_heap_destroy,
    k32_heap_alloc, k32_heap_free, k32_heap_realloc, NULL,
};

/* ---- GlobalAlloc / LocalAlloc -------------------------------------------- */
static void *k32_dummy_create(size_t block)
{
    (void)block;
    static char dummy;
    return &dummy;
}
static void *k32_gfixed_alloc(void *ctx, size_t n) { (void)ctx; return (void *)GlobalAlloc(GMEM_FIXED, n); }
static void k32_gfixed_free(void *ctx, void *p, size_t n) { (void)ctx; (void)n; GlobalFree((HGLOBAL)p); }
static void *k32_gfixed_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)ctx;
    (void)old;
    return (void *)GlobalReAlloc((HGLOBAL)p, n, GMEM_MOVEABLE);
}

static void *k32_gmove_alloc(void *ctx, size_t n)
{
    (void)ctx;
    HGLOBAL h = GlobalAlloc(GMEM_MOVEABLE, n);
    if (!h) return NULL;
    void *p = GlobalLock(h);
    if (!p) GlobalFree(h);
    return p;
}
static void k32_gmove_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    HGLOBAL h = GlobalHandle(p);
    GlobalUnlock(h);
    GlobalFree(h);
}
static void *k32_gmove_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)ctx;
    (void)old;
    HGLOBAL h = GlobalHandle(p);
    GlobalUnlock(h);
    HGLOBAL h2 = GlobalReAlloc(h, n, GMEM_MOVEABLE);
    if (!h2) {
        GlobalLock(h); /* p stays valid and locked, as the contract says */
        return NULL;
    }
    return GlobalLock(h2);
}

static void *k32_local_alloc(void *ctx, size_t n) { (void)ctx; return (void *)LocalAlloc(LMEM_FIXED, n); }
static void k32_local_free(void *ctx, void *p, size_t n) { (void)ctx; (void)n; LocalFree((HLOCAL)p); }
static void *k32_local_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)ctx;
    (void)old;
    return (void *)LocalReAlloc((HLOCAL)p, n, LMEM_MOVEABLE);
}

static const rsvb_alloc_t k32_gfixed_ops = {
    K32_CAPS, k32_dummy_create, k32_nop_destroy,
    k32_gfixed_alloc, k32_gfixed_free, k32_gfixed_realloc, NULL,
};
static const rsvb_alloc_t k32_gmove_ops = {   /* FEW: 0x10000 moveable handles (GL-5) */
    K32_CAPS | RSVB_CAP_FEW, k32_dummy_create, k32_nop_destroy,
    k32_gmove_alloc, k32_gmove_free, k32_gmove_realloc, NULL,
};
static const rsvb_alloc_t k32_local_ops = {
    K32_CAPS, k32_dummy_create, k32_nop_destroy,
    k32_local_alloc, k32_local_free, k32_local_realloc, NULL,
};

/* ---- VirtualAlloc per block --------------------------------------------- */
static void *k32_virtual_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return VirtualAlloc(NULL, n, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}
static void k32_virtual_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    VirtualFree(p, 0, MEM_RELEASE);
}
static void *k32_virtual_realloc(void *ctx, void *p, size_t old, size_t n)
{
    void *q = k32_virtual_alloc(ctx, n);
    if (!q) return NULL;
    memcpy(q, p, old < n ? old : n);
    k32_virtual_free(ctx, p, old);
    return q;
}

static const rsvb_alloc_t k32_virtual_ops = {
    K32_CAPS | RSVB_CAP_FEW, k32_dummy_create, k32_nop_destroy,
    k32_virtual_alloc, k32_virtual_free, k32_virtual_realloc, NULL,
};

RSVB_DEFINE_ALLOCATOR(k32_process_heap, k32_process_ops)
RSVB_DEFINE_ALLOCATOR(k32_private_heap, k32_private_ops)
RSVB_DEFINE_ALLOCATOR(k32_private_heap_noser, k32_noser_ops)
RSVB_DEFINE_ALLOCATOR(k32_global_fixed, k32_gfixed_ops)
RSVB_DEFINE_ALLOCATOR(k32_global_moveable, k32_gmove_ops)
RSVB_DEFINE_ALLOCATOR(k32_local, k32_local_ops)
RSVB_DEFINE_ALLOCATOR(k32_virtual, k32_virtual_ops)
