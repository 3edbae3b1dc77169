/* tests/test_vm.c — Criterion suite for the vm layer (reservoir/vm.h):
 * every function, every bad argument, the page-state walk as rsv_vm_query
 * reports it, zero-after-recommit, protection faults, large-page fallback,
 * the fault-injection seam, and the reservation book under load.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "reservoir/vm.h"
#include "test_sanitize.h"
#include "vm_book.h"
#include "test_rng.h"

/* Death tests expect the kernel's SIGSEGV, not ASan's report. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "handle_segv=0"; }

#define MIB ((size_t)1 << 20)

static size_t pg(void) { return rsv_vm_page_size(); }

static void *reserve_or_die(size_t size)
{
    void *p = NULL;
    cr_assert_eq(rsv_vm_reserve(size, 0, 0, &p, NULL), 0);
    cr_assert_not_null(p);
    return p;
}

static rsv_vm_info_t query(const void *p)
{
    rsv_vm_info_t info;
    cr_assert_eq(rsv_vm_query(p, &info), 0);
    return info;
}

Test(vm, page_size_and_granularity, .timeout = 10)
{
    size_t p = rsv_vm_page_size(), g = rsv_vm_granularity();
    cr_assert(p >= 4096 && (p & (p - 1)) == 0);
    cr_assert(g >= p && (g & (g - 1)) == 0);
    cr_assert_eq(g, p, "POSIX reserves at page granularity");
}

Test(vm, reserve_commit_release, .timeout = 10)
{
    void *p = reserve_or_die(MIB);
    cr_assert_eq(rsv_vm_commit(p, 4096), 0);
    cr_assert_eq(((unsigned char *)p)[100], 0);
    memset(p, 0xAB, 4096);
    cr_assert_eq(rsv_vm_release(p, MIB), 0);
}

Test(vm, reserve_bad_arguments, .timeout = 10)
{
    void *p = (void *)0x1234;
    unsigned granted = 77;
    cr_assert_eq(rsv_vm_reserve(MIB, 0, 0, NULL, NULL), EINVAL);
    cr_assert_eq(rsv_vm_reserve(0, 0, 0, &p, &granted), EINVAL);
    cr_assert_eq(rsv_vm_reserve(MIB, 3 * pg(), 0, &p, &granted), EINVAL, "not a power of two");
    cr_assert_eq(rsv_vm_reserve(MIB, pg() / 2, 0, &p, &granted), EINVAL, "below granularity");
    cr_assert_eq(rsv_vm_reserve(MIB, 0, 1u << 7, &p, &granted), EINVAL, "unknown flag");
    cr_assert_eq(rsv_vm_reserve(SIZE_MAX, 0, 0, &p, &granted), ENOMEM);
    cr_assert_eq(rsv_vm_reserve(SIZE_MAX / 2 + 1, 0, 0, &p, &granted), ENOMEM);
    cr_assert_eq(p, (void *)0x1234, "*out untouched on failure");
    cr_assert_eq(granted, 77);
}

Test(vm, reserve_any_power_of_two_alignment, .timeout = 20)
{
    size_t before = rsvi_vm_reservations();
    for (size_t align = pg(); align <= ((size_t)1 << 32); align <<= 1) {
        void *p = NULL;
        cr_assert_eq(rsv_vm_reserve(3 * pg(), align, 0, &p, NULL), 0, "align %zu", align);
        cr_assert_eq((uintptr_t)p % align, 0, "align %zu", align);
        rsv_vm_info_t i = query(p);
        cr_assert_eq(i.alloc_base, p);
        cr_assert_eq(i.alloc_size, 3 * pg());
        /* The trimmed head and tail are really gone: the neighbours are not ours. */
        rsv_vm_info_t after = query((char *)p + 3 * pg());
        cr_assert(after.alloc_base != p);
        cr_assert_eq(rsv_vm_release(p, 0), 0);
    }
    cr_assert_eq(rsvi_vm_reservations(), before);
}

