/* tests/win/test_region.c — regions in the Windows build (TAP under Wine):
 * the checks of tests/test_region.c except the /proc/self/maps count, with
 * VirtualQuery (through rsvi_os_query) confirming the committed prefix and
 * a child process for the guard-page access violation.
 */
#include <errno.h>
#include <process.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"
#include "reservoir/region.h"
#include "reservoir/vm.h"
#include "spawn.h"
#include "tap.h"
#include "vm_witness.h"
#include "../test_rng.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

static int err_calls, err_code;
static const char *err_msg;
static void on_error(void *user, int code, const char *message)
{
    (void)user;
    err_calls++;
    err_code = code;
    err_msg = message;
}

/* The committed prefix as VirtualQuery sees it. */
static size_t committed_by_os(const rsv_region_t *r)
{
    return witness_extent(r->base, r->base + r->reserved, RSV_VM_COMMITTED, RSV_PROT_RW);
}

static void on_segv(int sig)
{
    (void)sig;
    _exit(42);
}

static int child_main(void)
{
    signal(SIGSEGV, on_segv);
    rsv_region_t r;
    rsv_region_opts_t o = {64 * KIB, 0, 0, 0, RSV_REGION_GUARD};
    if (rsv_region_init(&r, &o) != 0 || rsv_region_commit_to(&r, r.usable) != 0) return 2;
    volatile char *end = r.base + r.usable;
    end[-1] = 1;
    end[0] = 1; /* the overrun */
    return 0;
}

