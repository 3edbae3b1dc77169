/* tests/test_fill.h — a byte pattern the heap tests write into a block and
 * check later, so that a block moved, resized or handed out twice shows
 * up as wrong contents; the seed tells blocks apart. */
#ifndef RSV_TESTS_TEST_FILL_H
#define RSV_TESTS_TEST_FILL_H

#include <stddef.h>

static inline void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++) c[i] = (unsigned char)(seed + i * 7);
}

/* 1 when the n bytes at p still hold fill's pattern for seed. */
static inline int filled(const void *p, size_t n, unsigned seed)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != (unsigned char)(seed + i * 7)) return 0;
    return 1;
}

#endif
