/* bench/shim.h — Google Benchmark seen from C: registration, the timing
 * loop, pause/resume and counters.  Implemented by shim.cc, the only C++
 * file of the harness; every benchmark body is C.
 *
 * Owns: the C names of the few Google Benchmark facilities the suite uses.
 * Must never: hold benchmark logic, or expose a C++ type to C.
 */
#ifndef RSVB_SHIM_H
#define RSVB_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rsvb_state rsvb_state;  /* a benchmark::State */
typedef struct rsvb_bench rsvb_bench;  /* a benchmark::internal::Benchmark */

/* A benchmark body.  `arg` is the pointer given at registration; it must
 * outlive the run (use static data). */
typedef void (*rsvb_fn)(rsvb_state *st, const void *arg);

/* Registers `fn` under `name` (copied).  Returns a handle for the setters
 * below; never NULL (Google Benchmark aborts on allocation failure). */
rsvb_bench *rsvb_register(const char *name, rsvb_fn fn, const void *arg);
/* Setters; each returns b so calls can be chained. */
rsvb_bench *rsvb_threads(rsvb_bench *b, int threads);      /* Threads(n) */
rsvb_bench *rsvb_iterations(rsvb_bench *b, int64_t n);     /* fixed count */
rsvb_bench *rsvb_real_time(rsvb_bench *b);                 /* UseRealTime */
rsvb_bench *rsvb_unit(rsvb_bench *b, char unit);           /* 'n','u','m' */

/* The timing loop.  Returns non-zero while the body should run `batch`
 * more operations; iterations are counted in operations, so the reported
 * time is per operation.  Typical use:
 *     while (rsvb_keep_running(st, n)) { ...n operations... }          */
int rsvb_keep_running(rsvb_state *st, int64_t batch);
void rsvb_pause(rsvb_state *st);   /* PauseTiming: excludes setup */
void rsvb_resume(rsvb_state *st);  /* ResumeTiming */
/* Marks the run as failed with `msg` (static); the body must then leave its
 * loop (rsvb_keep_running returns 0). */
void rsvb_skip(rsvb_state *st, const char *msg);

int rsvb_thread_index(const rsvb_state *st);
int rsvb_thread_count(const rsvb_state *st);
int64_t rsvb_iterations_done(const rsvb_state *st);

/* A user counter reported as is (flag 0) or as a rate per second
 * (flag 1), or averaged over threads (flag 2). */
void rsvb_counter(rsvb_state *st, const char *name, double value, int flag);
void rsvb_label(rsvb_state *st, const char *label);

/* Adds key: value to the run's context (printed and in the JSON). */
void rsvb_context(const char *key, const char *value);

/* Initialize (parses --benchmark_* flags), run, shut down.  Returns the
 * process exit status: 0, 1 for bad arguments, 3 when a benchmark failed
 * (rsvb_skip; the output says which). */
int rsvb_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* RSVB_SHIM_H */
