/* lib/os/tls.h — the heap's hot thread-local services, inline: a cheap
 * per-thread identity (rsvi_os_tls_self) and one fast thread-local pointer
 * slot (rsvi_os_tls_get/set) for the heap's per-thread state.
 *
 * On Windows x64 both read the thread's TEB through %gs, without a call:
 * mingw-w64 gcc implements _Thread_local with emutls (__emutls_get_address,
 * a call into libwinpthread on every access), and GetCurrentThreadId is an
 * out-of-line call.  The slot is a TlsAlloc index below 64, read and written
 * in the TEB's TlsSlots array; rsvi_os_tls_init (thread_win32.c) allocates
 * it once.  Elsewhere RSVI_OS_TLS_SLOT is 0 and the caller keeps its own
 * _Thread_local variable (initial-exec on ELF): only the identity and a
 * no-op rsvi_os_tls_init are provided.
 *
 * Must never allocate, include an OS header, or call into the C library on
 * the fast paths: the heap reads these on every allocation.
 */
#ifndef RSV_OS_TLS_H
#define RSV_OS_TLS_H

#include <stdatomic.h>
#include <stdint.h>

#include "os/thread.h"
#include "reservoir/base.h"

#if defined(_WIN32) && defined(__x86_64__) && defined(__GNUC__)

#define RSVI_OS_TLS_SLOT 1

/* x64 TEB layout (mingw-w64 winnt.h NT_TIB, winternl.h TEB): NT_TIB.Self
 * at 0x30, TlsSlots[64] (TLS_MINIMUM_AVAILABLE) at 0x1480. */
#define RSVI_OS_TEB_SELF 0x30
#define RSVI_OS_TEB_TLS_SLOTS 0x1480
#define RSVI_OS_TEB_TLS_FAST 64

/* Byte offset of the slot in the TEB; 0 before rsvi_os_tls_init, or when
 * TlsAlloc gave an index of 64 or more (then the *_slow functions use
 * TlsGetValue/TlsSetValue).  Written once (thread_win32.c). */
extern _Atomic uint32_t rsvi_os_tls_off;

/* The slot through TlsGetValue (index >= 64), or NULL before init. */
void *rsvi_os_tls_get_slow(void);
/* Sets the slot through TlsSetValue; nothing before init. */
void rsvi_os_tls_set_slow(void *p);

/* The calling thread's TEB address: non-zero, unique among live threads. */
RSV_INLINE uintptr_t rsvi_os_tls_self(void)
{
    uintptr_t teb;
    __asm__("movq %%gs:%c1, %0" : "=r"(teb) : "i"(RSVI_OS_TEB_SELF));
    return teb;
}

/* This thread's slot value; NULL until this thread sets it (and before
 * rsvi_os_tls_init). */
RSV_INLINE void *rsvi_os_tls_get(void)
{
    uint32_t off = atomic_load_explicit(&rsvi_os_tls_off, memory_order_relaxed);
    if (RSV_LIKELY(off != 0)) {
        void *p;
        __asm__ __volatile__("movq %%gs:(%q1), %0" : "=r"(p) : "r"((uintptr_t)off));
        return p;
    }
    return rsvi_os_tls_get_slow();
}

/* Sets this thread's slot.  Precondition: rsvi_os_tls_init returned 0. */
RSV_INLINE void rsvi_os_tls_set(void *p)
{
    uint32_t off = atomic_load_explicit(&rsvi_os_tls_off, memory_order_relaxed);
    if (RSV_LIKELY(off != 0)) {
        __asm__ __volatile__("movq %0, %%gs:(%q1)" : : "r"(p), "r"((uintptr_t)off) : "memory");
        return;
    }
    rsvi_os_tls_set_slow(p);
}

/* Allocates the slot once per process (thread-safe, idempotent); 0, or
 * ENOMEM when the process has no TLS index left. */
int rsvi_os_tls_init(void);

#else /* POSIX and other targets: the caller keeps a _Thread_local */

#define RSVI_OS_TLS_SLOT 0

/* rsvi_os_thread_id (lib/lock.h keeps its own initial-exec anchor on ELF). */
RSV_INLINE uintptr_t rsvi_os_tls_self(void)
{
    return rsvi_os_thread_id();
}

RSV_INLINE int rsvi_os_tls_init(void)
{
    return 0;
}

#endif

#endif /* RSV_OS_TLS_H */
