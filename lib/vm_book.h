/* lib/vm_book.h — the vm layer's private record of Reservoir's own
 * reservations and of the committed runs inside them (vm_book.c).
 *
 * Two ordered trees share one pool of nodes taken straight from the OS:
 *   reservations  [start, end) of each rsv_vm_reserve, with granted flags
 *                 and the unit (page or large page) ranges are rounded to
 *   runs          maximal [start, end) ranges of COMMITTED pages sharing one
 *                 protection; a page of a reservation in no run is RESERVED
 * Lookups are O(log n) (treaps).  Every function except lock/unlock must be
 * called with the book locked; the update functions never fail once
 * rsvi_vmb_prepare(2) has succeeded, so vm.c can call the OS first and record
 * the outcome afterwards.  Never allocates from a heap, never prints.
 */
#ifndef RSV_VM_BOOK_H
#define RSV_VM_BOOK_H

#include <stddef.h>
#include <stdint.h>

#include "reservoir/vm.h"

typedef struct rsvi_vmb_node {
    uintptr_t start, end;
    struct rsvi_vmb_node *left, *right;
    uint32_t prio;
    unsigned aux;       /* run: RSV_PROT_*; reservation: granted RSV_VM_* flags */
    size_t unit;        /* reservation: its page size; runs: unused */
} rsvi_vmb_node_t;

/* The one lock over both trees (a spin lock that yields). */
void rsvi_vmb_lock(void);
void rsvi_vmb_unlock(void);

/* Fork: see rsvi_vm_fork_adopt in internal.h.  fork_lock takes the lock
 * unless the book's own hook already holds it for this fork; fork_unlock
 * releases it only when fork_lock took it. */
void rsvi_vmb_fork_adopt(void);
void rsvi_vmb_fork_lock(void);
void rsvi_vmb_fork_unlock(void);

/* Makes sure k nodes are free for the following updates; 0 or ENOMEM. */
int rsvi_vmb_prepare(unsigned k);

/* The reservation containing addr, or NULL. */
const rsvi_vmb_node_t *rsvi_vmb_find(uintptr_t addr);

/* Records a new reservation with nothing committed (needs 1 prepared node). */
void rsvi_vmb_add(uintptr_t start, size_t size, unsigned flags, size_t unit);

/* Forgets a reservation and every run inside it. */
void rsvi_vmb_remove(const rsvi_vmb_node_t *resv);

/* Records [lo, hi) inside resv as COMMITTED with prot (committed != 0) or as
 * RESERVED.  Needs 2 prepared nodes. */
void rsvi_vmb_set(const rsvi_vmb_node_t *resv, uintptr_t lo, uintptr_t hi,
                  int committed, unsigned prot);

/* 1 when every page of [lo, hi) is committed; stores the first page's
 * protection in *first_prot. */
int rsvi_vmb_committed(uintptr_t lo, uintptr_t hi, unsigned *first_prot);

/* Fills *info for addr inside resv: the maximal run sharing state+prot. */
void rsvi_vmb_describe(const rsvi_vmb_node_t *resv, uintptr_t addr, rsv_vm_info_t *info);

/* The expensive validator: both treaps ordered and heap-ordered, intervals
 * disjoint, counts right, every run inside a reservation, aligned to its
 * unit and maximal.  0 or EFAULT.  O(n). */
int rsvi_vmb_validate(void);

/* Counters for tests and validators: live reservations and runs. */
size_t rsvi_vmb_reservations(void);
size_t rsvi_vmb_runs(void);

#endif /* RSV_VM_BOOK_H */