Test(vm, reserve_rounds_size_and_release_takes_it, .timeout = 10)
{
    void *p = reserve_or_die(pg() + 1);
    cr_assert_eq(query(p).alloc_size, 2 * pg());
    cr_assert_eq(rsv_vm_release(p, pg() + 1), 0, "the size asked for is the size");
    p = reserve_or_die(pg() + 1);
    cr_assert_eq(rsv_vm_release(p, 2 * pg()), 0, "the rounded size too");
}

Test(vm, state_walk, .timeout = 10)
{
    size_t n = 16 * pg();
    void *p = reserve_or_die(n);
    char *c = p;

    rsv_vm_info_t i = query(c + pg());
    cr_assert_eq(i.state, RSV_VM_RESERVED);
    cr_assert_eq(i.prot, RSV_PROT_NONE);
    cr_assert_eq(i.base, p);
    cr_assert_eq(i.size, n);
    cr_assert_eq(i.alloc_base, p);
    cr_assert_eq(i.alloc_size, n);
    cr_assert_eq(i.page_size, pg());
    cr_assert_eq(i.exact, 1);

    cr_assert_eq(rsv_vm_commit(c + 2 * pg(), 3 * pg()), 0);
    i = query(c + 3 * pg() + 17);
    cr_assert_eq(i.state, RSV_VM_COMMITTED);
    cr_assert_eq(i.prot, RSV_PROT_RW);
    cr_assert_eq(i.base, c + 2 * pg());
    cr_assert_eq(i.size, 3 * pg());
    i = query(c);
    cr_assert_eq(i.state, RSV_VM_RESERVED);
    cr_assert_eq(i.base, c);
    cr_assert_eq(i.size, 2 * pg());
    i = query(c + 5 * pg());
    cr_assert_eq(i.state, RSV_VM_RESERVED);
    cr_assert_eq(i.base, c + 5 * pg());
    cr_assert_eq(i.size, n - 5 * pg());

    cr_assert_eq(rsv_vm_decommit(c + 2 * pg(), 3 * pg()), 0);
    i = query(c + 3 * pg());
    cr_assert_eq(i.state, RSV_VM_RESERVED);
    cr_assert_eq(i.base, p);
    cr_assert_eq(i.size, n);

    cr_assert_eq(rsv_vm_release(p, n), 0);
    i = query(c + 3 * pg());
    cr_assert_eq(i.state, RSV_VM_FREE);
    cr_assert_eq(i.exact, 0, "outside Reservoir's reservations: best effort");
    cr_assert_null(i.alloc_base);
}

Test(vm, zero_after_recommit, .timeout = 10)
{
    size_t n = 8 * pg();
    unsigned char *p = reserve_or_die(n);
    cr_assert_eq(rsv_vm_commit(p, n), 0);
    for (size_t k = 0; k < n; k++) cr_assert_eq(p[k], 0);
    memset(p, 0x5A, n);
    cr_assert_eq(rsv_vm_commit(p, n), 0, "recommitting committed pages");
    cr_assert_eq(p[n - 1], 0x5A, "keeps their contents");
    cr_assert_eq(rsv_vm_decommit(p + pg(), 2 * pg()), 0);
    cr_assert_eq(rsv_vm_commit(p + pg(), 2 * pg()), 0);
    for (size_t k = pg(); k < 3 * pg(); k++) cr_assert_eq(p[k], 0, "byte %zu", k);
    cr_assert_eq(p[0], 0x5A, "pages around the decommit keep their data");
    cr_assert_eq(p[3 * pg()], 0x5A);
    cr_assert_eq(rsv_vm_release(p, 0), 0);
}

