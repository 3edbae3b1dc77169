/* lib/debug/guard.c — guard-page blocks (RSV_DEBUG_GUARD), like Windows
 * PageHeap or Electric Fence: every block gets its own reservation and
 * touches a page that is never committed, so the instruction that runs off
 * the block faults.
 *
 *   overrun mode (default)                underrun mode (RSV_DEBUG_GUARD_UNDER)
 *   | data pages           |guard|        |guard| data pages           |
 *   | 0xFD... | user bytes |#####|        |#####| user bytes | 0xFD... |
 *
 * In overrun mode the block ends exactly at the guard when its size is a
 * multiple of its alignment: 16 by default, as malloc promises (PageHeap
 * does the same).  The up to 15 slack bytes of other sizes are 0xFD and
 * checked like canaries on free.  With RSV_DEBUG_GUARD_EXACT and no
 * explicit alignment a block is aligned to the largest power of two (at
 * most 16) dividing its size -- no object of that size can need more -- so
 * a one-byte overrun faults whatever the size.  A freed block's pages are
 * decommitted, so a later access faults too, until the block leaves
 * quarantine and its reservation is released.
 *
 * Must never allocate from a heap or print; vm failures become ENOMEM.
 */
#include <errno.h>
#include <string.h>

#include "debug/impl.h"
#include "reservoir/vm.h"

static uintptr_t guard_down(uintptr_t x, size_t a) { return x & ~(uintptr_t)(a - 1); }
static uintptr_t guard_up(uintptr_t x, size_t a) { return (x + a - 1) & ~(uintptr_t)(a - 1); }

/* [lo, hi): the committed data pages of a guard block. */
static void guard_span(const rsvi_dbg_t *d, const dbg_entry_t *e, uintptr_t *lo, uintptr_t *hi)
{
    *lo = guard_down(e->key, d->page);
    *hi = guard_up(e->key + (e->size ? e->size : 1), d->page);
}

int dbgi_guard_alloc(rsvi_dbg_t *d, size_t size, size_t align, dbg_entry_t *e)
{
    size_t page = d->page;
    size_t n = size ? size : 1;
    size_t a = align;
    if (a == 0) {
        a = 16;
        if (d->o.flags & RSV_DEBUG_GUARD_EXACT)
            while (a > 1 && (n & (a - 1))) a >>= 1;
    }
    if (n > SIZE_MAX - 2 * page - a) return ENOMEM;
    size_t span = (n + a - 1) & ~(a - 1);
    size_t data = (span + page - 1) & ~(page - 1);
    size_t total = data + page;
    void *base = NULL;
    if (rsv_vm_reserve(total, 0, 0, &base, NULL) != 0) return ENOMEM;
    char *b = base;
    char *lo;
    char *user;
    if (d->o.flags & RSV_DEBUG_GUARD_UNDER) {
        lo = b + page;
        user = lo;
    } else {
        lo = b;
        user = b + data - span;
    }
    if (rsv_vm_commit(lo, data) != 0) {
        (void)rsv_vm_release(base, 0);
        return ENOMEM;
    }
    memset(lo, RSV_DEBUG_CANARY_BYTE, (size_t)(user - lo));
    memset(user + size, RSV_DEBUG_CANARY_BYTE, (size_t)(lo + data - (user + size)));
    e->raw = b;
    e->raw_size = total;
    e->key = (uintptr_t)user;
    e->guard = 1;
    return 0;
}

int dbgi_guard_check(rsvi_dbg_t *d, const dbg_entry_t *e, uintptr_t *bad)
{
    uintptr_t lo, hi;
    guard_span(d, e, &lo, &hi);
    /* Scan outward from the block: the byte nearest to it is the one the
     * off-by-one wrote. */
    for (uintptr_t p = e->key; p > lo; p--)
        if (*(const unsigned char *)(p - 1) != RSV_DEBUG_CANARY_BYTE) {
            *bad = p - 1;
            return RSV_BUG_UNDERRUN;
        }
    for (uintptr_t p = e->key + e->size; p < hi; p++)
        if (*(const unsigned char *)p != RSV_DEBUG_CANARY_BYTE) {
            *bad = p;
            return RSV_BUG_OVERRUN;
        }
    return 0;
}

void dbgi_guard_retire(rsvi_dbg_t *d, dbg_entry_t *e)
{
    uintptr_t lo, hi;
    guard_span(d, e, &lo, &hi);
    (void)rsv_vm_decommit((void *)lo, (size_t)(hi - lo));
}

void dbgi_guard_release(rsvi_dbg_t *d, dbg_entry_t *e)
{
    (void)d;
    (void)rsv_vm_release(e->raw, 0);
}
