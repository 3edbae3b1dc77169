/* tests/test_region.c — Criterion suite for regions (reservoir/region.h):
 * defaults and bad options, commit rounding to the step, retention, the
 * guard page, stats, fault injection with the region unchanged after each
 * failure, and the two-mapping bound checked in /proc/self/maps.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "reservoir/region.h"
#include "reservoir/vm.h"
#include "test_rng.h"

const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "handle_segv=0"; }

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

static size_t pg(void) { return rsv_vm_page_size(); }

/* Records what the error handler saw. */
static int err_calls, err_code;
static const char *err_msg;
static void on_error(void *user, int code, const char *message)
{
    (void)user;
    err_calls++;
    err_code = code;
    err_msg = message;
}
static void watch_errors(void)
{
    err_calls = err_code = 0;
    err_msg = NULL;
    rsv_set_error_handler((rsv_error_handler_t){on_error, NULL});
}

static rsv_region_t make(size_t reserve, size_t step, size_t retain, unsigned flags)
{
    rsv_region_t r;
    rsv_region_opts_t o = {reserve, step, retain, 0, flags};
    cr_assert_eq(rsv_region_init(&r, &o), 0);
    return r;
}

/* The committed prefix as rsv_vm_query sees it. */
static size_t committed_by_query(const rsv_region_t *r)
{
    rsv_vm_info_t i;
    cr_assert_eq(rsv_vm_query(r->base, &i), 0);
    if (i.state != RSV_VM_COMMITTED) return 0;
    cr_assert_eq(i.base, r->base);
    return i.size;
}

Test(region, defaults, .timeout = 10)
{
    rsv_region_t r;
    cr_assert_eq(rsv_region_init(&r, NULL), 0);
    cr_assert_not_null(r.base);
    cr_assert_eq(r.reserved, sizeof(void *) == 8 ? (size_t)64 << 30 : (size_t)256 << 20);
    cr_assert_eq(r.usable, r.reserved);
    cr_assert_eq(r.step, 64 * KIB);
    cr_assert_eq(r.retain, 64 * KIB);
    cr_assert_eq(r.committed, 0);
    cr_assert_eq(r.page, pg());
    cr_assert_eq((uintptr_t)r.base % rsv_vm_granularity(), 0);
    rsv_vm_info_t i;
    cr_assert_eq(rsv_vm_query(r.base + r.reserved - 1, &i), 0);
    cr_assert_eq(i.state, RSV_VM_RESERVED);
    cr_assert_eq(i.alloc_base, r.base);
    cr_assert_eq(i.alloc_size, r.reserved);
    rsv_region_release(&r);
    cr_assert_null(r.base);
    cr_assert_eq(r.reserved, 0);
    rsv_region_release(&r); /* safe on a zeroed region */
    rsv_region_release(NULL);
}

Test(region, bad_options, .timeout = 10)
{
    rsv_region_t r;
    memset(&r, 0xEE, sizeof r);
    watch_errors();
    rsv_region_opts_t o = {MIB, 0, 0, 3 * pg(), 0};
    cr_assert_eq(rsv_region_init(&r, &o), EINVAL);
    cr_assert_null(r.base, "zeroed on failure");
    cr_assert_eq(err_calls, 1);
    cr_assert_eq(err_code, EINVAL);
    o = (rsv_region_opts_t){MIB, 0, 0, 0, 1u << 9};
    cr_assert_eq(rsv_region_init(&r, &o), EINVAL, "unknown flag");
    o = (rsv_region_opts_t){SIZE_MAX, 0, 0, 0, 0};
    cr_assert_eq(rsv_region_init(&r, &o), ENOMEM);
    o = (rsv_region_opts_t){MIB, SIZE_MAX, 0, 0, 0};
    cr_assert_eq(rsv_region_init(&r, &o), ENOMEM);
    cr_assert_eq(rsv_region_init(NULL, NULL), EINVAL);
    cr_assert_eq(err_calls, 5, "one message per failure");
    cr_assert_eq(r.reserved, 0);
}

Test(region, alignment_option, .timeout = 10)
{
    rsv_region_t r;
    rsv_region_opts_t o = {MIB, 0, 0, 64 * MIB, 0};
    cr_assert_eq(rsv_region_init(&r, &o), 0);
    cr_assert_eq((uintptr_t)r.base % (64 * MIB), 0);
    rsv_region_release(&r);
}

