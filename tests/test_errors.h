/* tests/test_errors.h — the error handler the test programs share: it counts
 * the reports the library makes through rsv_set_error_handler and keeps the
 * last code and message, so a test can assert that a failure was reported
 * exactly once and with which code.  Single-threaded use only.  Include
 * after "internal.h" (err_reset clears injected faults too). */
#ifndef RSV_TESTS_TEST_ERRORS_H
#define RSV_TESTS_TEST_ERRORS_H

#include <stddef.h>

#include "reservoir/base.h"

static int err_count;           /* reports since the last err_reset */
static int err_code;            /* code of the last report */
static const char *err_msg;     /* message of the last report */

static inline void err_capture(void *user, int code, const char *message)
{
    (void)user;
    err_count++;
    err_code = code;
    err_msg = message;
}

/* Forgets earlier reports and clears fault injection. */
static inline void err_reset(void)
{
    err_count = 0;
    err_code = 0;
    err_msg = NULL;
    rsvi_fault_clear();
}

/* err_reset, then routes reports to err_capture. */
static inline void err_setup(void)
{
    err_reset();
    rsv_error_handler_t h = {err_capture, NULL};
    rsv_set_error_handler(h);
}

/* Back to the default handler, faults cleared. */
static inline void err_teardown(void)
{
    rsv_error_handler_t h = {NULL, NULL};
    rsv_set_error_handler(h);
    rsvi_fault_clear();
}

#endif
