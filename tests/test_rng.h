/* tests/test_rng.h — the one seeded generator the stress tests share
 * (xorshift64: 13, 7, 17), so a seed names the same sequence in every
 * suite and on every OS.  The state must start non-zero. */
#ifndef RSV_TESTS_TEST_RNG_H
#define RSV_TESTS_TEST_RNG_H

#include <stdint.h>

static inline uint64_t test_rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#endif