Test(region, contains_and_executable, .timeout = 10)
{
    rsv_region_t r = make(MIB, 0, 0, RSV_REGION_EXECUTABLE | RSV_REGION_GUARD);
    cr_assert(rsv_region_contains(&r, r.base));
    cr_assert(rsv_region_contains(&r, r.base + r.reserved - 1), "the guard page is the region's");
    cr_assert(!rsv_region_contains(&r, r.base + r.reserved));
    cr_assert(!rsv_region_contains(&r, r.base - 1));
    cr_assert(!rsv_region_contains(&r, NULL));
    cr_assert_eq(rsv_region_commit_to(&r, 1), 0);
    rsv_vm_info_t i;
    cr_assert_eq(rsv_vm_query(r.base, &i), 0);
    cr_assert_eq(i.prot, RSV_PROT_RWX, "executable regions commit RWX");
    cr_assert(r.flags & RSV_REGION_EXECUTABLE);
    rsv_region_release(&r);
    cr_assert(!rsv_region_contains(&r, NULL), "a released region contains nothing");
}

Test(region, commit_rounds_to_the_step, .timeout = 10)
{
    rsv_region_t r = make(100 * KIB + 1, 64 * KIB, 0, 0);
    size_t usable = (100 * KIB + 1 + pg() - 1) & ~(pg() - 1);
    cr_assert_eq(r.usable, usable);
    cr_assert_eq(rsv_region_commit_to(&r, 0), 0);
    cr_assert_eq(r.committed, 0);
    cr_assert_eq(rsv_region_commit_to(&r, 1), 0);
    cr_assert_eq(r.committed, 64 * KIB);
    cr_assert_eq(committed_by_query(&r), 64 * KIB);
    cr_assert_eq(r.commits, 1);
    cr_assert_eq(rsv_region_commit_to(&r, 64 * KIB), 0);
    cr_assert_eq(r.commits, 1, "already committed: no OS call");
    cr_assert_eq(rsv_region_commit_to(&r, 64 * KIB + 1), 0);
    cr_assert_eq(r.committed, usable, "clamped to usable, never past it");
    cr_assert_eq(committed_by_query(&r), usable);
    watch_errors();
    cr_assert_eq(rsv_region_commit_to(&r, usable + 1), ENOMEM);
    cr_assert_eq(err_calls, 1);
    cr_assert_eq(r.committed, usable);
    memset(r.base, 0xAB, r.committed);
    rsv_region_release(&r);
}

Test(region, commit_steps_count_from_base, .timeout = 10)
{
    rsv_region_t r = make(MIB, 64 * KIB, 4 * KIB, 0);
    cr_assert_eq(rsv_region_commit_to(&r, 200 * KIB), 0);
    cr_assert_eq(r.committed, 256 * KIB);
    cr_assert_eq(rsv_region_decommit_from(&r, 10 * KIB), 0);
    cr_assert_eq(r.committed, 16 * KIB, "10 KiB + 4 KiB retained, in pages");
    cr_assert_eq(rsv_region_commit_to(&r, 17 * KIB), 0);
    cr_assert_eq(r.committed, 64 * KIB, "back on a step boundary");
    rsv_region_release(&r);
}

Test(region, retention, .timeout = 10)
{
    rsv_region_t r = make(4 * MIB, 64 * KIB, 128 * KIB, 0);
    cr_assert_eq(rsv_region_commit_to(&r, MIB), 0);
    memset(r.base, 0x11, r.committed);
    cr_assert_eq(rsv_region_decommit_from(&r, MIB), 0);
    cr_assert_eq(r.committed, MIB, "nothing past the end to give back");
    cr_assert_eq(r.decommits, 0);
    cr_assert_eq(rsv_region_decommit_from(&r, 100 * KIB), 0);
    size_t keep = 228 * KIB; /* 100 KiB + 128 KiB */
    cr_assert_eq(r.committed, keep);
    cr_assert_eq(r.decommits, 1);
    cr_assert_eq(committed_by_query(&r), keep);
    rsv_vm_info_t i;
    cr_assert_eq(rsv_vm_query(r.base + keep, &i), 0);
    cr_assert_eq(i.state, RSV_VM_RESERVED);
    cr_assert_eq((unsigned char)r.base[keep - 1], 0x11, "retained bytes keep their data");
    cr_assert_eq(rsv_region_decommit_from(&r, 150 * KIB), 0);
    cr_assert_eq(r.committed, keep, "growing the end by decommit does nothing");
    cr_assert_eq(rsv_region_commit_to(&r, MIB), 0);
    cr_assert_eq((unsigned char)r.base[keep], 0, "decommitted bytes come back zero");
    cr_assert_eq((unsigned char)r.base[keep - 1], 0x11);
    cr_assert_eq(rsv_region_decommit_from(&r, 0), 0);
    cr_assert_eq(r.committed, 128 * KIB);
    cr_assert_eq(r.peak, MIB);

    rsv_region_stats_t s;
    rsv_region_stats(&r, &s);
    cr_assert_eq(s.reserved, r.reserved);
    cr_assert_eq(s.committed, 128 * KIB);
    cr_assert_eq(s.peak, MIB);
    cr_assert_eq(s.commits, 2);
    cr_assert_eq(s.decommits, 2);
    rsv_region_release(&r);
}

