// bench/shim.cc — the C shim over Google Benchmark (see shim.h).
//
// Owns: translation between the C calls in shim.h and benchmark::State /
// benchmark::RegisterBenchmark.  Must never: contain benchmark bodies or
// allocator code; everything measured is C.
#include "shim.h"

#include <benchmark/benchmark.h>

#include <cstring>

namespace {
// Set when any benchmark failed (rsvb_skip); rsvb_main's exit status says so.
bool any_error = false;

benchmark::State &S(rsvb_state *st) { return *reinterpret_cast<benchmark::State *>(st); }
const benchmark::State &S(const rsvb_state *st)
{
    return *reinterpret_cast<const benchmark::State *>(st);
}
benchmark::internal::Benchmark *B(rsvb_bench *b)
{
    return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}
rsvb_bench *H(benchmark::internal::Benchmark *b) { return reinterpret_cast<rsvb_bench *>(b); }
}  // namespace

extern "C" {

rsvb_bench *rsvb_register(const char *name, rsvb_fn fn, const void *arg)
{
    return H(benchmark::RegisterBenchmark(name, [fn, arg](benchmark::State &st) {
        fn(reinterpret_cast<rsvb_state *>(&st), arg);
    }));
}

rsvb_bench *rsvb_threads(rsvb_bench *b, int threads) { return H(B(b)->Threads(threads)); }
rsvb_bench *rsvb_iterations(rsvb_bench *b, int64_t n)
{
    return H(B(b)->Iterations(static_cast<benchmark::IterationCount>(n)));
}
rsvb_bench *rsvb_real_time(rsvb_bench *b) { return H(B(b)->UseRealTime()); }
rsvb_bench *rsvb_unit(rsvb_bench *b, char unit)
{
    benchmark::TimeUnit u = benchmark::kNanosecond;
    if (unit == 'u') u = benchmark::kMicrosecond;
    if (unit == 'm') u = benchmark::kMillisecond;
    return H(B(b)->Unit(u));
}

int rsvb_keep_running(rsvb_state *st, int64_t batch)
{
    return S(st).KeepRunningBatch(static_cast<benchmark::IterationCount>(batch)) ? 1 : 0;
}
void rsvb_pause(rsvb_state *st) { S(st).PauseTiming(); }
void rsvb_resume(rsvb_state *st) { S(st).ResumeTiming(); }
void rsvb_skip(rsvb_state *st, const char *msg)
{
    any_error = true;
    S(st).SkipWithError(msg);
}

int rsvb_thread_index(const rsvb_state *st) { return static_cast<int>(S(st).thread_index()); }
int rsvb_thread_count(const rsvb_state *st) { return static_cast<int>(S(st).threads()); }
int64_t rsvb_iterations_done(const rsvb_state *st)
{
    return static_cast<int64_t>(S(st).iterations());
}

void rsvb_counter(rsvb_state *st, const char *name, double value, int flag)
{
    benchmark::Counter::Flags f = benchmark::Counter::kDefaults;
    if (flag == 1) f = benchmark::Counter::kIsRate;
    if (flag == 2) f = benchmark::Counter::kAvgThreads;
    S(st).counters[name] = benchmark::Counter(value, f);
}
void rsvb_label(rsvb_state *st, const char *label) { S(st).SetLabel(label); }

void rsvb_context(const char *key, const char *value) { benchmark::AddCustomContext(key, value); }

int rsvb_main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return any_error ? 3 : 0;
}

}  // extern "C"
