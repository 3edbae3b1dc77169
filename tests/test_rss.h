/* tests/test_rss.h — the process's resident size from /proc/self/statm, for
 * the tests that check memory really goes back to the OS (Linux only). */
#ifndef RSV_TESTS_TEST_RSS_H
#define RSV_TESTS_TEST_RSS_H

#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

/* Resident bytes now, or 0 when /proc cannot be read. */
static inline size_t test_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
    fclose(f);
    return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

#endif
