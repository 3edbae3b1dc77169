/* lib/debug/impl.h — what the debug layer's own files share: the state
 * struct, the live-block table, the quarantine ring, the backtrace store,
 * the spin lock and the report builder.  Not for the allocators (they use
 * dbg.h).  Nothing here allocates from a heap: every array lives in pages
 * from reservoir/vm.h.
 */
#ifndef RSV_DEBUG_IMPL_H
#define RSV_DEBUG_IMPL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "debug/dbg.h"

enum { DBG_LIVE = 1, DBG_FREED = 2 };
enum { DBG_KEY_EMPTY = 0, DBG_KEY_TOMB = 1 };

/* One block, live or in quarantine.  key is the user address. */
typedef struct dbg_entry {
    uintptr_t key;          /* DBG_KEY_EMPTY / DBG_KEY_TOMB / user address */
    size_t size;            /* bytes requested */
    char *raw;              /* backend block, or the guard reservation */
    size_t raw_size;        /* bytes at raw */
    char *anchor;           /* where the block sits in the allocator's memory (NULL: nowhere) */
    const void *alloc_site;
    const void *free_site;
    uint64_t seq;           /* allocation number, tells stale quarantine slots apart */
    uint32_t bt;            /* backtrace id in the store, 0 none */
    uint8_t state;          /* DBG_LIVE / DBG_FREED */
    uint8_t guard;          /* 1: guard-page block (guard.c) */
    uint8_t reclaimed;      /* memory already back with the allocator */
} dbg_entry_t;

/* Open addressing, linear probing, power-of-two capacity, grown at 50 %. */
typedef struct dbg_table {
    dbg_entry_t *slots;
    size_t cap;             /* slots */
    size_t used;            /* entries (live + freed) */
    size_t tombs;
    size_t bytes;           /* mapping size */
} dbg_table_t;

/* FIFO of quarantined blocks. */
typedef struct dbg_qitem { uintptr_t key; uint64_t seq; } dbg_qitem_t;
typedef struct dbg_ring {
    dbg_qitem_t *items;
    size_t cap, head, count;
    size_t bytes;           /* mapping size */
} dbg_ring_t;

/* Deduplicated backtraces: records {uint32 depth, uint32 hash, frames[]}
 * appended in one reservation committed on demand; id = offset / 8 + 1. */
typedef struct dbg_bt_store {
    char *base;
    size_t reserved, committed, used;
    uint32_t *slots;        /* hash -> id, for deduplication */
    size_t nslots;
} dbg_bt_store_t;

struct rsvi_dbg {
    rsv_debug_opts_t o;
    rsvi_dbg_backend_t be;
    const char *allocator;
    const char *name;
    atomic_flag lock;
    dbg_table_t table;
    dbg_ring_t ring;
    dbg_bt_store_t bt;
    size_t live, live_bytes;
    size_t q_bytes;         /* bytes held in quarantine (plain blocks) */
    size_t reclaimed;       /* quarantined blocks whose memory the allocator took back */
    uint64_t seq;
    size_t page;
    size_t self_bytes;      /* mapping size of this struct */
    /* The last blocks that left the table after a free (a ring), so a
     * second free is named as such even without a quarantine. */
    dbg_entry_t *hist;
    size_t hist_cap, hist_next, hist_bytes;
};

/* ---- table.c ----------------------------------------------------------- */
void *dbgi_map(size_t bytes);                 /* committed RW pages or NULL */
void dbgi_unmap(void *p, size_t bytes);
void dbgi_lock(rsvi_dbg_t *d);
void dbgi_unlock(rsvi_dbg_t *d);
dbg_entry_t *dbgi_find(dbg_table_t *t, uintptr_t key);
/* Inserts a copy of *e (key must be absent); returns the slot or NULL (no memory). */
dbg_entry_t *dbgi_insert(dbg_table_t *t, const dbg_entry_t *e);
void dbgi_remove(dbg_table_t *t, dbg_entry_t *slot);
/* The live or freed block containing addr (not at its start), or NULL.  O(capacity). */
dbg_entry_t *dbgi_find_containing(dbg_table_t *t, uintptr_t addr);
void dbgi_table_release(dbg_table_t *t);
int dbgi_ring_init(dbg_ring_t *r, size_t cap);
void dbgi_ring_release(dbg_ring_t *r);
/* Records the calling stack (from the frame that returns to `site` when
 * found) and returns its id, or 0. */
uint32_t dbgi_bt_record(dbg_bt_store_t *s, unsigned depth, const void *site);
/* Frames of backtrace id (count in *n), or NULL. */
void *const *dbgi_bt_frames(const dbg_bt_store_t *s, uint32_t id, unsigned *n);
void dbgi_bt_release(dbg_bt_store_t *s);

/* ---- guard.c ----------------------------------------------------------- */
/* Maps a guard block for size/align; fills e->raw, raw_size and key. */
int dbgi_guard_alloc(rsvi_dbg_t *d, size_t size, size_t align, dbg_entry_t *e);
/* Checks the slack bytes around a guard block: 0, or the kind with *bad. */
int dbgi_guard_check(rsvi_dbg_t *d, const dbg_entry_t *e, uintptr_t *bad);
/* Makes the block inaccessible (freed: any access faults). */
void dbgi_guard_retire(rsvi_dbg_t *d, dbg_entry_t *e);
/* Releases the reservation. */
void dbgi_guard_release(rsvi_dbg_t *d, dbg_entry_t *e);

/* ---- report.c ---------------------------------------------------------- */
/* Formats and delivers one report about block e (may be NULL) and applies
 * RSV_DEBUG_ABORT for corruption kinds.  addr: the bad byte or the pointer
 * passed; site: the caller of the operation; label names that site. */
/* The leak report (lock held); returns the blocks reported (0: prints
 * nothing).  skip_runtime leaves out blocks allocated by the C runtime. */
size_t dbgi_leaks_locked(rsvi_dbg_t *d, const char *when, int skip_runtime);
void dbgi_report(rsvi_dbg_t *d, rsv_debug_kind_t kind, const dbg_entry_t *e,
                 const void *addr, const void *site, const char *label, const char *detail);

#endif /* RSV_DEBUG_IMPL_H */
