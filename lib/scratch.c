/* lib/scratch.c — per-thread scratch arenas (rsv_scratch_begin/end in
 * reservoir/arena.h).
 *
 * Owns the calling thread's RSV_SCRATCH_COUNT scratch arenas: created on
 * first use, destroyed by a thread-exit callback (lib/os/thread.h).  Must
 * never hand out an arena the caller listed as a conflict, and never touch
 * another thread's arenas.  The main thread's arenas live until the
 * process exits.
 */
#include <errno.h>
#include <stddef.h>

#include "internal.h"
#include "os/thread.h"
#include "reservoir/arena.h"

static _Thread_local rsv_arena_t *scratch_arenas[RSV_SCRATCH_COUNT];
static _Thread_local int scratch_registered;

/* Thread-exit callback: releases this thread's scratch arenas. */
static void scratch_release(void *unused)
{
    (void)unused;
    for (size_t i = 0; i < RSV_SCRATCH_COUNT; i++) {
        rsv_arena_destroy(scratch_arenas[i]);
        scratch_arenas[i] = NULL;
    }
    scratch_registered = 0;
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
    for (size_t i = 0; i < RSV_SCRATCH_COUNT; i++) {
        rsv_arena_t *a = scratch_arenas[i];
        if (a) {
            if (scratch_conflicts(a, conflicts, n)) continue;
            return rsv_temp_begin(a);
        }
        if (!scratch_registered) {
            int e = rsvi_os_on_thread_exit(scratch_release, NULL);
            if (e) {
                rsvi_error(e, "scratch: cannot register the thread-exit release");
                return none;
            }
            scratch_registered = 1;
        }
        rsv_arena_opts_t o = { 0 };
        o.name = "scratch";
        a = rsv_arena_create(&o);
        if (!a) return none;
        scratch_arenas[i] = a;
        return rsv_temp_begin(a);
    }
    rsvi_error(EINVAL, "scratch: every scratch arena is in the conflicts list");
    return none;
}

void rsv_scratch_end(rsv_temp_t t)
{
    rsv_temp_end(t);
}
