/* tests/win/test_vm.c — the vm layer's behaviors in the Windows build (TAP
 * under Wine): the checks of tests/test_vm.c, with VirtualQuery (through
 * the backend's rsvi_os_query) as the witness that the book tells the
 * truth, a child process for the access-violation checks, and the FLS
 * thread-exit hooks of lib/os/thread_win32.c.
 */
#include <errno.h>
#include <process.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include "internal.h"
#include "os/os.h"
#include "os/thread.h"
#include "reservoir/vm.h"
#include "spawn.h"
#include "tap.h"
#include "vm_witness.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

static size_t pg(void) { return rsv_vm_page_size(); }

static rsv_vm_info_t query(const void *p)
{
    rsv_vm_info_t i;
    memset(&i, 0xEE, sizeof i);
    if (rsv_vm_query(p, &i) != 0) memset(&i, 0, sizeof i);
    return i;
}

/* ---- child-process checks: an access must raise an access violation ---- */

static void on_segv(int sig)
{
    (void)sig;
    _exit(42);
}

static int child_main(const char *what)
{
    signal(SIGSEGV, on_segv);
    void *p = NULL;
    if (rsv_vm_reserve(2 * pg(), 0, 0, &p, NULL) != 0) return 2;
    volatile char *c = p;
    if (strcmp(what, "reserved") == 0) {
        c[0] = 1;
    } else if (strcmp(what, "decommitted") == 0) {
        if (rsv_vm_commit(p, 2 * pg()) != 0) return 3;
        c[pg()] = 1;
        if (rsv_vm_decommit((char *)p + pg(), pg()) != 0) return 4;
        c[0] = 1;
        c[pg()] = 1;
    } else if (strcmp(what, "readonly") == 0) {
        if (rsv_vm_commit(p, pg()) != 0) return 3;
        if (rsv_vm_protect(p, pg(), RSV_PROT_READ, NULL) != 0) return 4;
        (void)c[0];
        c[0] = 1;
    }
    return 0; /* no fault: the check fails */
}

static int faults_in_child(const char *self, const char *what)
{
    intptr_t rc = spawn_self(self, "--child", what);
    return rc == 42;
}

/* ---- thread-exit hooks -------------------------------------------------- */

static int exit_order[4], exit_seen;
static void on_exit_hook(void *arg)
{
    if (exit_seen < 4) exit_order[exit_seen] = (int)(intptr_t)arg;
    exit_seen++;
}
static uintptr_t thread_ids[2];

static DWORD WINAPI hook_thread(void *arg)
{
    thread_ids[(intptr_t)arg] = rsvi_os_thread_id();
    if ((intptr_t)arg == 0) {
        for (intptr_t k = 1; k <= 3; k++) rsvi_os_on_thread_exit(on_exit_hook, (void *)k);
    }
    return 0;
}

