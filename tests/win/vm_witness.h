/* tests/win/vm_witness.h — VirtualQuery (through the backend's
 * rsvi_os_query) as an independent witness of what rsv_vm_query reports,
 * for the Windows TAP programs.  Wine splits runs that real Windows would
 * report as one (pages decommitted at different times keep separate
 * records), so the witness walks the OS's runs across the book's run
 * instead of comparing one answer.
 */
#ifndef RSV_TESTS_VM_WITNESS_H
#define RSV_TESTS_VM_WITNESS_H

#include <string.h>

#include "os/os.h"
#include "reservoir/vm.h"

/* Bytes from p (page-aligned) onwards that the OS reports with the given
 * state and protection, stopping at `limit`. */
static size_t witness_extent(const char *p, const char *limit, rsv_vm_state_t state, unsigned prot)
{
    const char *q = p;
    while (q < limit) {
        rsv_vm_info_t o;
        if (rsvi_os_query(q, &o) != 0 || o.state != state || o.prot != prot || o.size == 0) break;
        q = (const char *)o.base + o.size;
    }
    return (size_t)((q < limit ? q : limit) - p);
}

/* 1 when the OS agrees with rsv_vm_query about the run holding p: same
 * state and protection over exactly [p's page, end of the run), and the
 * page after the run (inside the reservation) differs. */
static int agrees_with_os(const void *p)
{
    rsv_vm_info_t b;
    if (rsv_vm_query(p, &b) != 0 || b.state == RSV_VM_FREE) return 0;
    const char *page = (const char *)((uintptr_t)p & ~(uintptr_t)(rsv_vm_page_size() - 1));
    const char *end = (const char *)b.base + b.size;
    const char *alloc_end = (const char *)b.alloc_base + b.alloc_size;
    if (witness_extent(page, end, b.state, b.prot) != (size_t)(end - page)) return 0;
    if (end < alloc_end && witness_extent(end, alloc_end, b.state, b.prot) != 0) return 0;
    rsv_vm_info_t o;
    return rsvi_os_query(page, &o) == 0 && o.exact == 1 && o.alloc_base == b.alloc_base &&
           o.alloc_size == b.alloc_size;
}

#endif
