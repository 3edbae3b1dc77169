/* tests/test_core.c — Criterion suite for the core services under every
 * layer: the error handler (lib/error.c), the environment parsing
 * (lib/env.c) and the POSIX thread services (lib/os/thread_posix.c). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os/thread.h"
#include "reservoir/region.h"

static int seen_calls, seen_code;
static const char *seen_msg;
static void *seen_user;
static void record(void *user, int code, const char *message)
{
    seen_calls++;
    seen_user = user;
    seen_code = code;
    seen_msg = message;
}

Test(core, handler_gets_code_and_message_on_failed_commit, .timeout = 10)
{
    int tag;
    rsv_error_handler_t old = rsv_set_error_handler((rsv_error_handler_t){record, &tag});
    cr_assert_null(old.fn, "the default handler is none");
    rsv_region_t r;
    cr_assert_eq(rsv_region_init(&r, &(rsv_region_opts_t){.reserve = 1 << 20}), 0);
    rsvi_fault_set(RSVI_FAULT_COMMIT, 1, 0);
    cr_assert_eq(rsv_region_commit_to(&r, 1), ENOMEM);
    rsvi_fault_clear();
    cr_assert_eq(seen_calls, 1);
    cr_assert_eq(seen_code, ENOMEM);
    cr_assert_eq(seen_user, &tag);
    cr_assert_str_eq(seen_msg, "region: commit failed");
    rsv_region_release(&r);

    rsv_error_handler_t mine = rsv_set_error_handler(old);
    cr_assert_eq(mine.fn, record);
    cr_assert_eq(mine.user, &tag);
    rsvi_error(EINVAL, "ignored");
    cr_assert_eq(seen_calls, 1, "uninstalled handlers are not called");
}

Test(core, stderr_handler_writes_one_line, .timeout = 10)
{
    cr_redirect_stderr();
    rsv_error_to_stderr(NULL, ENOMEM, "region: commit failed");
    fflush(stderr);
    char want[64];
    snprintf(want, sizeof want, "reservoir: error: region: commit failed (code %d)\n", ENOMEM);
    cr_assert_stderr_eq_str(want);
}

Test(core, fatal_aborts_with_message, .timeout = 10, .signal = SIGABRT)
{
    rsvi_fatal("test death");
}

Test(core, parse_debug_words, .timeout = 10)
{
    cr_assert_eq(rsvi_env_parse_debug(NULL), 0);
    cr_assert_eq(rsvi_env_parse_debug(""), 0);
    cr_assert_eq(rsvi_env_parse_debug("fill"), RSVI_DBG_FILL);
    cr_assert_eq(rsvi_env_parse_debug("fill,canary"), RSVI_DBG_FILL | RSVI_DBG_CANARY);
    cr_assert_eq(rsvi_env_parse_debug("leaks:quarantine guard"),
                 RSVI_DBG_LEAKS | RSVI_DBG_QUARANTINE | RSVI_DBG_GUARD);
    cr_assert_eq(rsvi_env_parse_debug("guard_under"), RSVI_DBG_GUARD | RSVI_DBG_GUARD_UNDER);
    cr_assert_eq(rsvi_env_parse_debug("all"), RSVI_DBG_ALL);
    cr_assert_eq(rsvi_env_parse_debug("1"), RSVI_DBG_ALL);
    cr_assert_eq(rsvi_env_parse_debug("bogus,fill,fil,fillx"), RSVI_DBG_FILL, "unknown words ignored");
    cr_assert_eq(rsvi_env_parse_debug("oom_abort,backtrace,"), RSVI_DBG_OOM_ABORT | RSVI_DBG_BACKTRACE);
}

Test(core, parse_size, .timeout = 10)
{
    cr_assert_eq(rsvi_env_parse_size("0"), 0);
    cr_assert_eq(rsvi_env_parse_size("123"), 123);
    cr_assert_eq(rsvi_env_parse_size("64k"), 64u << 10);
    cr_assert_eq(rsvi_env_parse_size("64K"), 64u << 10);
    cr_assert_eq(rsvi_env_parse_size("2m"), 2u << 20);
    cr_assert_eq(rsvi_env_parse_size("2MB"), 2u << 20);
    cr_assert_eq(rsvi_env_parse_size("1g"), (size_t)1 << 30);
    cr_assert_eq(rsvi_env_parse_size("3t"), (size_t)3 << 40);
    cr_assert_eq(rsvi_env_parse_size(NULL), 0);
    cr_assert_eq(rsvi_env_parse_size(""), 0);
    cr_assert_eq(rsvi_env_parse_size("k"), 0);
    cr_assert_eq(rsvi_env_parse_size("-1"), 0);
    cr_assert_eq(rsvi_env_parse_size("12x"), 0);
    cr_assert_eq(rsvi_env_parse_size("1mm"), 0);
    cr_assert_eq(rsvi_env_parse_size("99999999999999999999999"), 0, "overflow");
    cr_assert_eq(rsvi_env_parse_size("17179869184g"), 0, "overflow in the suffix");
}

/* rsvi_env reads the environment once, at first call (each Criterion test
 * runs in its own process, so this one sees the values it sets). */
