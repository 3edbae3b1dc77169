/* lib/os/thread_win32.c — lib/os/thread.h on Windows threads.
 *
 * Thread-exit callbacks ride on a fiber-local-storage slot whose callback
 * (FlsAlloc) the system runs when a thread ends.  The per-thread record of
 * callbacks comes from a static table, or from a page of VirtualAlloc
 * memory when the table is full, so registering never touches a heap.
 * Also the slot behind lib/os/tls.h: one TlsAlloc index, allocated once.
 * Deliberately no _Thread_local here: mingw-w64 gcc implements it with
 * emutls, which allocates on a thread's first access.
 * Must never allocate from a heap or print.
 */
#include "os/thread.h"
#include "os/tls.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

struct thread_exit_rec {
    void (*fn[RSVI_THREAD_EXIT_MAX])(void *);
    void *arg[RSVI_THREAD_EXIT_MAX];
    unsigned count;
    int from_os;          /* 1: VirtualAlloc'd, release it; 0: table entry */
    atomic_int in_use;    /* table entries only */
};

#define THREAD_EXIT_TABLE 256
static struct thread_exit_rec thread_exit_table[THREAD_EXIT_TABLE];

static INIT_ONCE thread_exit_once = INIT_ONCE_STATIC_INIT;
static DWORD thread_exit_fls = FLS_OUT_OF_INDEXES;

static void thread_exit_rec_free(struct thread_exit_rec *r)
{
    if (r->from_os) {
        (void)VirtualFree(r, 0, MEM_RELEASE);
    } else {
        r->count = 0;
        atomic_store_explicit(&r->in_use, 0, memory_order_release);
    }
}

/* The FLS callback: runs at thread exit (and at FlsFree, which we never
 * call) with the thread's record. */
static void WINAPI thread_exit_run(void *data)
{
    struct thread_exit_rec *r = data;
    if (!r) return;
    while (r->count > 0) {
        unsigned i = --r->count;
        r->fn[i](r->arg[i]);
    }
    thread_exit_rec_free(r);
}

static BOOL CALLBACK thread_exit_init(PINIT_ONCE once, void *param, void **ctx)
{
    (void)once; (void)param; (void)ctx;
    thread_exit_fls = FlsAlloc(thread_exit_run);
    return TRUE;
}

static struct thread_exit_rec *thread_exit_rec_new(void)
{
    for (unsigned i = 0; i < THREAD_EXIT_TABLE; i++) {
        int expect = 0;
        struct thread_exit_rec *r = &thread_exit_table[i];
        if (atomic_load_explicit(&r->in_use, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&r->in_use, &expect, 1)) {
            r->count = 0;
            r->from_os = 0;
            return r;
        }
    }
    struct thread_exit_rec *r = VirtualAlloc(NULL, sizeof *r, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (r) r->from_os = 1; /* fresh pages are zero */
    return r;
}

int rsvi_os_on_thread_exit(void (*fn)(void *), void *arg)
{
    if (!InitOnceExecuteOnce(&thread_exit_once, thread_exit_init, NULL, NULL)) return EINVAL;
    if (thread_exit_fls == FLS_OUT_OF_INDEXES) return ENOMEM;
    struct thread_exit_rec *r = FlsGetValue(thread_exit_fls);
    if (!r) {
        r = thread_exit_rec_new();
        if (!r) return ENOMEM;
        if (!FlsSetValue(thread_exit_fls, r)) {
            thread_exit_rec_free(r);
            return ENOMEM;
        }
    }
    if (r->count >= RSVI_THREAD_EXIT_MAX) return ENOMEM;
    r->fn[r->count] = fn;
    r->arg[r->count] = arg;
    r->count++;
    return 0;
}

uintptr_t rsvi_os_thread_id(void)
{
    return (uintptr_t)GetCurrentThreadId(); /* never 0 for a live thread */
}

/* ---- lib/os/tls.h: the heap's thread-local slot ------------------------------ */

_Atomic uint32_t rsvi_os_tls_off;                /* 0: not allocated or >= 64 */
static INIT_ONCE tls_once = INIT_ONCE_STATIC_INIT;
static DWORD tls_index = TLS_OUT_OF_INDEXES;

static BOOL CALLBACK tls_init_once(PINIT_ONCE once, void *param, void **ctx)
{
    (void)once; (void)param; (void)ctx;
    DWORD i = TlsAlloc();
    if (i == TLS_OUT_OF_INDEXES) return TRUE; /* rsvi_os_tls_init reports it */
    tls_index = i;
    if (i < RSVI_OS_TEB_TLS_FAST)
        atomic_store_explicit(&rsvi_os_tls_off, (uint32_t)(RSVI_OS_TEB_TLS_SLOTS + 8 * i),
                              memory_order_release);
    return TRUE;
}

int rsvi_os_tls_init(void)
{
    if (!InitOnceExecuteOnce(&tls_once, tls_init_once, NULL, NULL)) return ENOMEM;
    return tls_index == TLS_OUT_OF_INDEXES ? ENOMEM : 0;
}

/* TlsGetValue/TlsSetValue reset the thread's last error; keep the caller's. */
void *rsvi_os_tls_get_slow(void)
{
    if (tls_index == TLS_OUT_OF_INDEXES) return NULL;
    DWORD err = GetLastError();
    void *p = TlsGetValue(tls_index);
    SetLastError(err);
    return p;
}

void rsvi_os_tls_set_slow(void *p)
{
    if (tls_index == TLS_OUT_OF_INDEXES) return;
    DWORD err = GetLastError();
    (void)TlsSetValue(tls_index, p); /* cannot fail for an allocated index */
    SetLastError(err);
}

int rsvi_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    (void)prepare; (void)parent; (void)child;
    return 0; /* no fork on Windows */
}

uint64_t rsvi_os_now_ns(void)
{
    static LARGE_INTEGER freq; /* constant for the process */
    LARGE_INTEGER now;
    if (freq.QuadPart == 0 && !QueryPerformanceFrequency(&freq)) return 0;
    if (!QueryPerformanceCounter(&now)) return 0;
    uint64_t f = (uint64_t)freq.QuadPart, t = (uint64_t)now.QuadPart;
    return t / f * 1000000000u + t % f * 1000000000u / f;
}

void rsvi_os_yield(void)
{
    (void)SwitchToThread();
}

int rsvi_os_at_exit(void (*fn)(void))
{
    return atexit(fn) == 0 ? 0 : ENOMEM;
}
