/* bench/tables.h — the inputs every allocator sees identically: size
 * sequences, free orders and victim indices, generated once per process
 * from fixed seeds before any benchmark runs.
 *
 * Owns: the size distributions (documented here, quoted in the report).
 * Must never: be written after rsvb_tables_init, or allocate during a run.
 *
 *   mixed:  90% 16-256 B, 9% 257 B-4 KiB, 1% 4-64 KiB (uniform within each
 *           band) - the "16 B-64 KiB" mix of the batch workload.
 *   small:  90% 16-256 B, 10% 257 B-4 KiB - frame, request and
 *           producer/consumer objects.
 *   large:  64 sizes log-uniform in 1-64 MiB.
 */
#ifndef RSVB_TABLES_H
#define RSVB_TABLES_H

#include <stddef.h>
#include <stdint.h>

#define RSVB_TABLE_N 100000u /* blocks in the batch workload */
#define RSVB_LARGE_N 64u

typedef struct rsvb_tables {
    uint32_t mixed[RSVB_TABLE_N];
    uint32_t small[RSVB_TABLE_N];
    uint32_t perm[RSVB_TABLE_N];   /* a random permutation of 0..N-1 */
    uint32_t victim[RSVB_TABLE_N]; /* random indices below 10,000 */
    size_t large[RSVB_LARGE_N];
} rsvb_tables_t;

/* Fills the tables; call once from main before registering. */
void rsvb_tables_init(void);
extern rsvb_tables_t rsvb_tab;

#endif /* RSVB_TABLES_H */
