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
    RSVI_FAULT_KINDS = 3
};
/* From now on the nth call (1-based) of `kind` fails with ENOMEM; with
 * persistent != 0 every call from the nth on fails.  n = 0 switches the
 * injection for `kind` off.  Counters restart at each call. */
void rsvi_fault_set(enum rsvi_fault_kind kind, unsigned n, int persistent);
/* Switches every injection off. */
void rsvi_fault_clear(void);
/* Calls of `kind` seen since the last rsvi_fault_set/clear. */
unsigned rsvi_fault_calls(enum rsvi_fault_kind kind);

#endif /* RSV_INTERNAL_H */