Test(vm, commit_rounds_to_pages, .timeout = 10)
{
    char *p = reserve_or_die(4 * pg());
    cr_assert_eq(rsv_vm_commit(p, 1), 0);
    cr_assert_eq(query(p).size, pg());
    cr_assert_eq(rsv_vm_commit(p + pg(), pg() + 1), 0);
    rsv_vm_info_t i = query(p);
    cr_assert_eq(i.size, 3 * pg(), "adjacent runs merge");
    cr_assert_eq(rsv_vm_release(p, 0), 0);
}

Test(vm, decommitted_page_faults, .timeout = 10, .signal = SIGSEGV)
{
    volatile char *p = reserve_or_die(2 * pg());
    cr_assert_eq(rsv_vm_commit((void *)p, 2 * pg()), 0);
    p[pg()] = 1;
    cr_assert_eq(rsv_vm_decommit((char *)p + pg(), pg()), 0);
    p[0] = 1; /* still committed */
    p[pg()] = 1;
}

Test(vm, reserved_page_faults, .timeout = 10, .signal = SIGSEGV)
{
    volatile char *p = reserve_or_die(pg());
    p[0] = 1;
}

Test(vm, purge, .timeout = 10)
{
    unsigned char *p = reserve_or_die(4 * pg());
    cr_assert_eq(rsv_vm_purge(p, pg()), EINVAL, "reserved pages cannot be purged");
    cr_assert_eq(rsv_vm_commit(p, 2 * pg()), 0);
    memset(p, 0x77, 2 * pg());
    cr_assert_eq(rsv_vm_purge(p, 2 * pg()), 0);
    rsv_vm_info_t i = query(p);
    cr_assert_eq(i.state, RSV_VM_COMMITTED);
    cr_assert_eq(i.prot, RSV_PROT_RW);
    cr_assert(p[10] == 0x77 || p[10] == 0, "contents kept or zero");
    p[10] = 3; /* still writable */
    cr_assert_eq(p[10], 3);
    cr_assert_eq(rsv_vm_purge(p, 3 * pg()), EINVAL, "range runs into reserved pages");
    cr_assert_eq(rsv_vm_release(p, 0), 0);
}

Test(vm, protect_returns_old_protection, .timeout = 10)
{
    char *p = reserve_or_die(8 * pg());
    unsigned old = 99;
    cr_assert_eq(rsv_vm_protect(p, pg(), RSV_PROT_READ, &old), EINVAL, "reserved");
    cr_assert_eq(old, 99);
    cr_assert_eq(rsv_vm_commit(p, 4 * pg()), 0);
    p[pg()] = 42;
    cr_assert_eq(rsv_vm_protect(p + pg(), 2 * pg(), RSV_PROT_READ, &old), 0);
    cr_assert_eq(old, RSV_PROT_RW);
    cr_assert_eq(p[pg()], 42, "still readable");

    rsv_vm_info_t i = query(p);
    cr_assert_eq(i.state, RSV_VM_COMMITTED);
    cr_assert_eq(i.prot, RSV_PROT_RW);
    cr_assert_eq(i.size, pg());
    i = query(p + 2 * pg());
    cr_assert_eq(i.prot, RSV_PROT_READ);
    cr_assert_eq(i.base, p + pg());
    cr_assert_eq(i.size, 2 * pg());
    i = query(p + 3 * pg());
    cr_assert_eq(i.prot, RSV_PROT_RW);
    cr_assert_eq(i.size, pg());

    cr_assert_eq(rsv_vm_protect(p + 2 * pg(), pg(), RSV_PROT_NONE, &old), 0);
    cr_assert_eq(old, RSV_PROT_READ);
    i = query(p + 2 * pg());
    cr_assert_eq(i.state, RSV_VM_COMMITTED, "no-access but still committed");
    cr_assert_eq(i.prot, RSV_PROT_NONE);

    cr_assert_eq(rsv_vm_protect(p, 4 * pg(), RSV_PROT_RW, &old), 0);
    cr_assert_eq(old, RSV_PROT_RW);
    i = query(p);
    cr_assert_eq(i.size, 4 * pg(), "runs merge back into one");
    cr_assert_eq(p[pg()], 42, "protection changes keep contents");
    cr_assert_eq(rsv_vm_protect(p, 5 * pg(), RSV_PROT_RW, NULL), EINVAL, "runs into reserved");
    cr_assert_eq(rsv_vm_protect(p, pg(), 8, NULL), EINVAL, "unknown protection bit");
    cr_assert_eq(rsv_vm_release(p, 0), 0);
}