static int make(rsv_region_t *r, size_t reserve, size_t step, size_t retain, unsigned flags)
{
    rsv_region_opts_t o = {reserve, step, retain, 0, flags};
    return rsv_region_init(r, &o);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--child") == 0) return child_main();
    rsv_set_error_handler((rsv_error_handler_t){on_error, NULL});
    rsv_region_t r;

    /* defaults */
    CHECK(rsv_region_init(&r, NULL) == 0, "init with defaults");
    CHECK(r.reserved == ((size_t)64 << 30) && r.usable == r.reserved && r.step == 64 * KIB &&
          r.retain == 64 * KIB && r.committed == 0 && (uintptr_t)r.base % (64 * KIB) == 0,
          "64 GiB reserved, 64 KiB steps, nothing committed");
    rsv_region_release(&r);
    CHECK(r.base == NULL && r.reserved == 0, "release zeroes the region");
    rsv_region_release(&r);

    /* bad options */
    rsv_region_opts_t bad = {MIB, 0, 0, 3 * 64 * KIB, 0};
    err_calls = 0;
    CHECK(rsv_region_init(&r, &bad) == EINVAL && r.base == NULL && err_calls == 1, "alignment 3*64K: EINVAL, reported");
    bad = (rsv_region_opts_t){SIZE_MAX, 0, 0, 0, 0};
    CHECK(rsv_region_init(&r, &bad) == ENOMEM, "reserve SIZE_MAX: ENOMEM");
    bad = (rsv_region_opts_t){MIB, 0, 0, 0, 1u << 9};
    CHECK(rsv_region_init(&r, &bad) == EINVAL, "unknown flag: EINVAL");

    /* commit rounding (reservations are whole 64 KiB units on Windows) */
    CHECK(make(&r, 100 * KIB, 64 * KIB, 0, 0) == 0, "region of 100 KiB");
    CHECK(r.usable == 128 * KIB, "rounded up to the granularity");
    CHECK(rsv_region_commit_to(&r, 1) == 0 && r.committed == 64 * KIB && committed_by_os(&r) == 64 * KIB,
          "commit_to(1) commits one step");
    CHECK(rsv_region_commit_to(&r, 64 * KIB) == 0 && r.commits == 1, "already committed: no OS call");
    CHECK(rsv_region_commit_to(&r, 64 * KIB + 1) == 0 && r.committed == 128 * KIB, "next step");
    err_calls = 0;
    CHECK(rsv_region_commit_to(&r, 128 * KIB + 1) == ENOMEM && err_calls == 1 && r.committed == 128 * KIB,
          "past usable: ENOMEM, reported, unchanged");
    rsv_region_release(&r);

    /* retention */
    CHECK(make(&r, 4 * MIB, 64 * KIB, 128 * KIB, 0) == 0, "region with 128 KiB retention");
    CHECK(rsv_region_commit_to(&r, MIB) == 0, "commit 1 MiB");
    memset(r.base, 0x11, r.committed);
    CHECK(rsv_region_decommit_from(&r, 100 * KIB) == 0 && r.committed == 228 * KIB && r.decommits == 1,
          "decommit_from(100K) keeps 100K + 128K");
    CHECK(committed_by_os(&r) == 228 * KIB, "VirtualQuery agrees");
    CHECK((unsigned char)r.base[228 * KIB - 1] == 0x11, "retained bytes keep their data");
    CHECK(rsv_region_commit_to(&r, MIB) == 0 && r.base[228 * KIB] == 0, "decommitted bytes come back zero");
    rsv_region_stats_t s;
    rsv_region_stats(&r, &s);
    CHECK(s.reserved == r.reserved && s.committed == MIB && s.peak == MIB && s.commits == 2 && s.decommits == 1,
          "stats");
    rsv_region_release(&r);

    /* guard page */
    CHECK(make(&r, MIB, 64 * KIB, 0, RSV_REGION_GUARD) == 0, "region with a guard page");
    CHECK(r.usable >= MIB && r.reserved >= r.usable + 4096, "guard outside the usable part");
    CHECK(rsv_region_commit_to(&r, r.usable) == 0 && rsv_region_commit_to(&r, r.usable + 1) == ENOMEM,
          "commit stops before the guard");
    rsv_vm_info_t gi;
    CHECK(rsv_vm_query(r.base + r.usable, &gi) == 0 && gi.state == RSV_VM_RESERVED, "guard page is reserved");
    rsv_region_release(&r);
    intptr_t rc = spawn_self(argv[0], "--child", NULL);
    CHECK(rc == 42, "running into the guard page faults (child exit %d)", (int)rc);

    /* large pages fall back (Wine rejects MEM_LARGE_PAGES; regions never use them on Windows) */
    CHECK(make(&r, 16 * MIB, 0, 0, RSV_REGION_LARGE_PAGES) == 0 && !(r.flags & RSV_REGION_LARGE_PAGES),
          "large pages: fallback reported");
    CHECK(rsv_region_commit_to(&r, 3 * MIB) == 0, "large pages fallback: commit works");
    memset(r.base, 7, 3 * MIB);
    rsv_region_release(&r);

    /* fault injection */
    err_calls = 0;
    rsvi_fault_set(RSVI_FAULT_RESERVE, 1, 0);
    CHECK(rsv_region_init(&r, NULL) == ENOMEM && r.base == NULL && err_calls == 1 &&
          strcmp(err_msg, "region: reserve failed") == 0, "failed reserve: ENOMEM, reported");
    rsvi_fault_clear();
    int inj_ok = 1;
    for (unsigned nth = 1; nth <= 6; nth++) {
        for (int persistent = 0; persistent <= 1; persistent++) {
            if (make(&r, MIB, 64 * KIB, 0, 0) != 0) { inj_ok = 0; continue; }
            err_calls = 0;
            int failures = 0;
            rsvi_fault_set(RSVI_FAULT_COMMIT, nth, persistent);
            for (unsigned call = 1; call <= 8; call++) {
                rsv_region_t before = r;
                int fails = persistent ? call >= nth : call == nth;
                int e = rsv_region_commit_to(&r, r.committed + 1);
                inj_ok &= e == (fails ? ENOMEM : 0);
                if (fails) {
                    failures++;
                    inj_ok &= memcmp(&before, &r, sizeof r) == 0 && err_calls == failures && err_code == ENOMEM;
                } else {
                    inj_ok &= r.committed == before.committed + 64 * KIB;
                }
                inj_ok &= committed_by_os(&r) == r.committed;
            }
            rsvi_fault_clear();
            inj_ok &= rsv_region_commit_to(&r, 512 * KIB) == 0;
            memset(r.base, 3, 512 * KIB);
            inj_ok &= rsv_region_decommit_from(&r, 0) == 0;
            rsv_region_release(&r);
        }
    }
    CHECK(inj_ok, "nth commit fails (once / from n on): region unchanged, ENOMEM reported, still usable");
    int dec_ok = 1;
    for (unsigned nth = 1; nth <= 3; nth++) {
        for (int persistent = 0; persistent <= 1; persistent++) {
            if (make(&r, 4 * MIB, 64 * KIB, 64 * KIB, 0) != 0 || rsv_region_commit_to(&r, 4 * MIB) != 0) {
                dec_ok = 0;
                continue;
            }
            rsvi_fault_set(RSVI_FAULT_DECOMMIT, nth, persistent);
            for (unsigned call = 1; call <= 4; call++) {
                rsv_region_t before = r;
                int fails = persistent ? call >= nth : call == nth;
                size_t to = 4 * MIB - call * 512 * KIB;
                dec_ok &= rsv_region_decommit_from(&r, to) == (fails ? ENOMEM : 0);
                dec_ok &= fails ? memcmp(&before, &r, sizeof r) == 0 : r.committed == to + 64 * KIB;
                dec_ok &= committed_by_os(&r) == r.committed;
            }
            rsvi_fault_clear();
            dec_ok &= rsv_region_decommit_from(&r, 0) == 0 && r.committed == 64 * KIB;
            rsv_region_release(&r);
        }
    }
    CHECK(dec_ok, "nth decommit fails (once / from n on): region unchanged, still usable");

    /* a long random history stays one committed prefix */
    CHECK(make(&r, 64 * MIB, 64 * KIB, 64 * KIB, RSV_REGION_GUARD) == 0, "region for the random walk");
    uint64_t seed = 0xC0FFEE;
    int walk_ok = 1;
    for (int k = 0; k < 5000; k++) {
        test_rng_next(&seed);
        size_t off = (size_t)(seed % (r.usable / 4096)) * 4096;
        if (k % 3 == 2) off %= 4 * MIB;
        walk_ok &= ((seed >> 40) & 1) ? rsv_region_commit_to(&r, off) == 0 : rsv_region_decommit_from(&r, off) == 0;
    }
    walk_ok &= committed_by_os(&r) == r.committed;
    walk_ok &= witness_extent(r.base + r.committed, r.base + r.reserved, RSV_VM_RESERVED, RSV_PROT_NONE) ==
               r.reserved - r.committed;
    walk_ok &= agrees_with_os(r.base) && agrees_with_os(r.base + r.committed);
    CHECK(walk_ok, "after 5000 random steps: committed prefix then reserved, as VirtualQuery reports");
    rsv_region_release(&r);
    return tap_done();
}
