/* lib/lock.h — the library's own locks, built on <stdatomic.h> only.
 *
 * Owns: rsvi_lock_t, a test-and-test-and-set spin lock that yields the
 * processor after a short spin (uncontended acquire + release is one atomic
 * exchange and one store), and rsvi_rlock_t, a recursive lock over it for
 * rsv_heap_lock (HeapLock semantics: the owner may lock again; other threads
 * wait).  Must never allocate, include an OS header, or call anything that
 * could re-enter an allocator: the heap takes these locks on its own paths.
 *
 * A zeroed lock is unlocked, so locks may live in static or zeroed memory.
 */
#ifndef RSV_LOCK_H
#define RSV_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

#include "os/thread.h"
#include "os/tls.h"
#include "reservoir/base.h"

typedef struct rsvi_lock {
    atomic_int held;
} rsvi_lock_t;

/* One CPU relaxation step (pause on x86; nothing elsewhere). */
RSV_INLINE void rsvi_cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__ __volatile__("pause");
#endif
}

/* Spins on a relaxed load (no cache-line ping-pong) and yields after 64
 * rounds, so a preempted holder on this 2-core machine gets to run. */
static inline void rsvi_lock_wait(rsvi_lock_t *l)
{
    for (unsigned i = 0;; i++) {
        if (!atomic_load_explicit(&l->held, memory_order_relaxed) &&
            !atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
            return;
        if (i < 64) rsvi_cpu_relax();
        else rsvi_os_yield();
    }
}

RSV_INLINE void rsvi_lock(rsvi_lock_t *l)
{
    if (RSV_LIKELY(!atomic_exchange_explicit(&l->held, 1, memory_order_acquire))) return;
    rsvi_lock_wait(l);
}

/* 1 when the lock was taken, 0 when someone holds it. */
RSV_INLINE int rsvi_trylock(rsvi_lock_t *l)
{
    return !atomic_load_explicit(&l->held, memory_order_relaxed) &&
           !atomic_exchange_explicit(&l->held, 1, memory_order_acquire);
}

RSV_INLINE void rsvi_unlock(rsvi_lock_t *l)
{
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* The calling thread's identity for recursive locks: the address of a
 * thread-local byte (initial-exec where the object format allows, so no
 * __tls_get_addr call from a shared library; defined in lib/heap/meta.c),
 * else rsvi_os_tls_self() (the TEB address on Windows x64: no call, no
 * emutls).  Unique among live threads. */
#if defined(__ELF__) && defined(__GNUC__)
extern __attribute__((visibility("hidden"))) _Thread_local
    __attribute__((tls_model("initial-exec"))) char rsvi_lock_anchor;
RSV_INLINE uintptr_t rsvi_lock_self(void)
{
    return (uintptr_t)&rsvi_lock_anchor;
}
#else
RSV_INLINE uintptr_t rsvi_lock_self(void)
{
    return rsvi_os_tls_self();
}
#endif

/* Recursive lock: `owner` is the holder's rsvi_lock_self() or 0, `depth`
 * the extra acquisitions by the holder (only the holder touches it). */
typedef struct rsvi_rlock {
    _Atomic uintptr_t owner;
    unsigned depth;
} rsvi_rlock_t;

static inline void rsvi_rlock_wait(rsvi_rlock_t *l, uintptr_t me)
{
    for (unsigned i = 0;; i++) {
        uintptr_t expect = 0;
        if (!atomic_load_explicit(&l->owner, memory_order_relaxed) &&
            atomic_compare_exchange_weak_explicit(&l->owner, &expect, me,
                                                  memory_order_acquire, memory_order_relaxed))
            return;
        if (i < 64) rsvi_cpu_relax();
        else rsvi_os_yield();
    }
}

RSV_INLINE void rsvi_rlock(rsvi_rlock_t *l)
{
    uintptr_t me = rsvi_lock_self();
    uintptr_t expect = 0;
    if (RSV_LIKELY(atomic_compare_exchange_strong_explicit(&l->owner, &expect, me,
                                                           memory_order_acquire,
                                                           memory_order_relaxed)))
        return;
    if (expect == me) {
        l->depth++;
        return;
    }
    rsvi_rlock_wait(l, me);
}

/* Precondition: the calling thread holds l. */
RSV_INLINE void rsvi_runlock(rsvi_rlock_t *l)
{
    if (l->depth) {
        l->depth--;
        return;
    }
    atomic_store_explicit(&l->owner, 0, memory_order_release);
}

/* 1 when the calling thread holds l. */
RSV_INLINE int rsvi_rlock_held(rsvi_rlock_t *l)
{
    return atomic_load_explicit(&l->owner, memory_order_relaxed) == rsvi_lock_self();
}

#endif /* RSV_LOCK_H */
