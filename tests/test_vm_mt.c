/* tests/test_vm_mt.c — the vm layer and regions under several threads
 * (meson suites "vm" and "mt", so the ThreadSanitizer build runs them):
 * reservations made, queried and released concurrently, threads changing
 * disjoint pages of one shared reservation, regions per thread, and fork
 * while other threads are inside the vm layer.
 *
 * A TAP program rather than a Criterion suite: Criterion cannot start
 * under ThreadSanitizer (Snaipe/Criterion#274).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "reservoir/region.h"
#include "reservoir/vm.h"
#include "test_sanitize.h"
#include "win/tap.h"
#include "test_rng.h"

enum { THREADS = 4, PAGES_PER_THREAD = 16 };

static const int rounds = RSV_TEST_SLOW ? 300 : 3000;
static char *shared_base;
static atomic_int stop_spinning;

/* Own reservations: reserve, commit, write, query, release. */
static void *own_reservations(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 7919 + 1;
    size_t pg = rsv_vm_page_size();
    for (int k = 0; k < rounds; k++) {
        void *p = NULL;
        size_t pages = 1 + test_rng_next(&seed) % 8;
        if (rsv_vm_reserve(pages * pg, 0, 0, &p, NULL) != 0) return (void *)1;
        if (rsv_vm_commit(p, pg) != 0) return (void *)2;
        *(volatile char *)p = 1;
        rsv_vm_info_t i;
        if (rsv_vm_query(p, &i) != 0 || i.state != RSV_VM_COMMITTED || i.alloc_base != p ||
            i.alloc_size != pages * pg)
            return (void *)3;
        if (rsv_vm_release(p, 0) != 0) return (void *)4;
    }
    return NULL;
}

/* Disjoint pages of one shared reservation: commit, protect, decommit,
 * each thread checking only its own pages. */
static void *shared_pages(void *arg)
{
    uintptr_t t = (uintptr_t)arg;
    size_t pg = rsv_vm_page_size();
    char *mine = shared_base + t * PAGES_PER_THREAD * pg;
    uint64_t seed = t + 99;
    for (int k = 0; k < rounds; k++) {
        size_t a = test_rng_next(&seed) % PAGES_PER_THREAD;
        char *p = mine + a * pg;
        if (rsv_vm_commit(p, pg) != 0) return (void *)1;
        p[0] = (char)k;
        unsigned old = 0;
        if (rsv_vm_protect(p, pg, RSV_PROT_READ, &old) != 0 || old != RSV_PROT_RW) return (void *)2;
        rsv_vm_info_t i;
        if (rsv_vm_query(p, &i) != 0 || i.state != RSV_VM_COMMITTED || i.prot != RSV_PROT_READ)
            return (void *)3;
        if (p[0] != (char)k) return (void *)4;
        if (rsv_vm_decommit(p, pg) != 0) return (void *)5;
        if (rsv_vm_query(p, &i) != 0 || i.state != RSV_VM_RESERVED) return (void *)6;
    }
    return NULL;
}

/* A region per thread, grown and shrunk at random. */
static void *own_region(void *arg)
{
    rsv_region_t r;
    rsv_region_opts_t o = {64 << 20, 64 << 10, 64 << 10, 0, RSV_REGION_GUARD};
    uint64_t seed = (uintptr_t)arg + 5;
    if (rsv_region_init(&r, &o) != 0) return (void *)1;
    for (int k = 0; k < rounds; k++) {
        size_t off = test_rng_next(&seed) % r.usable;
        if (k % 2 == 0) {
            if (rsv_region_commit_to(&r, off) != 0) return (void *)2;
            if (off) r.base[off - 1] = 1;
        } else if (rsv_region_decommit_from(&r, off) != 0) {
            return (void *)3;
        }
    }
    rsv_region_release(&r);
    return NULL;
}

static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_spinning)) {
        void *p = NULL;
        if (rsv_vm_reserve(1 << 16, 0, 0, &p, NULL) == 0) (void)rsv_vm_release(p, 0);
    }
    return NULL;
}

/* A layer that calls the vm layer under its own lock and adopts the vm
 * layer's fork locking (what the heap does). */
static pthread_mutex_t layer_lock = PTHREAD_MUTEX_INITIALIZER;
static void layer_prepare(void)
{
    pthread_mutex_lock(&layer_lock);
    rsvi_vm_fork_lock();
}
static void layer_release(void)
{
    rsvi_vm_fork_unlock();
    pthread_mutex_unlock(&layer_lock);
}
static void *layer_user(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_spinning)) {
        void *p = NULL;
        pthread_mutex_lock(&layer_lock);
        if (rsv_vm_reserve(1 << 16, 0, 0, &p, NULL) == 0) (void)rsv_vm_release(p, 0);
        pthread_mutex_unlock(&layer_lock);
    }
    return NULL;
}

/* Forks `n` children while `fn` runs in another thread; each child must be
 * able to use the vm layer.  1 when all could. */
static int forks_while(void *(*fn)(void *), int n)
{
    pthread_t s;
    int ok = 1;
    atomic_store(&stop_spinning, 0);
    if (pthread_create(&s, NULL, fn, NULL) != 0) return 0;
    for (int k = 0; k < n; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            void *p = NULL;
            int good = rsv_vm_reserve(1 << 16, 0, 0, &p, NULL) == 0 && rsv_vm_commit(p, 4096) == 0 &&
                       rsv_vm_release(p, 0) == 0;
            _exit(good ? 0 : 1);
        }
        int status = -1;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            ok = 0;
    }
    atomic_store(&stop_spinning, 1);
    pthread_join(s, NULL);
    return ok;
}

static int run_threads(void *(*fn)(void *))
{
    pthread_t t[THREADS];
    int ok = 1;
    for (uintptr_t k = 0; k < THREADS; k++)
        if (pthread_create(&t[k], NULL, fn, (void *)k) != 0) return 0;
    for (int k = 0; k < THREADS; k++) {
        void *r = (void *)9;
        if (pthread_join(t[k], &r) != 0 || r != NULL) ok = 0;
    }
    return ok;
}

int main(void)
{
    size_t live = rsvi_vm_reservations();
    CHECK(run_threads(own_reservations), "threads reserving, committing, querying and releasing");
    CHECK(rsvi_vm_reservations() == live, "every reservation released");

    size_t pg = rsv_vm_page_size();
    CHECK(rsv_vm_reserve(THREADS * PAGES_PER_THREAD * pg, 0, 0, (void **)&shared_base, NULL) == 0,
          "shared reservation");
    CHECK(run_threads(shared_pages), "threads changing disjoint pages of one reservation");
    rsv_vm_info_t i;
    CHECK(rsv_vm_query(shared_base, &i) == 0 && i.state == RSV_VM_RESERVED &&
          i.size == THREADS * PAGES_PER_THREAD * pg, "all pages back to one reserved run");
    CHECK(rsv_vm_release(shared_base, 0) == 0, "release shared reservation");

    CHECK(run_threads(own_region), "a region per thread");

    /* fork while another thread is inside the vm layer */
    int forks = RSV_TEST_SLOW ? 10 : 50;
    CHECK(forks_while(spinner, forks), "children forked mid-operation can use the vm layer");
    rsvi_vm_fork_adopt();
    CHECK(pthread_atfork(layer_prepare, layer_release, layer_release) == 0, "layer adopts fork locking");
    CHECK(forks_while(layer_user, forks), "... also when a layer calls it under its own lock");
    CHECK(rsvi_vm_reservations() == live, "nothing leaked");
    return tap_done();
}