Test(vm, write_to_read_only_faults, .timeout = 10, .signal = SIGSEGV)
{
    volatile char *p = reserve_or_die(pg());
    cr_assert_eq(rsv_vm_commit((void *)p, pg()), 0);
    cr_assert_eq(rsv_vm_protect((void *)p, pg(), RSV_PROT_READ, NULL), 0);
    (void)p[0];
    p[0] = 1;
}

Test(vm, executable_reservation, .timeout = 10)
{
    void *p = NULL;
    unsigned granted = 0;
    cr_assert_eq(rsv_vm_reserve(pg(), 0, RSV_VM_EXECUTABLE, &p, &granted), 0);
    cr_assert(granted & RSV_VM_EXECUTABLE);
    cr_assert_eq(rsv_vm_commit(p, pg()), 0);
    rsv_vm_info_t i = query(p);
    cr_assert_eq(i.prot, RSV_PROT_RWX);
    cr_assert(i.flags & RSV_VM_EXECUTABLE);
    cr_assert_eq(rsv_vm_release(p, 0), 0);
}

/* Every range function refuses what is not inside one of its reservations. */
Test(vm, range_bad_arguments, .timeout = 10)
{
    size_t n = 4 * pg();
    char *p = reserve_or_die(n);
    static char not_ours[1 << 16];
    char *foreign = (char *)(((uintptr_t)not_ours + pg() - 1) & ~(uintptr_t)(pg() - 1));
    char *bad[] = {NULL, p + 1, foreign, p + n, p - pg()};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cr_assert_eq(rsv_vm_commit(bad[k], pg()), EINVAL, "commit #%zu", k);
        cr_assert_eq(rsv_vm_decommit(bad[k], pg()), EINVAL, "decommit #%zu", k);
        cr_assert_eq(rsv_vm_purge(bad[k], pg()), EINVAL, "purge #%zu", k);
        cr_assert_eq(rsv_vm_protect(bad[k], pg(), RSV_PROT_RW, NULL), EINVAL, "protect #%zu", k);
        cr_assert_eq(rsv_vm_release(bad[k], 0), EINVAL, "release #%zu", k);
    }
    /* size 0, crossing the end, overflowing */
    cr_assert_eq(rsv_vm_commit(p, 0), EINVAL);
    cr_assert_eq(rsv_vm_commit(p + pg(), n), EINVAL);
    cr_assert_eq(rsv_vm_commit(p, SIZE_MAX), EINVAL);
    cr_assert_eq(rsv_vm_decommit(p, 0), EINVAL);
    cr_assert_eq(rsv_vm_decommit(p + pg(), n), EINVAL);
    cr_assert_eq(rsv_vm_purge(p, 0), EINVAL);
    cr_assert_eq(rsv_vm_protect(p, 0, RSV_PROT_RW, NULL), EINVAL);
    cr_assert_eq(rsv_vm_protect(p, SIZE_MAX - pg(), RSV_PROT_RW, NULL), EINVAL);
    /* release: not the base, wrong size */
    cr_assert_eq(rsv_vm_release(p + pg(), 0), EINVAL);
    cr_assert_eq(rsv_vm_release(p, n + pg()), EINVAL);
    cr_assert_eq(rsv_vm_release(p, pg()), EINVAL);
    cr_assert_eq(rsv_vm_query(p, NULL), EINVAL);
    /* nothing above changed the reservation */
    rsv_vm_info_t i = query(p);
    cr_assert_eq(i.state, RSV_VM_RESERVED);
    cr_assert_eq(i.size, n);
    cr_assert_eq(rsv_vm_release(p, n), 0);
    cr_assert_eq(rsv_vm_release(p, n), EINVAL, "double release");
    cr_assert_eq(rsv_vm_commit(p, pg()), EINVAL, "use after release");
}

