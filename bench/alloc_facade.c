/* bench/alloc_facade.c — Reservoir's Win32 façade behind rsvb_alloc_t, two
 * rows: RsvHeapAlloc on a private RsvHeapCreate heap, and
 * RsvGlobalAlloc(GMEM_MOVEABLE) + RsvGlobalLock used as alloc_k32.c uses
 * kernel32's (free: RsvGlobalHandle, RsvGlobalUnlock, RsvGlobalFree), so
 * both faces are measured call for call against kernel32.
 * Must never: call kernel32 itself. */
#include "workloads.h"

#include <reservoir/win32.h>

#define FAC_CAPS (RSVB_CAP_FREE | RSVB_CAP_REALLOC | RSVB_CAP_SHARED | RSVB_CAP_LARGE)

static void *fh_create(size_t block) { (void)block; return RsvHeapCreate(0, 0, 0); }
static void fh_destroy(void *ctx) { RsvHeapDestroy((HANDLE)ctx); }
static void *fh_alloc(void *ctx, size_t n) { return RsvHeapAlloc((HANDLE)ctx, 0, n); }
static void fh_free(void *ctx, void *p, size_t n) { (void)n; RsvHeapFree((HANDLE)ctx, 0, p); }
static void *fh_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)old;
    return RsvHeapReAlloc((HANDLE)ctx, 0, p, n);
}

static const rsvb_alloc_t fh_ops = {
    FAC_CAPS, fh_create, fh_destroy, fh_alloc, fh_free, fh_realloc, NULL,
};

static void *fg_create(size_t block)
{
    (void)block;
    static char dummy;
    return &dummy;
}
static void fg_destroy(void *ctx) { (void)ctx; }
static void *fg_alloc(void *ctx, size_t n)
{
    (void)ctx;
    HGLOBAL h = RsvGlobalAlloc(GMEM_MOVEABLE, n);
    if (!h) return NULL;
    void *p = RsvGlobalLock(h);
    if (!p) RsvGlobalFree(h);
    return p;
}
static void fg_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    HGLOBAL h = RsvGlobalHandle(p);
    RsvGlobalUnlock(h);
    RsvGlobalFree(h);
}
static void *fg_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)ctx;
    (void)old;
    HGLOBAL h = RsvGlobalHandle(p);
    RsvGlobalUnlock(h);
    HGLOBAL h2 = RsvGlobalReAlloc(h, n, GMEM_MOVEABLE);
    if (!h2) {
        RsvGlobalLock(h);
        return NULL;
    }
    return RsvGlobalLock(h2);
}

static const rsvb_alloc_t fg_ops = {
    FAC_CAPS, fg_create, fg_destroy, fg_alloc, fg_free, fg_realloc, NULL,
};

RSVB_DEFINE_ALLOCATOR(facade_heap, fh_ops)
RSVB_DEFINE_ALLOCATOR(facade_global, fg_ops)
