/* tests/win/spawn.h — death tests of the Windows TAP programs: run the
 * program itself as a child and return its exit code.  Windows only
 * (_spawnl); the POSIX suites use Criterion's .signal / .exit_code. */
#ifndef RSV_TESTS_SPAWN_H
#define RSV_TESTS_SPAWN_H

#include <errno.h>
#include <process.h>
#include <stdint.h>
#include <stdio.h>

/* Runs `self a1 [a2]` (a2 may be NULL) and returns the child's exit code.
 * A spawn that failed (-1 with errno set: the child never ran, which Wine
 * does now and then under load) is retried a few times and reported as a
 * TAP diagnostic; a child that ran and exited with -1 is returned as such. */
static inline intptr_t spawn_self(const char *self, const char *a1, const char *a2)
{
    intptr_t rc = -1;
    for (int tries = 0; tries < 5; tries++) {
        errno = 0;
        rc = _spawnl(_P_WAIT, self, self, a1, a2, (const char *)NULL);
        if (rc != -1 || errno == 0) break;
        printf("# spawn of %s %s failed (errno %d), retrying\n", a1, a2 ? a2 : "", errno);
        fflush(stdout);
    }
    return rc;
}

#endif
