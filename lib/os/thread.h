/* lib/os/thread.h — the thread services Reservoir needs from the OS:
 * a per-thread exit callback, a cheap thread identity, fork hooks, a
 * monotonic clock and a yield.  Implemented by thread_posix.c and
 * thread_win32.c.  Never allocates from a heap.
 */
#ifndef RSV_OS_THREAD_H
#define RSV_OS_THREAD_H

#include <stddef.h>
#include <stdint.h>

/* Registers fn(arg) to run when the calling thread exits (after its last
 * user code, in reverse order of registration).  At most
 * RSVI_THREAD_EXIT_MAX registrations per thread; returns 0, or ENOMEM when
 * full, or the OS error.  Not run for the main thread at process exit
 * (use atexit-style hooks for that). */
#define RSVI_THREAD_EXIT_MAX 8
int rsvi_os_on_thread_exit(void (*fn)(void *), void *arg);

/* A non-zero value unique among live threads; cheap (reads TLS). */
uintptr_t rsvi_os_thread_id(void);

/* pthread_atfork; on Windows (no fork) returns 0 and never calls them. */
int rsvi_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* Monotonic time in nanoseconds. */
uint64_t rsvi_os_now_ns(void);

/* Gives the processor to another thread. */
void rsvi_os_yield(void);

/* Registers fn to run at normal process exit (atexit); 0 or an error. */
int rsvi_os_at_exit(void (*fn)(void));

#endif /* RSV_OS_THREAD_H */