Test(core, env_read_once, .timeout = 10)
{
    cr_assert_eq(setenv("RSV_DEBUG", "fill,leaks", 1), 0);
    cr_assert_eq(setenv("RSV_RESERVE", "1g", 1), 0);
    cr_assert_eq(setenv("RSV_PURGE_DELAY", "0", 1), 0);
    cr_assert_eq(setenv("RSV_VERBOSE", "1", 1), 0);
    cr_assert_eq(setenv("RSV_LARGE_PAGES", "0", 1), 0);
    const rsvi_env_t *e = rsvi_env();
    cr_assert_eq(e->debug, RSVI_DBG_FILL | RSVI_DBG_LEAKS);
    cr_assert_eq(e->reserve, (size_t)1 << 30);
    cr_assert_eq(e->purge_delay_ms, 0);
    cr_assert_eq(e->verbose, 1);
    cr_assert_eq(e->large_pages, 0);
    cr_assert_eq(setenv("RSV_DEBUG", "all", 1), 0);
    cr_assert_eq(rsvi_env()->debug, RSVI_DBG_FILL | RSVI_DBG_LEAKS, "parsed once");
}

Test(core, env_unset_defaults, .timeout = 10)
{
    unsetenv("RSV_DEBUG");
    unsetenv("RSV_RESERVE");
    unsetenv("RSV_PURGE_DELAY");
    unsetenv("RSV_VERBOSE");
    unsetenv("RSV_LARGE_PAGES");
    const rsvi_env_t *e = rsvi_env();
    cr_assert_eq(e->debug, 0);
    cr_assert_eq(e->reserve, 0);
    cr_assert_eq(e->purge_delay_ms, -1);
    cr_assert_eq(e->verbose, 0);
}

/* ---- thread services (lib/os/thread_posix.c) ----------------------------- */

static int hook_order[RSVI_THREAD_EXIT_MAX + 2];
static int hook_seen;
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static void hook(void *arg)
{
    pthread_mutex_lock(&hook_lock);
    if (hook_seen < (int)(sizeof hook_order / sizeof hook_order[0])) hook_order[hook_seen] = (int)(intptr_t)arg;
    hook_seen++;
    pthread_mutex_unlock(&hook_lock);
}

static uintptr_t other_id;
static void *hook_thread(void *arg)
{
    other_id = rsvi_os_thread_id();
    int full_at = -1;
    for (int k = 1; k <= RSVI_THREAD_EXIT_MAX + 1; k++)
        if (rsvi_os_on_thread_exit(hook, (void *)(intptr_t)k) == ENOMEM && full_at < 0) full_at = k;
    return (void *)(intptr_t)full_at;
}

Test(core, thread_exit_hooks_run_in_reverse, .timeout = 10)
{
    pthread_t t;
    void *full_at = NULL;
    cr_assert_eq(pthread_create(&t, NULL, hook_thread, NULL), 0);
    cr_assert_eq(pthread_join(t, &full_at), 0);
    cr_assert_eq((intptr_t)full_at, RSVI_THREAD_EXIT_MAX + 1, "registration past the limit: ENOMEM");
    cr_assert_eq(hook_seen, RSVI_THREAD_EXIT_MAX, "every registered hook ran once at exit");
    for (int k = 0; k < RSVI_THREAD_EXIT_MAX; k++)
        cr_assert_eq(hook_order[k], RSVI_THREAD_EXIT_MAX - k, "reverse order");
    cr_assert_neq(other_id, 0);
    cr_assert_neq(rsvi_os_thread_id(), 0);
    cr_assert_neq(other_id, rsvi_os_thread_id());
    cr_assert_eq(rsvi_os_thread_id(), rsvi_os_thread_id(), "stable within a thread");
}

Test(core, clock_and_yield, .timeout = 10)
{
    uint64_t a = rsvi_os_now_ns();
    rsvi_os_yield();
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    uint64_t b = rsvi_os_now_ns();
    cr_assert(a > 0 && b >= a + 1000000, "monotonic, in nanoseconds (%llu -> %llu)",
              (unsigned long long)a, (unsigned long long)b);
}

static int fork_prepared, fork_in_parent;
static void on_prepare(void) { fork_prepared++; }
static void on_parent(void) { fork_in_parent++; }

Test(core, atfork_hooks, .timeout = 10)
{
    cr_assert_eq(rsvi_os_atfork(on_prepare, on_parent, NULL), 0);
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    cr_assert(pid > 0);
    int status = 1;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert_eq(fork_prepared, 1);
    cr_assert_eq(fork_in_parent, 1);
}
