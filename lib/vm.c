/* lib/vm.c — the public vm layer (reservoir/vm.h): argument checks against
 * the book of Reservoir's own reservations (vm_book.c), the fault-injection
 * seam, and the calls into the OS backend.
 *
 * Every range operation runs under the book's lock: look the range up
 * (EINVAL unless it lies inside one reservation, aligned to its unit),
 * prepare the book's nodes, call the OS, then record the outcome, so a
 * failure at any step leaves both the memory and the book as they were.
 * Must never crash on a bad argument, allocate from a heap, or print.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"
#include "os/os.h"
#include "vm_book.h"

/* ---- fault injection ---------------------------------------------------- */

static _Atomic unsigned fault_at[RSVI_FAULT_KINDS];
static _Atomic int fault_persistent[RSVI_FAULT_KINDS];
static _Atomic unsigned fault_count[RSVI_FAULT_KINDS];

void rsvi_fault_set(enum rsvi_fault_kind kind, unsigned n, int persistent)
{
    atomic_store(&fault_count[kind], 0);
    atomic_store(&fault_persistent[kind], persistent);
    atomic_store(&fault_at[kind], n);
}

void rsvi_fault_clear(void)
{
    for (int k = 0; k < RSVI_FAULT_KINDS; k++) rsvi_fault_set((enum rsvi_fault_kind)k, 0, 0);
}

unsigned rsvi_fault_calls(enum rsvi_fault_kind kind)
{
    return atomic_load(&fault_count[kind]);
}

/* 1 when this call of `kind` must fail. */
static int vm_fault(enum rsvi_fault_kind kind)
{
    unsigned at = atomic_load_explicit(&fault_at[kind], memory_order_relaxed);
    unsigned c = atomic_fetch_add_explicit(&fault_count[kind], 1, memory_order_relaxed) + 1;
    if (at == 0) return 0;
    return atomic_load(&fault_persistent[kind]) ? c >= at : c == at;
}

/* ---- public API --------------------------------------------------------- */

size_t rsv_vm_page_size(void) { return rsvi_os_caps()->page_size; }
size_t rsv_vm_granularity(void) { return rsvi_os_caps()->granularity; }

static int vm_is_pow2(size_t x) { return x && !(x & (x - 1)); }

/* Rounds n up to unit (a power of two); 0 on overflow. */
static size_t vm_round(size_t n, size_t unit)
{
    if (n > SIZE_MAX - (unit - 1)) return 0;
    return (n + unit - 1) & ~(unit - 1);
}

/* Releases the book's lock; with RSV_CHECKS=2 validates the book first:
 * after every change while it is small, then on a sample of changes that
 * keeps the cost about 512 node visits per change on average (a full
 * check per change would make thousands of reservations quadratic). */
static void vm_unlock_checked(void)
{
#if RSV_CHECKS >= 2
    static size_t tick;
    size_t nodes = rsvi_vmb_reservations() + rsvi_vmb_runs();
    if (nodes < 512 || ++tick % (nodes / 512 + 1) == 0)
        RSV_ASSERT_INV(rsvi_vmb_validate() == 0);
#endif
    rsvi_vmb_unlock();
}

int rsv_vm_reserve(size_t size, size_t alignment, unsigned flags, void **out, unsigned *granted)
{
    const rsvi_os_caps_t *caps = rsvi_os_caps();
    if (!out || size == 0) return EINVAL;
    if (flags & ~(unsigned)(RSV_VM_LARGE_PAGES | RSV_VM_EXECUTABLE)) return EINVAL;
    if (alignment == 0) alignment = caps->granularity;
    if (!vm_is_pow2(alignment) || alignment < caps->granularity) return EINVAL;
    size = vm_round(size, caps->granularity);
    if (size == 0 || size > SIZE_MAX / 2) return ENOMEM;
    if (vm_fault(RSVI_FAULT_RESERVE)) return ENOMEM;

    void *base = NULL;
    unsigned got = 0;
    int e = rsvi_os_reserve(size, alignment, flags, &base, &got);
    if (e) return e;
    int hard = (got & RSVI_VM_HARD_LARGE) != 0;
    got &= ~RSVI_VM_HARD_LARGE;
    unsigned prot = (got & RSV_VM_EXECUTABLE) ? RSV_PROT_RWX : RSV_PROT_RW;

    rsvi_vmb_lock();
    e = rsvi_vmb_prepare(2);
    if (e == 0) {
        rsvi_vmb_add((uintptr_t)base, size, got, hard ? caps->large_page_size : caps->page_size);
        if (hard && caps->large_commits_at_reserve)
            rsvi_vmb_set(rsvi_vmb_find((uintptr_t)base), (uintptr_t)base,
                         (uintptr_t)base + size, 1, prot);
    }
    vm_unlock_checked();
    if (e) {
        (void)rsvi_os_release(base, size);
        return e;
    }
    *out = base;
    if (granted) *granted = got;
    return 0;
}

/* Under the lock: checks that [p, p + n rounded to the unit) lies inside one
 * reservation with p aligned to its unit; stores the reservation and the
 * range.  0 or EINVAL. */
static int vm_locate(const void *p, size_t n, const rsvi_vmb_node_t **resv,
                     uintptr_t *lo, uintptr_t *hi)
{
    if (!p || n == 0) return EINVAL;
    const rsvi_vmb_node_t *r = rsvi_vmb_find((uintptr_t)p);
    if (!r) return EINVAL;
    uintptr_t a = (uintptr_t)p;
    if (a & (r->unit - 1)) return EINVAL;
    size_t len = vm_round(n, r->unit);
    if (len == 0 || len > r->end - a) return EINVAL;
    *resv = r;
    *lo = a;
    *hi = a + len;
    return 0;
}

