/* lib/internal.h — second-tier (rsvi_) functions shared between Reservoir's
 * own files, grouped under the file that owns them.  Not installed; tests
 * may include it to reach the fault-injection seam and the validators.
 */
#ifndef RSV_INTERNAL_H
#define RSV_INTERNAL_H

#include <stddef.h>
#include "reservoir/base.h"

/* Assertion levels (RSV_CHECKS: 0 off, 1 on, 2 full).
 *   RSV_CHECK_API   misuse by the caller; compiled in at level >= 1
 *   RSV_CHECK_INV   internal invariants; level >= 2
 * Expensive validators are called only at level 2 or on request. */
#ifndef RSV_CHECKS
#define RSV_CHECKS 1
#endif

/* ---- error.c ------------------------------------------------------------ */
/* Passes one failure to the installed error handler; never allocates. */
void rsvi_error(int code, const char *message);
/* Prints "reservoir: <message>\n" to stderr without allocating, then aborts. */
_Noreturn void rsvi_fatal(const char *message);

#define RSV_ASSERT_INV(c) \
    do { if (RSV_CHECKS >= 2 && !(c)) rsvi_fatal("internal invariant failed: " #c " at " __FILE__); } while (0)

/* ---- vm.c: fault injection (tests only, costs one load when unused) ----- */
enum rsvi_fault_kind {
    RSVI_FAULT_RESERVE = 0,
    RSVI_FAULT_COMMIT = 1,
    RSVI_FAULT_PROTECT = 2,
    RSVI_FAULT_DECOMMIT = 3,
    RSVI_FAULT_KINDS = 4
};
/* From now on the nth call (1-based) of `kind` fails with ENOMEM; with
 * persistent != 0 every call from the nth on fails.  n = 0 switches the
 * injection for `kind` off.  Counters restart at each call. */
void rsvi_fault_set(enum rsvi_fault_kind kind, unsigned n, int persistent);
/* Switches every injection off. */
void rsvi_fault_clear(void);
/* Calls of `kind` seen since the last rsvi_fault_set/clear. */
unsigned rsvi_fault_calls(enum rsvi_fault_kind kind);
/* Reservations made through rsv_vm_reserve and not yet released, and the
 * committed runs recorded inside them (leak checks and tests). */
size_t rsvi_vm_reservations(void);
size_t rsvi_vm_runs(void);
/* 1 when addr lies inside a reservation made through rsv_vm_reserve (and
 * not released), storing its base and size (either pointer may be NULL);
 * 0 otherwise.  O(log n), never touches the OS: the cheap ownership test
 * for pointers handed back by callers. */
int rsvi_vm_lookup(const void *addr, void **base, size_t *size);
/* The vm book's expensive validator (O(n)): 0 or EFAULT.  With
 * RSV_CHECKS=2 the vm layer runs it after changes (every change while the
 * book is small, a sample of them once it is large). */
int rsvi_vm_validate(void);
/* Fork safety.  The vm layer holds one lock while it records a change; by
 * default its own pthread_atfork hook takes that lock across fork.  Hooks
 * run prepare-handlers in reverse order of registration, so a layer that
 * calls rsv_vm_* while holding its own lock (the heap) could deadlock
 * against that hook.  Such a layer registers its own hooks, then calls
 * rsvi_vm_fork_adopt() once; it calls rsvi_vm_fork_lock() last in its
 * prepare hook and rsvi_vm_fork_unlock() first in its parent and child
 * hooks.  Once adopted, the vm layer's own hook does nothing.  (Adopting
 * before registering left a window where neither hook took the lock: a
 * fork then could leave the child's vm lock held forever.)  A fork inside
 * the window between registering and adopting takes the lock once, in
 * whichever hook runs first. */
void rsvi_vm_fork_adopt(void);
void rsvi_vm_fork_lock(void);
void rsvi_vm_fork_unlock(void);


/* ---- env.c: options from the environment, read once without allocating -- */
/* RSV_DEBUG words -> bits (the debug layer maps them onto its options). */
enum {
    RSVI_DBG_FILL = 1u << 0,
    RSVI_DBG_CANARY = 1u << 1,
    RSVI_DBG_GUARD = 1u << 2,
    RSVI_DBG_QUARANTINE = 1u << 3,
    RSVI_DBG_LEAKS = 1u << 4,
    RSVI_DBG_OOM_ABORT = 1u << 5,
    RSVI_DBG_GUARD_UNDER = 1u << 6,   /* guard page before the block */
    RSVI_DBG_BACKTRACE = 1u << 7,
    RSVI_DBG_ALL = RSVI_DBG_FILL | RSVI_DBG_CANARY | RSVI_DBG_QUARANTINE | RSVI_DBG_LEAKS
                 | RSVI_DBG_OOM_ABORT
};
typedef struct rsvi_env {
    int verbose;            /* RSV_VERBOSE: print stats at exit (0/1) */
    unsigned debug;         /* RSV_DEBUG: RSVI_DBG_* bits; 0 = off */
    long purge_delay_ms;    /* RSV_PURGE_DELAY in ms; -1 = unset (heap default) */
    size_t reserve;         /* RSV_RESERVE in bytes (k/m/g suffixes); 0 = unset */
    int large_pages;        /* RSV_LARGE_PAGES=1 */
} rsvi_env_t;
/* Parsed on first call (thread-safe, idempotent); never allocates. */
const rsvi_env_t *rsvi_env(void);
/* Parses an RSV_DEBUG value ("fill,canary", "all", "1"); unknown words are
 * ignored.  Exposed for tests. */
unsigned rsvi_env_parse_debug(const char *s);
/* Parses "123", "64k", "2m", "1g" (case-insensitive); 0 on a bad value. */
size_t rsvi_env_parse_size(const char *s);

#endif /* RSV_INTERNAL_H */
