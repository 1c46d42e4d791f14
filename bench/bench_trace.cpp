// Trace front end throughput: lines per second on one core, parsing + validating a generated
// 10-million-line ftrace text of lock events (the trace is written at bench time into
// $TMPDIR, never committed), and peak memory. The generated trace mimics a lockdep kernel's:
// many tasks and idle tasks, ~400 classes with several instances each, nesting up to 4 deep in
// one global order, lock_acquired after most acquisitions, contention events, hardirq and
// softirq sections on top of tasks, irqs-off sections, read acquisitions.
//
//   bench_trace                                  # generates (once) and measures 10M lines
//   LOCKHOUND_BENCH_TRACE_LINES=1000000 bench_trace
//   LOCKHOUND_BENCH_TRACE_FILE=/path/to/trace.txt bench_trace   # measure a given trace
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "trace/line_reader.h"
#include "trace/trace_analyzer.h"
#include "trace/trace_parser.h"

namespace {

using namespace lockhound::trace;

uint64_t env_u64(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : def;
}

// Writes a clean synthetic trace of about `lines` lines; returns its path.
std::string generate(uint64_t lines) {
  if (const char* f = std::getenv("LOCKHOUND_BENCH_TRACE_FILE")) return f;
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/lockhound_bench_trace_" +
                     std::to_string(lines) + ".txt";
  if (std::filesystem::exists(path) && std::filesystem::file_size(path) > lines * 40) return path;
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (!out) return {};
  std::setvbuf(out, nullptr, _IOFBF, 1 << 20);
  std::fputs(
      "# tracer: nop\n#\n"
      "#                                _-----=> irqs-off/BH-disabled\n"
      "#                               / _----=> need-resched\n"
      "#                              | / _---=> hardirq/softirq\n"
      "#                              || / _--=> preempt-depth\n"
      "#                              ||| / _-=> migrate-disable\n"
      "#                              |||| /     delay\n"
      "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
      "#              | |         |   |||||     |         |\n",
      out);
  std::mt19937_64 rng(42);
  constexpr int kClasses = 400, kIrqClasses = 48, kInstances = 6, kTasks = 160, kCpus = 8;
  auto addr = [](int cls, int inst) {
    return 0xff11000000000000ull + uint64_t(cls) * 0x1000 + uint64_t(inst) * 0x40;
  };
  uint64_t written = 10, ts = 1000000;
  char line[256];
  auto emit = [&](const char* comm, int pid, int cpu, const char* flags, const char* ev,
                  uint64_t a, const char* pre, int cls) {
    ts += 1 + rng() % 3;
    int n = std::snprintf(line, sizeof line, "%16s-%-7d [%03d] %s %6llu.%06llu: %s: %016llx %s&bench_class_%d->lock\n",
                          comm, pid, cpu, flags, (unsigned long long)(ts / 1000000),
                          (unsigned long long)(ts % 1000000), ev, (unsigned long long)a, pre, cls);
    std::fwrite(line, 1, size_t(n), out);
    ++written;
  };
  // A kernel runs a finite set of code paths; each path is a nest of 1..4 classes in one global
  // order (a clean trace) in one kind of context. Tasks run random paths on random instances.
  struct Path {
    int depth;
    int cls[4];
    int ctx;  // 0 irqs on, 1 irqs off, 2 softirq, 3 hardirq
    bool read;
  };
  std::vector<Path> paths(3000);
  for (auto& p : paths) {
    uint64_t k = rng() % 100;
    p.ctx = k < 8 ? 3 : k < 16 ? 2 : k < 40 ? 1 : 0;
    p.read = rng() % 10 == 0;
    p.depth = p.ctx == 3 ? 1 : 1 + int(rng() % 4);
    // Irq and softirq paths use classes of their own, never taken with those enabled.
    int base = p.ctx == 3 ? kClasses : p.ctx == 2 ? kClasses + kIrqClasses : int(rng() % (kClasses - 40));
    for (int i = 0; i < p.depth; ++i) {
      base += 1 + int(rng() % (p.ctx >= 2 ? 3 : 9));
      p.cls[i] = base;
    }
  }
  char comm[32];
  while (written < lines) {
    int task = int(rng() % (kTasks + kCpus));
    bool idle = task >= kTasks;
    int cpu = idle ? task - kTasks : int(rng() % kCpus);
    int pid = idle ? 0 : 1000 + task;
    if (idle) std::snprintf(comm, sizeof comm, "<idle>");
    else std::snprintf(comm, sizeof comm, "worker%d", task);
    const Path& p = paths[rng() % paths.size()];
    if (p.ctx == 2 && idle) continue;
    static const char* kFlags[4] = {"...2.", "d..2.", "..s2.", "d.h2."};
    const char* fl = kFlags[p.ctx];
    uint64_t a[4];
    for (int i = 0; i < p.depth; ++i) a[i] = addr(p.cls[i], int(rng() % kInstances));
    for (int i = 0; i < p.depth; ++i) {
      bool rd = p.read && i == p.depth - 1;
      emit(comm, pid, cpu, fl, "lock_acquire", a[i], rd ? "read " : "", p.cls[i]);
      if (rng() % 50 == 0) {
        ts += 1;
        int n = std::snprintf(line, sizeof line, "%16s-%-7d [%03d] %s %6llu.%06llu: contention_begin: %016llx (flags=SPIN)\n",
                              comm, pid, cpu, fl, (unsigned long long)(ts / 1000000),
                              (unsigned long long)(ts % 1000000), (unsigned long long)(a[i] - 0x18));
        std::fwrite(line, 1, size_t(n), out);
        ++written;
      }
      emit(comm, pid, cpu, fl, "lock_acquired", a[i], "", p.cls[i]);
    }
    for (int i = p.depth; i-- > 0;) emit(comm, pid, cpu, fl, "lock_release", a[i], "", p.cls[i]);
  }
  std::fclose(out);
  return path;
}

const std::string& trace_path() {
  static std::string path = generate(env_u64("LOCKHOUND_BENCH_TRACE_LINES", 10000000));
  return path;
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Parsing + validation, the whole `lockhound trace` pipeline minus rendering.
void BM_TraceParseAndValidate(benchmark::State& state) {
  const std::string& path = trace_path();
  if (path.empty()) {
    state.SkipWithError("cannot write the generated trace");
    return;
  }
  uint64_t lines = 0, findings = 0, classes = 0, edges = 0;
  for (auto _ : state) {
    int fd = ::open(path.c_str(), O_RDONLY);
    TraceAnalyzer a(TraceOptions{path});
    std::string err;
    analyze_fd(fd, a, err);
    ::close(fd);
    lines = a.stats().lines;
    findings = a.validator().finding_count();
    classes = a.validator().stats().classes;
    edges = a.validator().stats().edges;
  }
  state.SetItemsProcessed(int64_t(lines) * state.iterations());
  state.counters["lines"] = double(lines);
  state.counters["findings"] = double(findings);
  state.counters["classes"] = double(classes);
  state.counters["edges"] = double(edges);
  state.counters["peak_rss_MB"] = double(peak_rss_kb()) / 1024.0;
}
BENCHMARK(BM_TraceParseAndValidate)->Unit(benchmark::kMillisecond)->Iterations(1);

// Reading + parsing only: the front end's share of the cost.
void BM_TraceParseOnly(benchmark::State& state) {
  const std::string& path = trace_path();
  uint64_t lines = 0;
  for (auto _ : state) {
    int fd = ::open(path.c_str(), O_RDONLY);
    LineReader r(fd);
    TraceParser p;
    ParsedLine out;
    std::string_view line;
    lines = 0;
    while (r.next(line)) {
      p.parse(line, out);
      benchmark::DoNotOptimize(out.event.addr);
      ++lines;
    }
    ::close(fd);
  }
  state.SetItemsProcessed(int64_t(lines) * state.iterations());
}
BENCHMARK(BM_TraceParseOnly)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