Test(region, guard_page_is_never_committed, .timeout = 10)
{
    rsv_region_t r = make(MIB, 64 * KIB, 0, RSV_REGION_GUARD);
    cr_assert_eq(r.usable, MIB);
    cr_assert_eq(r.reserved, MIB + pg());
    cr_assert_eq(rsv_region_commit_to(&r, r.usable), 0);
    cr_assert_eq(r.committed, r.usable);
    cr_assert_eq(rsv_region_commit_to(&r, r.usable + 1), ENOMEM);
    rsv_vm_info_t i;
    cr_assert_eq(rsv_vm_query(r.base + r.usable, &i), 0);
    cr_assert_eq(i.state, RSV_VM_RESERVED);
    cr_assert_eq(i.size, pg());
    rsv_region_release(&r);
}

Test(region, guard_page_faults, .timeout = 10, .signal = SIGSEGV)
{
    rsv_region_t r = make(64 * KIB, 0, 0, RSV_REGION_GUARD);
    cr_assert_eq(rsv_region_commit_to(&r, r.usable), 0);
    volatile char *end = r.base + r.usable;
    end[-1] = 1;
    end[0] = 1; /* the overrun */
}

Test(region, large_pages_fall_back, .timeout = 20)
{
    rsv_region_t r = make(16 * MIB, 0, 0, RSV_REGION_LARGE_PAGES | RSV_REGION_GUARD);
    cr_assert(r.usable >= 16 * MIB);
    cr_assert(r.page == pg() || (r.flags & RSV_REGION_LARGE_PAGES), "hard large pages are reported");
    cr_assert_eq(r.step % r.page, 0);
    cr_assert_eq(rsv_region_commit_to(&r, 3 * MIB), 0);
    memset(r.base, 7, 3 * MIB);
    cr_assert_eq(rsv_region_decommit_from(&r, 0), 0);
    cr_assert(r.committed <= r.retain);
    cr_assert_eq(rsv_region_commit_to(&r, 3 * MIB), 0);
    cr_assert_eq(r.base[3 * MIB - 1], 0);
    rsv_region_release(&r);
}

Test(region, failed_reserve_reports, .timeout = 10)
{
    rsv_region_t r;
    watch_errors();
    rsvi_fault_set(RSVI_FAULT_RESERVE, 1, 0);
    cr_assert_eq(rsv_region_init(&r, NULL), ENOMEM);
    rsvi_fault_clear();
    cr_assert_null(r.base);
    cr_assert_eq(err_calls, 1);
    cr_assert_eq(err_code, ENOMEM);
    cr_assert_str_eq(err_msg, "region: reserve failed");
}

/* Fails the nth commit (once, or from n on) while growing a region step by
 * step; after every failure the region must be bit-for-bit as before, the
 * handler called once with ENOMEM, and the region still usable. */
Test(region, fault_injection_commit, .timeout = 30)
{
    for (unsigned nth = 1; nth <= 6; nth++) {
        for (int persistent = 0; persistent <= 1; persistent++) {
            rsv_region_t r = make(MIB, 64 * KIB, 0, 0);
            watch_errors();
            rsvi_fault_set(RSVI_FAULT_COMMIT, nth, persistent);
            int failures = 0;
            for (unsigned call = 1; call <= 8; call++) {
                rsv_region_t before = r;
                int fails = persistent ? call >= nth : call == nth;
                int e = rsv_region_commit_to(&r, r.committed + 1);
                cr_assert_eq(e, fails ? ENOMEM : 0, "n=%u persistent=%d call=%u", nth, persistent, call);
                if (fails) {
                    failures++;
                    cr_assert(memcmp(&before, &r, sizeof r) == 0, "region unchanged");
                    cr_assert_eq(err_calls, failures);
                    cr_assert_eq(err_code, ENOMEM);
                    cr_assert_str_eq(err_msg, "region: commit failed");
                } else {
                    cr_assert_eq(r.committed, before.committed + 64 * KIB);
                    cr_assert_eq(r.commits, before.commits + 1);
                }
                cr_assert_eq(committed_by_query(&r), r.committed, "the OS agrees");
                if (r.committed) r.base[r.committed - 1] = 1;
            }
            rsvi_fault_clear();
            /* still usable */
            cr_assert_eq(rsv_region_commit_to(&r, r.committed + 1), 0);
            cr_assert_eq(rsv_region_decommit_from(&r, 0), 0);
            cr_assert_eq(rsv_region_commit_to(&r, 512 * KIB), 0);
            memset(r.base, 3, 512 * KIB);
            rsv_region_release(&r);
        }
    }
}

