/* lib/vm.c — the public vm layer (reservoir/vm.h): argument checks, the
 * fault-injection seam, and the calls into the OS backend.
 * Must never crash on a bad argument, allocate from a heap, or print.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"
#include "os/os.h"

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

int rsv_vm_reserve(size_t size, size_t alignment, unsigned flags, void **out, unsigned *granted)
{
    const rsvi_os_caps_t *caps = rsvi_os_caps();
    if (!out || size == 0) return EINVAL;
    if (alignment == 0) alignment = caps->granularity;
    if (!vm_is_pow2(alignment) || alignment < caps->granularity) return EINVAL;
    size_t g = caps->granularity;
    if (size > SIZE_MAX - g) return ENOMEM;
    size = (size + g - 1) & ~(g - 1);
    if (vm_fault(RSVI_FAULT_RESERVE)) return ENOMEM;
    return rsvi_os_reserve(size, alignment, flags, out, granted);
}

/* Validates a page range argument. */
static int vm_range(const void *p, size_t n)
{
    size_t page = rsvi_os_caps()->page_size;
    if (!p || n == 0) return EINVAL;
    if ((uintptr_t)p & (page - 1)) return EINVAL;
    if (n > UINTPTR_MAX - (uintptr_t)p) return EINVAL;
    return 0;
}

static size_t vm_round(size_t n)
{
    size_t page = rsvi_os_caps()->page_size;
    return (n + page - 1) & ~(page - 1);
}

int rsv_vm_commit(void *p, size_t n)
{
    int e = vm_range(p, n);
    if (e) return e;
    if (vm_fault(RSVI_FAULT_COMMIT)) return ENOMEM;
    return rsvi_os_commit(p, vm_round(n), RSV_PROT_RW);
}

int rsv_vm_decommit(void *p, size_t n)
{
    int e = vm_range(p, n);
    return e ? e : rsvi_os_decommit(p, vm_round(n));
}

int rsv_vm_purge(void *p, size_t n)
{
    int e = vm_range(p, n);
    return e ? e : rsvi_os_purge(p, vm_round(n));
}

int rsv_vm_protect(void *p, size_t n, unsigned prot, unsigned *old)
{
    int e = vm_range(p, n);
    if (e) return e;
    if (prot & ~(unsigned)RSV_PROT_RWX) return EINVAL;
    if (vm_fault(RSVI_FAULT_PROTECT)) return ENOMEM;
    if (old) *old = RSV_PROT_RW; /* TODO(vm bookkeeping): the real previous protection */
    return rsvi_os_protect(p, vm_round(n), prot);
}

int rsv_vm_release(void *base, size_t size)
{
    int e = vm_range(base, size ? size : 1);
    if (e) return e;
    if (size == 0) return EINVAL; /* TODO(vm bookkeeping): look the size up */
    return rsvi_os_release(base, vm_round(size));
}

int rsv_vm_query(const void *addr, rsv_vm_info_t *info)
{
    if (!info) return EINVAL;
    return rsvi_os_query(addr, info);
}