/* Two reservations that touch: a range must not run from one into the other. */
Test(vm, range_crossing_into_neighbour, .timeout = 10)
{
    char *a = NULL;
    void *b = NULL;
    cr_assert_eq(rsv_vm_reserve(4 * pg(), 0, 0, (void **)&a, NULL), 0);
    /* Ask for the pages just above a; only test when the kernel agrees. */
    for (int tries = 0; tries < 8 && b != a + 4 * pg(); tries++) {
        if (b) cr_assert_eq(rsv_vm_release(b, 0), 0);
        b = NULL;
        cr_assert_eq(rsv_vm_reserve(4 * pg(), 0, 0, &b, NULL), 0);
        if ((char *)b + 4 * pg() == a) break; /* below a works as well */
    }
    char *lo = (char *)b < a ? (char *)b : a;
    if ((char *)b + 4 * pg() == a || b == a + 4 * pg()) {
        cr_assert_eq(rsv_vm_commit(lo + 3 * pg(), 2 * pg()), EINVAL);
        cr_assert_eq(query(lo + 3 * pg()).state, RSV_VM_RESERVED);
        cr_assert_eq(query(lo + 4 * pg()).state, RSV_VM_RESERVED);
        cr_assert_eq(rsv_vm_commit(lo + 3 * pg(), pg()), 0);
        cr_assert_eq(rsv_vm_commit(lo + 4 * pg(), pg()), 0);
        rsv_vm_info_t i = query(lo + 3 * pg());
        cr_assert_eq(i.size, pg(), "runs never merge across reservations");
        cr_assert_eq(query(lo + 4 * pg()).size, pg());
        cr_assert_eq(query(lo + 4 * pg()).base, lo + 4 * pg());
    }
    cr_assert_eq(rsv_vm_release(a, 0), 0);
    cr_assert_eq(rsv_vm_release(b, 0), 0);
}

/* The validator accepts the book as the vm keeps it and rejects it broken. */
Test(vm, book_validator, .timeout = 10)
{
    char *p = reserve_or_die(8 * pg());
    cr_assert_eq(rsv_vm_commit(p, 2 * pg()), 0);
    cr_assert_eq(rsv_vm_protect(p + pg(), pg(), RSV_PROT_READ, NULL), 0);
    cr_assert_eq(rsvi_vm_validate(), 0);

    rsvi_vmb_lock();
    rsvi_vmb_node_t *r = (rsvi_vmb_node_t *)rsvi_vmb_find((uintptr_t)p);
    cr_assert_not_null(r);
    uintptr_t end = r->end;
    r->end = r->start; /* an empty reservation */
    int broken = rsvi_vmb_validate();
    r->end = end;
    int mended = rsvi_vmb_validate();
    rsvi_vmb_unlock();
    cr_assert_eq(broken, EFAULT);
    cr_assert_eq(mended, 0);

    /* Runs must be aligned to their reservation's unit. */
    rsvi_vmb_lock();
    size_t unit = r->unit;
    r->unit = (size_t)2 << 20;
    int misaligned = rsvi_vmb_validate();
    r->unit = unit;
    rsvi_vmb_unlock();
    cr_assert_eq(misaligned, EFAULT);
    cr_assert_eq(rsv_vm_release(p, 0), 0);
    cr_assert_eq(rsvi_vm_validate(), 0);
}