int rsv_vm_commit(void *p, size_t n)
{
    const rsvi_vmb_node_t *r;
    uintptr_t lo, hi;
    rsvi_vmb_lock();
    int e = vm_locate(p, n, &r, &lo, &hi);
    if (e == 0 && vm_fault(RSVI_FAULT_COMMIT)) e = ENOMEM;
    if (e == 0) e = rsvi_vmb_prepare(2);
    if (e == 0) {
        unsigned prot = (r->aux & RSV_VM_EXECUTABLE) ? RSV_PROT_RWX : RSV_PROT_RW;
        e = rsvi_os_commit(p, hi - lo, prot);
        if (e == 0) rsvi_vmb_set(r, lo, hi, 1, prot);
    }
    vm_unlock_checked();
    return e;
}

int rsv_vm_decommit(void *p, size_t n)
{
    const rsvi_vmb_node_t *r;
    uintptr_t lo, hi;
    rsvi_vmb_lock();
    int e = vm_locate(p, n, &r, &lo, &hi);
    if (e == 0 && vm_fault(RSVI_FAULT_DECOMMIT)) e = ENOMEM;
    if (e == 0) e = rsvi_vmb_prepare(2);
    if (e == 0) {
        e = rsvi_os_decommit(p, hi - lo);
        if (e == 0) rsvi_vmb_set(r, lo, hi, 0, RSV_PROT_NONE);
    }
    vm_unlock_checked();
    return e;
}

int rsv_vm_purge(void *p, size_t n)
{
    const rsvi_vmb_node_t *r;
    uintptr_t lo, hi;
    unsigned first;
    rsvi_vmb_lock();
    int e = vm_locate(p, n, &r, &lo, &hi);
    if (e == 0 && !rsvi_vmb_committed(lo, hi, &first)) e = EINVAL;
    if (e == 0) e = rsvi_os_purge(p, hi - lo);
    rsvi_vmb_unlock();
    return e;
}

int rsv_vm_protect(void *p, size_t n, unsigned prot, unsigned *old)
{
    const rsvi_vmb_node_t *r;
    uintptr_t lo, hi;
    unsigned first = 0;
    if (prot & ~(unsigned)RSV_PROT_RWX) return EINVAL;
    rsvi_vmb_lock();
    int e = vm_locate(p, n, &r, &lo, &hi);
    if (e == 0 && !rsvi_vmb_committed(lo, hi, &first)) e = EINVAL;
    if (e == 0 && vm_fault(RSVI_FAULT_PROTECT)) e = ENOMEM;
    if (e == 0) e = rsvi_vmb_prepare(2);
    if (e == 0) {
        e = rsvi_os_protect(p, hi - lo, prot);
        if (e == 0) rsvi_vmb_set(r, lo, hi, 1, prot);
    }
    vm_unlock_checked();
    if (e == 0 && old) *old = first;
    return e;
}

int rsv_vm_release(void *base, size_t size)
{
    if (!base) return EINVAL;
    rsvi_vmb_lock();
    const rsvi_vmb_node_t *r = rsvi_vmb_find((uintptr_t)base);
    size_t have = r ? r->end - r->start : 0;
    int e = 0;
    if (!r || r->start != (uintptr_t)base) e = EINVAL;
    else if (size != 0 && vm_round(size, rsvi_os_caps()->granularity) != have) e = EINVAL;
    /* Released under the lock, so nobody can be handed the same addresses
     * and record them before this record is gone. */
    if (e == 0) e = rsvi_os_release(base, have);
    if (e == 0) rsvi_vmb_remove(r);
    vm_unlock_checked();
    return e;
}

int rsv_vm_query(const void *addr, rsv_vm_info_t *info)
{
    if (!info) return EINVAL;
    rsvi_vmb_lock();
    const rsvi_vmb_node_t *r = rsvi_vmb_find((uintptr_t)addr);
    if (r) rsvi_vmb_describe(r, (uintptr_t)addr, info);
    rsvi_vmb_unlock();
    return r ? 0 : rsvi_os_query(addr, info);
}

size_t rsvi_vm_reservations(void)
{
    rsvi_vmb_lock();
    size_t n = rsvi_vmb_reservations();
    rsvi_vmb_unlock();
    return n;
}

size_t rsvi_vm_runs(void)
{
    rsvi_vmb_lock();
    size_t n = rsvi_vmb_runs();
    rsvi_vmb_unlock();
    return n;
}

int rsvi_vm_lookup(const void *addr, void **base, size_t *size)
{
    rsvi_vmb_lock();
    const rsvi_vmb_node_t *r = rsvi_vmb_find((uintptr_t)addr);
    if (r) {
        if (base) *base = (void *)r->start;
        if (size) *size = r->end - r->start;
    }
    rsvi_vmb_unlock();
    return r != NULL;
}

void rsvi_vm_fork_adopt(void) { rsvi_vmb_fork_adopt(); }
void rsvi_vm_fork_lock(void) { rsvi_vmb_fork_lock(); }
void rsvi_vm_fork_unlock(void) { rsvi_vmb_fork_unlock(); }

int rsvi_vm_validate(void)
{
    rsvi_vmb_lock();
    int e = rsvi_vmb_validate();
    rsvi_vmb_unlock();
    return e;
}