Test(region, fault_injection_decommit, .timeout = 30)
{
    for (unsigned nth = 1; nth <= 3; nth++) {
        for (int persistent = 0; persistent <= 1; persistent++) {
            rsv_region_t r = make(4 * MIB, 64 * KIB, 64 * KIB, 0);
            cr_assert_eq(rsv_region_commit_to(&r, 4 * MIB), 0);
            memset(r.base, 0x42, r.committed);
            watch_errors();
            rsvi_fault_set(RSVI_FAULT_DECOMMIT, nth, persistent);
            for (unsigned call = 1; call <= 4; call++) {
                rsv_region_t before = r;
                int fails = persistent ? call >= nth : call == nth;
                size_t to = 4 * MIB - call * 512 * KIB;
                int e = rsv_region_decommit_from(&r, to);
                cr_assert_eq(e, fails ? ENOMEM : 0, "n=%u persistent=%d call=%u", nth, persistent, call);
                if (fails) {
                    cr_assert(memcmp(&before, &r, sizeof r) == 0, "region unchanged");
                    cr_assert_eq(err_code, ENOMEM);
                    cr_assert_str_eq(err_msg, "region: decommit failed");
                } else {
                    cr_assert_eq(r.committed, to + 64 * KIB);
                }
                cr_assert_eq(committed_by_query(&r), r.committed);
                cr_assert_eq((unsigned char)r.base[r.committed - 1], 0x42, "kept pages keep their data");
            }
            rsvi_fault_clear();
            cr_assert_eq(rsv_region_decommit_from(&r, 0), 0, "still usable");
            cr_assert_eq(r.committed, 64 * KIB);
            rsv_region_release(&r);
        }
    }
}

/* Lines of /proc/self/maps that overlap [lo, hi). */
static int maps_lines_in(const void *lo, const void *hi)
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long s, e;
        if (sscanf(line, "%llx-%llx", &s, &e) != 2) continue;
        if (s < (uintptr_t)hi && e > (uintptr_t)lo) n++;
    }
    fclose(f);
    return n;
}

/* DESIGN decision 1: whatever its history, a region is at most two kernel
 * mappings (committed prefix, reserved rest). */
Test(region, at_most_two_mappings, .timeout = 120)
{
    rsv_region_t r = make(256 * MIB, pg(), pg(), RSV_REGION_GUARD);
    uint64_t seed = 0xC0FFEE;
    const int steps = 100000; /* fast even under sanitizers (~1 s) */
    int max_lines = 0;
    for (int k = 0; k < steps; k++) {
        size_t off = (size_t)(test_rng_next(&seed) % (r.usable / pg())) * pg();
        if (k % 3 == 2) off %= 4 * MIB; /* keep some small so shrinking happens */
        if (test_rng_next(&seed) & 1) cr_assert_eq(rsv_region_commit_to(&r, off), 0);
        else cr_assert_eq(rsv_region_decommit_from(&r, off), 0);
        if (k % 10000 == 0) {
            int lines = maps_lines_in(r.base, r.base + r.reserved);
            if (lines > max_lines) max_lines = lines;
        }
    }
    int lines = maps_lines_in(r.base, r.base + r.reserved);
    cr_assert(lines >= 1 && lines <= 2, "region spans %d mappings", lines);
    cr_assert(max_lines <= 2, "region spanned %d mappings on the way", max_lines);
    cr_assert_eq(committed_by_query(&r), r.committed);
    cr_assert(r.commits > 1000 && r.decommits > 1000);
    char *base = r.base;
    size_t reserved = r.reserved;
    rsv_region_release(&r);
    cr_assert_eq(maps_lines_in(base, base + reserved), 0);
}