Test(vm, lookup_ownership, .timeout = 10)
{
    char *p = reserve_or_die(4 * pg());
    void *base = NULL;
    size_t size = 0;
    cr_assert_eq(rsvi_vm_lookup(p + 3 * pg() + 5, &base, &size), 1);
    cr_assert_eq(base, p);
    cr_assert_eq(size, 4 * pg());
    cr_assert_eq(rsvi_vm_lookup(p + 4 * pg(), NULL, NULL), 0, "one past the end");
    cr_assert_eq(rsvi_vm_lookup(&base, NULL, NULL), 0, "the stack is not ours");
    cr_assert_eq(rsvi_vm_lookup(NULL, NULL, NULL), 0);
    cr_assert_eq(rsv_vm_release(p, 0), 0);
    cr_assert_eq(rsvi_vm_lookup(p, NULL, NULL), 0, "released");
}

Test(vm, query_outside_reservations, .timeout = 10)
{
    static int global_rw = 1;
    rsv_vm_info_t i = query(&global_rw);
    cr_assert_eq(i.exact, 0);
    cr_assert_eq(i.state, RSV_VM_COMMITTED);
    cr_assert(i.prot & RSV_PROT_READ);
    cr_assert((uintptr_t)&global_rw - (uintptr_t)i.base < i.size);
    i = query((void *)query);
    cr_assert_eq(i.state, RSV_VM_COMMITTED);
    cr_assert(i.prot & RSV_PROT_EXEC, "code is executable");
    i = query(NULL);
    cr_assert_eq(i.state, RSV_VM_FREE, "page zero is never mapped");
    cr_assert_eq(i.exact, 0);
}

Test(vm, large_pages_fall_back, .timeout = 20)
{
    size_t n = 8 * MIB;
    unsigned granted = 0;
    void *p = NULL;
    cr_assert_eq(rsv_vm_reserve(n, 0, RSV_VM_LARGE_PAGES, &p, &granted), 0);
    rsv_vm_info_t i = query(p);
    cr_assert_eq(i.flags, granted, "query reports what reserve granted");
    cr_assert(i.page_size == pg() || i.page_size == 2 * MIB);
    if (i.page_size == 2 * MIB) cr_assert(granted & RSV_VM_LARGE_PAGES);
    cr_assert_eq(rsv_vm_commit(p, i.page_size), 0);
    memset(p, 1, i.page_size);
    cr_assert_eq(((char *)p)[i.page_size - 1], 1);
    cr_assert_eq(rsv_vm_release(p, n), 0);

    /* Too small for a large page: always the fallback, and it still works. */
    cr_assert_eq(rsv_vm_reserve(pg(), 0, RSV_VM_LARGE_PAGES, &p, &granted), 0);
    cr_assert_eq(granted & RSV_VM_LARGE_PAGES, 0);
    cr_assert_eq(query(p).page_size, pg());
    cr_assert_eq(rsv_vm_commit(p, pg()), 0);
    cr_assert_eq(rsv_vm_release(p, 0), 0);
}

