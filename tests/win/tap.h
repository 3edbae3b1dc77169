/* tests/win/tap.h — a minimal TAP producer for the Windows test programs
 * (Criterion is not available for mingw).  Each CHECK is one TAP line;
 * tap_done() prints the plan and returns the exit status.
 *
 *   int main(void) { CHECK(1 + 1 == 2, "arithmetic"); return tap_done(); }
 */
#ifndef RSV_TESTS_TAP_H
#define RSV_TESTS_TAP_H

#include <stdio.h>

static int tap_count, tap_failed;

#define CHECK(cond, ...) do {                                              \
        int tap_ok_ = (cond) ? 1 : 0;                                      \
        tap_count++;                                                       \
        if (!tap_ok_) tap_failed++;                                        \
        printf("%s %d - ", tap_ok_ ? "ok" : "not ok", tap_count);          \
        printf(__VA_ARGS__);                                               \
        printf("\n");                                                      \
        if (!tap_ok_) printf("# failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        fflush(stdout);                                                    \
    } while (0)

static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    fflush(stdout);
    return tap_failed ? 1 : 0;
}

#endif
