/* bench/alloc_malloc.c — the process's malloc/free/realloc behind
 * rsvb_alloc_t: glibc's, or whichever allocator bench/run preloads
 * (mimalloc, jemalloc, tcmalloc, libreservoir-malloc.so), or the CRT's in
 * the Windows build.  Must never: assume which malloc is live (the row
 * name says it, set by bench/run). */
#include "workloads.h"

static void *am_create(size_t block)
{
    (void)block;
    static char dummy;
    return &dummy;
}
static void am_destroy(void *ctx) { (void)ctx; }
static void *am_alloc(void *ctx, size_t size) { (void)ctx; return malloc(size); }
static void am_free(void *ctx, void *p, size_t size) { (void)ctx; (void)size; free(p); }
static void *am_realloc(void *ctx, void *p, size_t old, size_t size)
{
    (void)ctx;
    (void)old;
    return realloc(p, size);
}

static const rsvb_alloc_t am_ops = {
    RSVB_CAP_FREE | RSVB_CAP_REALLOC | RSVB_CAP_SHARED | RSVB_CAP_LARGE,
    am_create, am_destroy, am_alloc, am_free, am_realloc, NULL,
};

RSVB_DEFINE_ALLOCATOR(malloc, am_ops)