Test(vm, fault_injection_reserve_commit_decommit_protect, .timeout = 20)
{
    for (unsigned nth = 1; nth <= 4; nth++) {
        for (int persistent = 0; persistent <= 1; persistent++) {
            char *p = reserve_or_die(8 * pg());
            cr_assert_eq(rsv_vm_commit(p, pg()), 0);

            rsvi_fault_set(RSVI_FAULT_COMMIT, nth, persistent);
            for (unsigned call = 1; call <= 6; call++) {
                char *at = p + call * pg();
                int fails = persistent ? call >= nth : call == nth;
                cr_assert_eq(rsv_vm_commit(at, pg()), fails ? ENOMEM : 0, "commit %u/%u", call, nth);
                rsv_vm_info_t i = query(at);
                cr_assert_eq(i.state, fails ? RSV_VM_RESERVED : RSV_VM_COMMITTED);
            }
            cr_assert_eq(rsvi_fault_calls(RSVI_FAULT_COMMIT), 6);
            rsvi_fault_clear();

            rsvi_fault_set(RSVI_FAULT_DECOMMIT, nth, persistent);
            for (unsigned call = 1; call <= 6; call++) {
                char *at = p + call * pg();
                rsv_vm_info_t was = query(at);
                int fails = persistent ? call >= nth : call == nth;
                cr_assert_eq(rsv_vm_decommit(at, pg()), fails ? ENOMEM : 0, "decommit %u/%u", call, nth);
                cr_assert_eq(query(at).state, fails ? was.state : RSV_VM_RESERVED);
            }
            rsvi_fault_clear();

            rsvi_fault_set(RSVI_FAULT_PROTECT, nth, persistent);
            for (unsigned call = 1; call <= 6; call++) {
                unsigned old = 0;
                int fails = persistent ? call >= nth : call == nth;
                unsigned before = query(p).prot;
                unsigned want = call % 2 ? RSV_PROT_READ : RSV_PROT_RW;
                cr_assert_eq(rsv_vm_protect(p, pg(), want, &old), fails ? ENOMEM : 0);
                cr_assert_eq(query(p).prot, fails ? before : want);
            }
            rsvi_fault_clear();

            rsvi_fault_set(RSVI_FAULT_RESERVE, nth, persistent);
            size_t live = rsvi_vm_reservations();
            void *got[6];
            for (unsigned call = 1; call <= 6; call++) {
                int fails = persistent ? call >= nth : call == nth;
                got[call - 1] = (void *)0x1;
                cr_assert_eq(rsv_vm_reserve(pg(), 0, 0, &got[call - 1], NULL), fails ? ENOMEM : 0);
                if (fails) cr_assert_eq(got[call - 1], (void *)0x1);
                else live++;
            }
            cr_assert_eq(rsvi_vm_reservations(), live, "failed reserves leave no record");
            rsvi_fault_clear();
            for (unsigned call = 0; call < 6; call++)
                if (got[call] != (void *)0x1) cr_assert_eq(rsv_vm_release(got[call], 0), 0);
            cr_assert_eq(rsv_vm_release(p, 0), 0);
        }
    }
}

/* The book against a page-by-page model: random commit / decommit /
 * protect, then every page's state, protection and maximal run checked. */
Test(vm, runs_match_a_model, .timeout = 60)
{
    enum { PAGES = 96 };
    int model[PAGES]; /* -1 reserved, else RSV_PROT_* of a committed page */
    char *p = reserve_or_die(PAGES * pg());
    uint64_t seed = 0x9E3779B97F4A7C15u;
    for (int k = 0; k < PAGES; k++) model[k] = -1;
    const int steps = RSV_TEST_SLOW ? 500 : 3000;
    for (int step = 0; step < steps; step++) {
        int a = (int)(test_rng_next(&seed) % PAGES);
        int n = 1 + (int)(test_rng_next(&seed) % 8);
        if (a + n > PAGES) n = PAGES - a;
        int op = (int)(test_rng_next(&seed) % 3);
        if (op == 0) {
            cr_assert_eq(rsv_vm_commit(p + a * pg(), n * pg()), 0);
            for (int k = a; k < a + n; k++) model[k] = RSV_PROT_RW;
        } else if (op == 1) {
            cr_assert_eq(rsv_vm_decommit(p + a * pg(), n * pg()), 0);
            for (int k = a; k < a + n; k++) model[k] = -1;
        } else {
            static const unsigned prots[] = {RSV_PROT_NONE, RSV_PROT_READ, RSV_PROT_RW};
            unsigned prot = prots[test_rng_next(&seed) % 3];
            int all = 1;
            for (int k = a; k < a + n; k++) all &= model[k] >= 0;
            unsigned old = 99;
            int e = rsv_vm_protect(p + a * pg(), n * pg(), prot, &old);
            cr_assert_eq(e, all ? 0 : EINVAL);
            if (all) {
                cr_assert_eq(old, (unsigned)model[a]);
                for (int k = a; k < a + n; k++) model[k] = (int)prot;
            }
        }
        for (int k = 0; k < PAGES; k++) {
            rsv_vm_info_t i = query(p + k * pg());
            int lo = k, hi = k + 1;
            while (lo > 0 && model[lo - 1] == model[k]) lo--;
            while (hi < PAGES && model[hi] == model[k]) hi++;
            cr_assert_eq(i.state, model[k] < 0 ? RSV_VM_RESERVED : RSV_VM_COMMITTED, "step %d page %d", step, k);
            cr_assert_eq(i.prot, model[k] < 0 ? 0u : (unsigned)model[k], "step %d page %d", step, k);
            cr_assert_eq(i.base, p + lo * pg(), "step %d page %d", step, k);
            cr_assert_eq(i.size, (size_t)(hi - lo) * pg(), "step %d page %d", step, k);
        }
    }
    size_t runs_before = rsvi_vm_runs();
    cr_assert_eq(rsv_vm_release(p, 0), 0);
    cr_assert(rsvi_vm_runs() <= runs_before);
}

