/* bench/alloc_bump.c — the physical-limit reference: a raw pointer bump
 * into one 256 MiB buffer, freed only by reset.  Nothing real can allocate
 * faster; the arena is measured against it.
 * Must never: do more per allocation than round up, compare, add. */
#include "workloads.h"

#define BUMP_SIZE (256 * RSVB_MIB)

typedef struct bump {
    char *base, *cur, *end;
    char *last; /* the last block, which realloc may grow in place */
} bump;

static void *bump_create(size_t block)
{
    (void)block;
    bump *b = (bump *)malloc(sizeof *b);
    if (!b) return NULL;
    b->base = (char *)malloc(BUMP_SIZE);
    if (!b->base) { free(b); return NULL; }
    b->cur = b->last = b->base;
    b->end = b->base + BUMP_SIZE;
    return b;
}
static void bump_destroy(void *ctx)
{
    bump *b = (bump *)ctx;
    free(b->base);
    free(b);
}
static void *bump_alloc(void *ctx, size_t size)
{
    bump *b = (bump *)ctx;
    size = (size + 15) & ~(size_t)15;
    if (size > (size_t)(b->end - b->cur)) return NULL;
    b->last = b->cur;
    b->cur += size;
    return b->last;
}
static void bump_free(void *ctx, void *p, size_t size) { (void)ctx; (void)p; (void)size; }
static void *bump_realloc(void *ctx, void *p, size_t old, size_t size)
{
    bump *b = (bump *)ctx;
    if (p == b->last) {
        size_t want = (size + 15) & ~(size_t)15;
        if (want > (size_t)(b->end - b->last)) return NULL;
        b->cur = b->last + want;
        return p;
    }
    void *q = bump_alloc(ctx, size);
    if (q) memcpy(q, p, old < size ? old : size);
    return q;
}
static void bump_reset(void *ctx)
{
    bump *b = (bump *)ctx;
    b->cur = b->last = b->base;
}

static const rsvb_alloc_t bump_ops = {
    RSVB_CAP_RESET | RSVB_CAP_REALLOC | RSVB_CAP_LARGE,
    bump_create, bump_destroy, bump_alloc, bump_free, bump_realloc, bump_reset,
};

RSVB_DEFINE_ALLOCATOR(bump, bump_ops)
