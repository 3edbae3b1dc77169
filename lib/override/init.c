/* lib/override/init.c — start-up and exit hooks of the malloc override:
 * makes the default heap exist before main, installs the error handler that
 * counts (and, when asked, prints) what the heap reports, and prints the
 * RSV_VERBOSE statistics at exit.
 *
 * Must never: be needed for correctness — malloc works before these hooks
 * run (the dynamic loader and other libraries' constructors allocate first;
 * the heap initialises itself on first use) — nor allocate or use stdio.
 */
#include <stdatomic.h>

#include "internal.h"
#include "override.h"

static atomic_size_t ovr_errors;
static atomic_int ovr_print_errors;

size_t rsvi_override_error_count(void)
{
    return atomic_load_explicit(&ovr_errors, memory_order_relaxed);
}

/* Runs on the heap's failure paths with its locks held: counts, and writes
 * one line with a single write(2) when RSV_VERBOSE or RSV_DEBUG is set. */
static void ovr_on_error(void *user, int code, const char *message)
{
    (void)user;
    atomic_fetch_add_explicit(&ovr_errors, 1, memory_order_relaxed);
    if (atomic_load_explicit(&ovr_print_errors, memory_order_relaxed)) rsv_error_to_stderr(NULL, code, message);
}

/* Runs with the other constructors of the preloaded library (or of the
 * program, for the static override), before main and before any thread the
 * program starts itself.  An error handler someone installed first (the
 * debug layer, a program linking the static override) is kept. */
__attribute__((constructor)) static void ovr_init(void)
{
    rsvi_override_start();
    const rsvi_env_t *env = rsvi_env();
    atomic_store(&ovr_print_errors, env->verbose || env->debug != 0);
    rsv_error_handler_t mine = {ovr_on_error, NULL};
    rsv_error_handler_t prev = rsv_set_error_handler(mine);
    if (prev.fn) (void)rsv_set_error_handler(prev);
    (void)rsv_heap_default();
}

/* Runs at normal exit, after the program's atexit handlers and its own
 * destructors (the preloaded library was initialised before them). */
__attribute__((destructor)) static void ovr_fini(void)
{
    if (rsvi_env()->verbose) rsvi_override_print_stats("at exit");
}
