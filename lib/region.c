/* lib/region.c — regions (reservoir/region.h): reserve once, commit a
 * contiguous prefix in steps, shrink with retention.
 * Owns the translation of OS error codes into "result + one message
 * through the error handler" (DESIGN decision 6).  A failure leaves the
 * region exactly as it was.  Never allocates, never prints.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"
#include "reservoir/region.h"
#include "reservoir/vm.h"

#define REGION_DEFAULT_STEP ((size_t)64 << 10)
#if UINTPTR_MAX > 0xFFFFFFFFu
#define REGION_DEFAULT_RESERVE ((size_t)64 << 30)
#else
#define REGION_DEFAULT_RESERVE ((size_t)256 << 20)
#endif

static size_t region_round(size_t n, size_t unit)
{
    return (n + unit - 1) & ~(unit - 1);
}

int rsv_region_init(rsv_region_t *r, const rsv_region_opts_t *opts)
{
    static const rsv_region_opts_t defaults;
    if (!r) return EINVAL;
    memset(r, 0, sizeof *r);
    if (!opts) opts = &defaults;
    const rsvi_os_caps_t *caps = rsvi_os_caps();
    size_t page = caps->page_size;

    size_t reserve = opts->reserve ? opts->reserve : REGION_DEFAULT_RESERVE;
    size_t step = opts->commit_step ? opts->commit_step : REGION_DEFAULT_STEP;
    if (step > SIZE_MAX / 2 || reserve > SIZE_MAX / 2) {
        rsvi_error(EINVAL, "region: size too large");
        return EINVAL;
    }
    step = region_round(step, page);
    size_t retain = opts->retain ? region_round(opts->retain, page) : step;
    size_t usable = region_round(reserve, page);
    size_t guard = (opts->flags & RSV_REGION_GUARD) ? page : 0;
    size_t total = region_round(usable + guard, caps->granularity);
    if (opts->alignment & (opts->alignment - 1)) {
        rsvi_error(EINVAL, "region: alignment is not a power of two");
        return EINVAL;
    }

    unsigned vmflags = 0, granted = 0;
    if (opts->flags & RSV_REGION_LARGE_PAGES) vmflags |= RSV_VM_LARGE_PAGES;
    if (opts->flags & RSV_REGION_EXECUTABLE) vmflags |= RSV_VM_EXECUTABLE;
    void *base = NULL;
    size_t align = opts->alignment > caps->granularity ? opts->alignment : 0;
    int e = rsv_vm_reserve(total, align, vmflags, &base, &granted);
    if (e) {
        rsvi_error(e, "region: reserve failed");
        return e;
    }
    r->base = base;
    r->reserved = total;
    r->usable = total - guard;
    r->step = step;
    r->retain = retain;
    r->flags = opts->flags;
    if (!(granted & RSV_VM_LARGE_PAGES)) r->flags &= ~(unsigned)RSV_REGION_LARGE_PAGES;
    return 0;
}

void rsv_region_release(rsv_region_t *r)
{
    if (!r || !r->base) return;
    rsv_region_t copy = *r;
    memset(r, 0, sizeof *r);   /* r may live inside the region */
    int e = rsv_vm_release(copy.base, copy.reserved);
    if (e) rsvi_error(e, "region: release failed");
}

int rsv_region_commit_to(rsv_region_t *r, size_t offset)
{
    if (offset <= r->committed) return 0;
    if (offset > r->usable) {
        rsvi_error(ENOMEM, "region: reservation full");
        return ENOMEM;
    }
    size_t end = offset - r->committed > r->usable - r->committed - r->step
                     ? r->usable
                     : r->committed + region_round(offset - r->committed, r->step);
    if (end > r->usable) end = r->usable;
    end = region_round(end, rsvi_os_caps()->page_size);
    int e = rsv_vm_commit(r->base + r->committed, end - r->committed);
    if (e) {
        rsvi_error(e, "region: commit failed");
        return e;
    }
    r->committed = end;
    r->commits++;
    if (end > r->peak) r->peak = end;
    return 0;
}

int rsv_region_decommit_from(rsv_region_t *r, size_t offset)
{
    size_t page = rsvi_os_caps()->page_size;
    if (offset > r->committed) return 0;
    size_t keep = offset + r->retain < offset ? r->committed : offset + r->retain;
    keep = region_round(keep, page);
    if (keep >= r->committed) return 0;
    int e = rsv_vm_decommit(r->base + keep, r->committed - keep);
    if (e) {
        rsvi_error(e, "region: decommit failed");
        return e;
    }
    r->committed = keep;
    r->decommits++;
    return 0;
}

void rsv_region_stats(const rsv_region_t *r, rsv_region_stats_t *out)
{
    out->reserved = r->reserved;
    out->committed = r->committed;
    out->peak = r->peak;
    out->commits = r->commits;
    out->decommits = r->decommits;
}
