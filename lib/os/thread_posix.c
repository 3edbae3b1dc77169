/* lib/os/thread_posix.c — lib/os/thread.h on POSIX threads.
 * The exit callbacks live in a fixed thread-local array, so registering
 * one never allocates; a pthread key's destructor runs them.
 * Must never allocate from a heap or print.
 */
#include "os/thread.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

struct thread_exit_slot {
    void (*fn)(void *);
    void *arg;
};

static _Thread_local struct thread_exit_slot thread_exit_slots[RSVI_THREAD_EXIT_MAX];
static _Thread_local unsigned thread_exit_count;
static _Thread_local char thread_id_anchor;

static pthread_key_t thread_exit_key;
static pthread_once_t thread_exit_once = PTHREAD_ONCE_INIT;
static int thread_exit_key_error;

static void thread_exit_run(void *unused)
{
    (void)unused;
    while (thread_exit_count > 0) {
        struct thread_exit_slot s = thread_exit_slots[--thread_exit_count];
        s.fn(s.arg);
    }
}

static void thread_exit_key_init(void)
{
    thread_exit_key_error = pthread_key_create(&thread_exit_key, thread_exit_run);
}

int rsvi_os_on_thread_exit(void (*fn)(void *), void *arg)
{
    int e = pthread_once(&thread_exit_once, thread_exit_key_init);
    if (e) return e;
    if (thread_exit_key_error) return thread_exit_key_error;
    if (thread_exit_count >= RSVI_THREAD_EXIT_MAX) return ENOMEM;
    /* Any non-NULL value makes the destructor run at thread exit. */
    e = pthread_setspecific(thread_exit_key, &thread_id_anchor);
    if (e) return e;
    thread_exit_slots[thread_exit_count].fn = fn;
    thread_exit_slots[thread_exit_count].arg = arg;
    thread_exit_count++;
    return 0;
}

uintptr_t rsvi_os_thread_id(void)
{
    return (uintptr_t)&thread_id_anchor;
}

int rsvi_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    return pthread_atfork(prepare, parent, child);
}

uint64_t rsvi_os_now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rsvi_os_yield(void)
{
    (void)sched_yield();
}

int rsvi_os_at_exit(void (*fn)(void))
{
    return atexit(fn) == 0 ? 0 : ENOMEM;
}