Test(vm, thousands_of_reservations, .timeout = 60)
{
    enum { N = 5000 };
    static void *ps[N];
    size_t before = rsvi_vm_reservations();
    for (int k = 0; k < N; k++) {
        cr_assert_eq(rsv_vm_reserve(2 * pg(), 0, 0, &ps[k], NULL), 0);
        if (k % 2) cr_assert_eq(rsv_vm_commit(ps[k], pg()), 0);
    }
    cr_assert_eq(rsvi_vm_reservations(), before + N);
    for (int k = 0; k < N; k++) {
        rsv_vm_info_t i = query((char *)ps[k] + pg());
        cr_assert_eq(i.alloc_base, ps[k]);
        cr_assert_eq(i.state, RSV_VM_RESERVED);
        cr_assert_eq(query(ps[k]).state, k % 2 ? RSV_VM_COMMITTED : RSV_VM_RESERVED);
    }
    uint64_t seed = 12345;
    for (int k = N - 1; k > 0; k--) { /* release in random order */
        int j = (int)(test_rng_next(&seed) % (uint64_t)(k + 1));
        void *t = ps[k]; ps[k] = ps[j]; ps[j] = t;
    }
    for (int k = 0; k < N; k++) cr_assert_eq(rsv_vm_release(ps[k], 2 * pg()), 0);
    cr_assert_eq(rsvi_vm_reservations(), before);
}

static void *vm_thread(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 7919 + 1;
    for (int k = 0; k < 2000; k++) {
        void *p = NULL;
        size_t pages = 1 + test_rng_next(&seed) % 8;
        if (rsv_vm_reserve(pages * rsv_vm_page_size(), 0, 0, &p, NULL) != 0) return (void *)1;
        if (rsv_vm_commit(p, rsv_vm_page_size()) != 0) return (void *)2;
        *(volatile char *)p = 1;
        rsv_vm_info_t i;
        if (rsv_vm_query(p, &i) != 0 || i.state != RSV_VM_COMMITTED || i.alloc_base != p) return (void *)3;
        if (rsv_vm_release(p, 0) != 0) return (void *)4;
    }
    return NULL;
}

Test(vm, concurrent_reserve_commit_release, .timeout = 60)
{
    pthread_t t[4];
    size_t before = rsvi_vm_reservations();
    for (uintptr_t k = 0; k < 4; k++) cr_assert_eq(pthread_create(&t[k], NULL, vm_thread, (void *)k), 0);
    for (int k = 0; k < 4; k++) {
        void *r = (void *)9;
        cr_assert_eq(pthread_join(t[k], &r), 0);
        cr_assert_null(r, "thread %d failed at step %p", k, r);
    }
    cr_assert_eq(rsvi_vm_reservations(), before);
}
