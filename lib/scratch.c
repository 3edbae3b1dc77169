/* lib/scratch.c — per-thread scratch arenas (rsv_scratch_begin/end in
 * reservoir/arena.h).
 *
 * Owns each thread's RSV_SCRATCH_COUNT scratch arenas: created on first
 * use, destroyed by a thread-exit callback (lib/os/thread.h).  Must never
 * hand out an arena the caller listed as a conflict, never touch another
 * thread's arenas, and never allocate from a heap.  The main thread's
 * arenas live until the process exits.
 *
 * Where a thread's arenas are found: a static open-addressing table keyed
 * by rsvi_os_thread_id(), not _Thread_local, because mingw-w64 implements
 * _Thread_local with emutls, which mallocs on first access and pulls in
 * libwinpthread (see lib/os/thread_win32.c).  Only the owning thread
 * inserts or removes its key, so a slot is claimed with one CAS and a
 * lookup never sees two entries for one thread.
 *
 *   slot: key = 0 (never used) | SCRATCH_GONE (thread exited) | thread id
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "internal.h"
#include "os/thread.h"
#include "reservoir/arena.h"

#define SCRATCH_SLOTS 4096                 /* threads using scratch at once */
#define SCRATCH_GONE ((uintptr_t)1)        /* tombstone: reusable, keeps probing */

typedef struct scratch_slot {
    _Atomic uintptr_t key;
    rsv_arena_t *arenas[RSV_SCRATCH_COUNT];   /* owner thread only */
} scratch_slot_t;

static scratch_slot_t scratch_table[SCRATCH_SLOTS];

static size_t scratch_hash(uintptr_t id)
{
    uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 40) % SCRATCH_SLOTS;
}

/* Thread-exit callback: releases the thread's arenas and frees its slot. */
static void scratch_release(void *slot_arg)
{
    scratch_slot_t *s = slot_arg;
    for (size_t i = 0; i < RSV_SCRATCH_COUNT; i++) {
        rsv_arena_destroy(s->arenas[i]);
        s->arenas[i] = NULL;
    }
    atomic_store_explicit(&s->key, SCRATCH_GONE, memory_order_release);
}

/* The calling thread's slot, claimed (and the exit callback registered)
 * on its first call.  NULL when the table is full (reported). */
static scratch_slot_t *scratch_slot(void)
{
    uintptr_t id = rsvi_os_thread_id();
    size_t h = scratch_hash(id);
    for (size_t n = 0; n < SCRATCH_SLOTS; n++) {
        scratch_slot_t *s = &scratch_table[(h + n) % SCRATCH_SLOTS];
        uintptr_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == id) return s;
        if (k == 0) break;    /* our key is never past a never-used slot */
    }
    for (size_t n = 0; n < SCRATCH_SLOTS; n++) {
        scratch_slot_t *s = &scratch_table[(h + n) % SCRATCH_SLOTS];
        uintptr_t k = atomic_load_explicit(&s->key, memory_order_relaxed);
        if ((k == 0 || k == SCRATCH_GONE)
            && atomic_compare_exchange_strong_explicit(&s->key, &k, id, memory_order_acq_rel,
                                                       memory_order_relaxed)) {
            int e = rsvi_os_on_thread_exit(scratch_release, s);
            if (e) {
                atomic_store_explicit(&s->key, SCRATCH_GONE, memory_order_release);
                rsvi_error(e, "scratch: cannot register the thread-exit release");
                return NULL;
            }
            return s;
        }
    }
    rsvi_error(ENOMEM, "scratch: too many threads use scratch arenas");
    return NULL;
}

static int scratch_conflicts(const rsv_arena_t *a, rsv_arena_t *const *conflicts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (conflicts[i] == a) return 1;
    return 0;
}

rsv_temp_t rsv_scratch_begin(rsv_arena_t *const *conflicts, size_t n)
{
    rsv_temp_t none = { NULL, 0 };
    if (n && !conflicts) {
        rsvi_error(EINVAL, "scratch: conflicts is NULL with n > 0");
        return none;
    }
    scratch_slot_t *s = scratch_slot();
    if (!s) return none;
    for (size_t i = 0; i < RSV_SCRATCH_COUNT; i++) {
        rsv_arena_t *a = s->arenas[i];
        if (a) {
            if (scratch_conflicts(a, conflicts, n)) continue;
            return rsv_temp_begin(a);
        }
        rsv_arena_opts_t o = { 0 };
        o.name = "scratch";
        a = rsv_arena_create(&o);
        if (!a) return none;
        s->arenas[i] = a;
        return rsv_temp_begin(a);
    }
    rsvi_error(EINVAL, "scratch: every scratch arena is in the conflicts list");
    return none;
}

void rsv_scratch_end(rsv_temp_t t)
{
    rsv_temp_end(t);
}