static void *many_ps[3000];

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0) return child_main(argv[2]);

    CHECK(rsv_vm_page_size() == 4096, "page size 4 KiB");
    CHECK(rsv_vm_granularity() == 64 * KIB, "granularity 64 KiB");

    /* reserve: bad arguments */
    void *p = (void *)0x1234;
    CHECK(rsv_vm_reserve(MIB, 0, 0, NULL, NULL) == EINVAL, "reserve: NULL out");
    CHECK(rsv_vm_reserve(0, 0, 0, &p, NULL) == EINVAL, "reserve: size 0");
    CHECK(rsv_vm_reserve(MIB, 3 * 64 * KIB, 0, &p, NULL) == EINVAL, "reserve: alignment not a power of two");
    CHECK(rsv_vm_reserve(MIB, pg(), 0, &p, NULL) == EINVAL, "reserve: alignment below granularity");
    CHECK(rsv_vm_reserve(MIB, 0, 1u << 7, &p, NULL) == EINVAL, "reserve: unknown flag");
    CHECK(rsv_vm_reserve(SIZE_MAX, 0, 0, &p, NULL) == ENOMEM, "reserve: SIZE_MAX");
    CHECK(p == (void *)0x1234, "reserve: *out untouched on failure");

    /* alignment */
    int aligned_ok = 1;
    for (size_t align = 64 * KIB; align <= ((size_t)1 << 30); align <<= 1) {
        void *q = NULL;
        if (rsv_vm_reserve(3 * pg(), align, 0, &q, NULL) != 0 || (uintptr_t)q % align != 0 ||
            query(q).alloc_size != 64 * KIB || !agrees_with_os(q) || rsv_vm_release(q, 0) != 0)
            aligned_ok = 0;
    }
    CHECK(aligned_ok, "reserve: every power-of-two alignment from 64 KiB to 1 GiB");

    /* the state walk */
    size_t n = 16 * pg();
    char *c = NULL;
    CHECK(rsv_vm_reserve(n, 0, 0, (void **)&c, NULL) == 0, "reserve 64 KiB");
    rsv_vm_info_t i = query(c + pg());
    CHECK(i.state == RSV_VM_RESERVED && i.base == c && i.size == n && i.alloc_base == c &&
          i.alloc_size == n && i.exact == 1, "walk: RESERVED");
    CHECK(agrees_with_os(c + pg()), "walk: VirtualQuery agrees (reserved)");
    CHECK(rsv_vm_commit(c + 2 * pg(), 3 * pg()) == 0, "walk: commit 3 pages");
    i = query(c + 3 * pg() + 17);
    CHECK(i.state == RSV_VM_COMMITTED && i.prot == RSV_PROT_RW && i.base == c + 2 * pg() &&
          i.size == 3 * pg(), "walk: COMMITTED run");
    CHECK(agrees_with_os(c) && agrees_with_os(c + 3 * pg()) && agrees_with_os(c + 6 * pg()),
          "walk: VirtualQuery agrees (committed and around)");
    CHECK(rsv_vm_decommit(c + 2 * pg(), 3 * pg()) == 0, "walk: decommit");
    i = query(c + 3 * pg());
    CHECK(i.state == RSV_VM_RESERVED && i.base == c && i.size == n, "walk: RESERVED again");
    CHECK(agrees_with_os(c + 3 * pg()), "walk: VirtualQuery agrees (decommitted)");
    CHECK(rsv_vm_release(c, n) == 0, "walk: release");
    i = query(c + 3 * pg());
    CHECK(i.state == RSV_VM_FREE && i.alloc_base == NULL, "walk: FREE");

    /* zero after recommit, contents kept by recommit */
    unsigned char *z = NULL;
    CHECK(rsv_vm_reserve(8 * pg(), 0, 0, (void **)&z, NULL) == 0, "reserve for zero test");
    CHECK(rsv_vm_commit(z, 8 * pg()) == 0, "commit 8 pages");
    int zero = 1;
    for (size_t k = 0; k < 8 * pg(); k++) zero &= z[k] == 0;
    CHECK(zero, "fresh pages read zero");
    memset(z, 0x5A, 8 * pg());
    CHECK(rsv_vm_commit(z, 8 * pg()) == 0 && z[8 * pg() - 1] == 0x5A, "recommit keeps contents");
    CHECK(rsv_vm_decommit(z + pg(), 2 * pg()) == 0 && rsv_vm_commit(z + pg(), 2 * pg()) == 0, "decommit+recommit");
    zero = 1;
    for (size_t k = pg(); k < 3 * pg(); k++) zero &= z[k] == 0;
    CHECK(zero && z[0] == 0x5A && z[3 * pg()] == 0x5A, "recommitted pages read zero, neighbours kept");

    /* purge */
    CHECK(rsv_vm_purge(z, 2 * pg()) == 0, "purge committed pages");
    i = query(z);
    CHECK(i.state == RSV_VM_COMMITTED && i.prot == RSV_PROT_RW, "purged pages stay committed");
    CHECK(z[0] == 0x5A || z[0] == 0, "purged contents kept or zero");
    z[0] = 3;
    CHECK(z[0] == 3, "purged pages writable");
    CHECK(rsv_vm_release(z, 0) == 0, "release (size 0)");

    /* protect */
    c = NULL;
    CHECK(rsv_vm_reserve(8 * pg(), 0, 0, (void **)&c, NULL) == 0, "reserve for protect");
    unsigned old = 99;
    CHECK(rsv_vm_protect(c, pg(), RSV_PROT_READ, &old) == EINVAL && old == 99, "protect reserved: EINVAL");
    CHECK(rsv_vm_purge(c, pg()) == EINVAL, "purge reserved: EINVAL");
    CHECK(rsv_vm_commit(c, 4 * pg()) == 0, "commit 4 pages");
    c[pg()] = 42;
    CHECK(rsv_vm_protect(c + pg(), 2 * pg(), RSV_PROT_READ, &old) == 0 && old == RSV_PROT_RW, "protect: old RW");
    i = query(c + 2 * pg());
    CHECK(i.prot == RSV_PROT_READ && i.base == c + pg() && i.size == 2 * pg(), "protect: READ run");
    CHECK(agrees_with_os(c) && agrees_with_os(c + pg()) && agrees_with_os(c + 3 * pg()),
          "protect: VirtualQuery agrees");
    CHECK(rsv_vm_protect(c + 2 * pg(), pg(), RSV_PROT_NONE, &old) == 0 && old == RSV_PROT_READ, "protect: old READ");
    i = query(c + 2 * pg());
    CHECK(i.state == RSV_VM_COMMITTED && i.prot == RSV_PROT_NONE, "no-access pages stay committed");
    CHECK(agrees_with_os(c + 2 * pg()), "no-access: VirtualQuery agrees");
    CHECK(rsv_vm_protect(c, 4 * pg(), RSV_PROT_RW, &old) == 0 && query(c).size == 4 * pg() && c[pg()] == 42,
          "protect back: runs merge, contents kept");
    CHECK(rsv_vm_protect(c, pg(), 8, NULL) == EINVAL, "protect: unknown bit");

    /* bad ranges */
    static char not_ours[1 << 17];
    char *foreign = (char *)(((uintptr_t)not_ours + pg() - 1) & ~(uintptr_t)(pg() - 1));
    char *bad[] = {NULL, c + 1, foreign, c + 64 * KIB, c - pg()};
    int bad_ok = 1;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        bad_ok &= rsv_vm_commit(bad[k], pg()) == EINVAL;
        bad_ok &= rsv_vm_decommit(bad[k], pg()) == EINVAL;
        bad_ok &= rsv_vm_purge(bad[k], pg()) == EINVAL;
        bad_ok &= rsv_vm_protect(bad[k], pg(), RSV_PROT_RW, NULL) == EINVAL;
        bad_ok &= rsv_vm_release(bad[k], 0) == EINVAL;
    }
    CHECK(bad_ok, "NULL, unaligned, foreign and out-of-range addresses: EINVAL everywhere");
    CHECK(rsv_vm_commit(c, 0) == EINVAL && rsv_vm_decommit(c, 0) == EINVAL && rsv_vm_purge(c, 0) == EINVAL &&
          rsv_vm_protect(c, 0, RSV_PROT_RW, NULL) == EINVAL, "size 0: EINVAL");
    CHECK(rsv_vm_commit(c + pg(), 64 * KIB) == EINVAL && rsv_vm_commit(c, SIZE_MAX) == EINVAL,
          "range crossing the reservation's end: EINVAL");
    CHECK(rsv_vm_release(c + pg(), 0) == EINVAL && rsv_vm_release(c, 128 * KIB) == EINVAL &&
          rsv_vm_release(c, 64 * KIB + 1) == EINVAL, "release: not the base or not the size: EINVAL");
    CHECK(rsv_vm_query(c, NULL) == EINVAL, "query: NULL info");
    CHECK(rsv_vm_release(c, 8 * pg()) == 0, "release with the size asked for");
    CHECK(rsv_vm_release(c, 0) == EINVAL, "double release: EINVAL");

    /* outside Reservoir: VirtualQuery is exact */
    static int global_rw = 1;
    i = query(&global_rw);
    CHECK(i.state == RSV_VM_COMMITTED && (i.prot & RSV_PROT_READ) && i.exact == 1, "query a global: exact");

    /* executable */
    void *x = NULL;
    unsigned granted = 0;
    CHECK(rsv_vm_reserve(pg(), 0, RSV_VM_EXECUTABLE, &x, &granted) == 0 && (granted & RSV_VM_EXECUTABLE),
          "executable reservation");
    CHECK(rsv_vm_commit(x, pg()) == 0 && query(x).prot == RSV_PROT_RWX && agrees_with_os(x), "commits RWX");
    CHECK(rsv_vm_release(x, 0) == 0, "release executable");

    /* large pages: Wine rejects MEM_LARGE_PAGES, so this is the fallback */
    void *l = NULL;
    granted = 0;
    CHECK(rsv_vm_reserve(8 * MIB, 0, RSV_VM_LARGE_PAGES, &l, &granted) == 0, "large pages: reserve");
    i = query(l);
    CHECK(i.flags == granted && (i.page_size == pg() || (granted & RSV_VM_LARGE_PAGES)), "large pages: reported as granted");
    if (!(granted & RSV_VM_LARGE_PAGES)) {
        CHECK(rsv_vm_commit(l, pg()) == 0, "large pages fallback: commit works");
        ((char *)l)[0] = 1;
    } else {
        CHECK(i.state == RSV_VM_COMMITTED, "large pages arrive committed");
    }
    CHECK(rsv_vm_release(l, 0) == 0, "large pages: release");

    /* fault injection */
    int inj_ok = 1;
    for (unsigned nth = 1; nth <= 4; nth++) {
        for (int persistent = 0; persistent <= 1; persistent++) {
            char *f = NULL;
            if (rsv_vm_reserve(8 * pg(), 0, 0, (void **)&f, NULL) != 0) { inj_ok = 0; continue; }
            rsvi_fault_set(RSVI_FAULT_COMMIT, nth, persistent);
            for (unsigned call = 1; call <= 6; call++) {
                int fails = persistent ? call >= nth : call == nth;
                inj_ok &= rsv_vm_commit(f + call * pg(), pg()) == (fails ? ENOMEM : 0);
                inj_ok &= query(f + call * pg()).state == (fails ? RSV_VM_RESERVED : RSV_VM_COMMITTED);
                inj_ok &= agrees_with_os(f + call * pg());
            }
            rsvi_fault_clear();
            rsv_vm_commit(f, pg());
            rsvi_fault_set(RSVI_FAULT_PROTECT, nth, persistent);
            for (unsigned call = 1; call <= 6; call++) {
                int fails = persistent ? call >= nth : call == nth;
                unsigned before = query(f).prot, want = call % 2 ? RSV_PROT_READ : RSV_PROT_RW;
                inj_ok &= rsv_vm_protect(f, pg(), want, NULL) == (fails ? ENOMEM : 0);
                inj_ok &= query(f).prot == (fails ? before : want) && agrees_with_os(f);
            }
            rsvi_fault_clear();
            rsvi_fault_set(RSVI_FAULT_RESERVE, nth, persistent);
            size_t live = rsvi_vm_reservations();
            for (unsigned call = 1; call <= 6; call++) {
                int fails = persistent ? call >= nth : call == nth;
                void *r = NULL;
                int e = rsv_vm_reserve(pg(), 0, 0, &r, NULL);
                inj_ok &= e == (fails ? ENOMEM : 0);
                if (!e) inj_ok &= rsv_vm_release(r, 0) == 0;
            }
            inj_ok &= rsvi_vm_reservations() == live;
            rsvi_fault_clear();
            inj_ok &= rsv_vm_release(f, 0) == 0;
        }
    }
    CHECK(inj_ok, "fault injection: nth reserve/commit/protect fails (once and from n on), nothing changes");

    /* thousands of reservations */
    size_t before = rsvi_vm_reservations();
    int many_ok = 1;
    for (int k = 0; k < 3000; k++) many_ok &= rsv_vm_reserve(pg(), 0, 0, &many_ps[k], NULL) == 0;
    many_ok &= rsvi_vm_reservations() == before + 3000;
    for (int k = 0; k < 3000; k += 7) many_ok &= query(many_ps[k]).alloc_base == many_ps[k];
    for (int k = 2999; k >= 0; k--) many_ok &= rsv_vm_release(many_ps[k], pg()) == 0;
    CHECK(many_ok && rsvi_vm_reservations() == before, "3000 reservations recorded and released");

    /* access violations, in a child process each */
    CHECK(faults_in_child(argv[0], "reserved"), "touching a reserved page faults");
    CHECK(faults_in_child(argv[0], "decommitted"), "touching a decommitted page faults");
    CHECK(faults_in_child(argv[0], "readonly"), "writing a read-only page faults");
    CHECK(!faults_in_child(argv[0], "nothing"), "the fault check can fail");

    /* thread services (lib/os/thread_win32.c) */
    HANDLE t = CreateThread(NULL, 0, hook_thread, (void *)0, 0, NULL);
    CHECK(t != NULL && WaitForSingleObject(t, 10000) == WAIT_OBJECT_0, "thread with exit hooks ran");
    if (t) CloseHandle(t);
    CHECK(exit_seen == 3 && exit_order[0] == 3 && exit_order[1] == 2 && exit_order[2] == 1,
          "exit hooks ran at thread exit, in reverse order");
    t = CreateThread(NULL, 0, hook_thread, (void *)1, 0, NULL);
    if (t) { WaitForSingleObject(t, 10000); CloseHandle(t); }
    CHECK(thread_ids[0] != 0 && thread_ids[1] != 0 && rsvi_os_thread_id() != 0 &&
          thread_ids[0] != rsvi_os_thread_id(), "thread ids are non-zero and differ");
    int full = 0;
    for (int k = 0; k <= RSVI_THREAD_EXIT_MAX; k++)
        if (rsvi_os_on_thread_exit(on_exit_hook, (void *)0) == ENOMEM) full = k;
    CHECK(full == RSVI_THREAD_EXIT_MAX, "at most RSVI_THREAD_EXIT_MAX hooks per thread");
    uint64_t t0 = rsvi_os_now_ns();
    Sleep(2);
    CHECK(rsvi_os_now_ns() > t0, "monotonic clock advances");
    CHECK(rsvi_os_atfork(NULL, NULL, NULL) == 0, "atfork is a no-op");
    return tap_done();
}
