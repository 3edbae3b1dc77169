/* bench/tables.c — builds the shared input tables (see tables.h) from a
 * fixed-seed generator, so every allocator and every run sees the same
 * sequence.  Must never: be called while a benchmark runs. */
#include "tables.h"

#include <math.h>

rsvb_tables_t rsvb_tab;

/* splitmix64: small, fast, and good enough to shuffle benchmark inputs. */
static uint64_t tables_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t tables_uniform(uint64_t *s, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(tables_next(s) % (uint64_t)(hi - lo + 1));
}

void rsvb_tables_init(void)
{
    uint64_t s = 20261126u;
    for (uint32_t i = 0; i < RSVB_TABLE_N; i++) {
        uint32_t band = (uint32_t)(tables_next(&s) % 100u);
        rsvb_tab.mixed[i] = band < 90 ? tables_uniform(&s, 16, 256)
                          : band < 99 ? tables_uniform(&s, 257, 4096)
                                      : tables_uniform(&s, 4097, 65536);
        band = (uint32_t)(tables_next(&s) % 100u);
        rsvb_tab.small[i] = band < 90 ? tables_uniform(&s, 16, 256)
                                      : tables_uniform(&s, 257, 4096);
        rsvb_tab.victim[i] = (uint32_t)(tables_next(&s) % 10000u);
        rsvb_tab.perm[i] = i;
    }
    for (uint32_t i = RSVB_TABLE_N - 1; i > 0; i--) { /* Fisher-Yates */
        uint32_t j = (uint32_t)(tables_next(&s) % (uint64_t)(i + 1));
        uint32_t t = rsvb_tab.perm[i];
        rsvb_tab.perm[i] = rsvb_tab.perm[j];
        rsvb_tab.perm[j] = t;
    }
    for (uint32_t i = 0; i < RSVB_LARGE_N; i++) {
        double u = (double)(tables_next(&s) >> 11) / 9007199254740992.0;
        double mib = exp(u * log(64.0)); /* log-uniform in [1, 64) */
        rsvb_tab.large[i] = (size_t)(mib * 1048576.0) & ~(size_t)4095;
    }
}
