/* lib/region.c — regions (reservoir/region.h): reserve once, commit a
 * contiguous prefix in steps, shrink with retention.
 *
 * Owns the translation of vm error codes into "result + one message
 * through the error handler" (DESIGN decision 6).  Every operation either
 * succeeds or leaves the region (memory, fields, stats) exactly as it was.
 * Because only the end of the committed prefix ever moves, a region is at
 * most two kernel mappings on Linux (DESIGN decision 1).
 * Never allocates, never prints, never includes an OS header.
 */
#include <errno.h>
#include <stdint.h>
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

/* n rounded up to unit (a power of two); the callers bound n far below
 * SIZE_MAX - unit. */
static size_t region_round(size_t n, size_t unit)
{
    return (n + unit - 1) & ~(unit - 1);
}

static int region_fail(rsv_region_t *r, int code, const char *message)
{
    if (r) memset(r, 0, sizeof *r);
    rsvi_error(code, message);
    return code;
}

int rsv_region_init(rsv_region_t *r, const rsv_region_opts_t *opts)
{
    static const rsv_region_opts_t defaults;
    if (!r) return region_fail(NULL, EINVAL, "region: init without a region");
    memset(r, 0, sizeof *r);
    if (!opts) opts = &defaults;
    const rsvi_os_caps_t *caps = rsvi_os_caps();
    size_t page = caps->page_size;
    const size_t limit = SIZE_MAX / 4;

    if (opts->flags & ~(unsigned)(RSV_REGION_GUARD | RSV_REGION_LARGE_PAGES | RSV_REGION_EXECUTABLE))
        return region_fail(r, EINVAL, "region: unknown flags");
    if (opts->alignment & (opts->alignment - 1))
        return region_fail(r, EINVAL, "region: alignment is not a power of two");
    size_t reserve = opts->reserve ? opts->reserve : REGION_DEFAULT_RESERVE;
    size_t step = opts->commit_step ? opts->commit_step : REGION_DEFAULT_STEP;
    if (reserve > limit || step > limit || opts->retain > limit || opts->alignment > limit)
        return region_fail(r, ENOMEM, "region: size too large");

    unsigned vmflags = 0, granted = 0;
    /* Windows large pages arrive committed and cannot be decommitted on
     * demand, which a region must do: regions fall back to normal pages
     * there. */
    int want_large = (opts->flags & RSV_REGION_LARGE_PAGES) && caps->large_page_size &&
                     !caps->large_commits_at_reserve;
    if (want_large) vmflags |= RSV_VM_LARGE_PAGES;
    if (opts->flags & RSV_REGION_EXECUTABLE) vmflags |= RSV_VM_EXECUTABLE;

    /* Reserve room for the usable part plus a guard of the largest unit the
     * OS may hand out, so the usable part never shrinks below `reserve`. */
    size_t usable_want = region_round(reserve, page);
    size_t guard_room = (opts->flags & RSV_REGION_GUARD) ? (want_large ? caps->large_page_size : page) : 0;
    size_t total = region_round(usable_want + guard_room,
                                want_large ? caps->large_page_size : caps->granularity);
    size_t align = opts->alignment > caps->granularity ? opts->alignment : 0;

    void *base = NULL;
    int e = rsv_vm_reserve(total, align, vmflags, &base, &granted);
    if (e) return region_fail(r, e == EINVAL ? EINVAL : ENOMEM, "region: reserve failed");
    rsv_vm_info_t info;
    size_t unit = page;
    if (rsv_vm_query(base, &info) == 0 && info.page_size > unit) unit = info.page_size;

    size_t guard = (opts->flags & RSV_REGION_GUARD) ? unit : 0;
    r->base = base;
    r->reserved = total;
    r->usable = total - guard;
    r->page = unit;
    r->step = region_round(step, unit);
    r->retain = opts->retain ? region_round(opts->retain, unit) : r->step;
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
    /* usable <= SIZE_MAX / 4, so the rounding cannot overflow. */
    size_t end = region_round(offset, r->step);
    if (end > r->usable) end = r->usable;
    int e = rsv_vm_commit(r->base + r->committed, end - r->committed);
    if (e) {
        rsvi_error(ENOMEM, "region: commit failed");
        return ENOMEM;
    }
    r->committed = end;
    r->commits++;
    if (end > r->peak) r->peak = end;
    return 0;
}

int rsv_region_decommit_from(rsv_region_t *r, size_t offset)
{
    if (offset >= r->committed) return 0;
    size_t keep = r->retain >= r->committed - offset ? r->committed
                                                      : region_round(offset + r->retain, r->page);
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
