// The three lock workloads of nested.c, many_seq.c and many_random.c written with absl::Mutex,
// so the comparison can include abseil's own lock-order checker (absl::Mutex keeps a graph of
// acquisition orders and reports cycles when its deadlock detection mode is not kIgnore; only in
// a library built without NDEBUG).
//
//   absl_locks off|on nested ITERS DEPTH THREADS
//   absl_locks off|on many-seq STEPS
//   absl_locks off|on many-random STEPS
//   absl_locks on abba      (self-test: takes two mutexes in both orders; with detection compiled
//                            in, abseil prints "Potential Mutex deadlock" on stderr)
//
// off = absl::OnDeadlockCycle::kIgnore, on = kReport. Prints the process CPU time per
// acquire/release pair in ns as the last line of stdout, like the pthread versions.
#include <absl/synchronization/mutex.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>
#include <vector>

namespace {

constexpr int kMany = 100000;

double now_ns() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int usage() {
  std::fprintf(stderr,
               "usage: absl_locks off|on nested ITERS DEPTH THREADS\n"
               "       absl_locks off|on many-seq|many-random STEPS\n"
               "       absl_locks on abba\n");
  return 2;
}

// DEPTH mutexes, always taken in the same nested order, by THREADS threads.
double nested(long iters, int depth, int threads) {
  std::unique_ptr<absl::Mutex[]> locks(new absl::Mutex[depth]);
  auto worker = [&] {
    for (long i = 0; i < iters; ++i) {
      for (int d = 0; d < depth; ++d) locks[d].Lock();
      for (int d = depth - 1; d >= 0; --d) locks[d].Unlock();
    }
  };
  double start = now_ns();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  return (now_ns() - start) / (double(iters) * depth * threads);
}

// 100k mutexes, ascending walk with varied strides (see many_seq.c).
double many_seq(long steps) {
  std::unique_ptr<absl::Mutex[]> m(new absl::Mutex[kMany]);
  double start = now_ns();
  long round = 0;
  int i = 0;
  for (long s = 0; s < steps; ++s) {
    int j = i + 1 + int((i + round) % 2);
    m[i].Lock();
    m[j].Lock();
    m[j].Unlock();
    m[i].Unlock();
    i += 1 + int((i * 7L + round) % 3);
    if (i + 2 >= kMany) {
      i = 0;
      ++round;
    }
  }
  return (now_ns() - start) / (2.0 * steps);
}

// 100k mutexes, random pairs (i, i+1|i+2) from a fixed-seed xorshift (see many_random.c).
double many_random(long steps) {
  std::unique_ptr<absl::Mutex[]> m(new absl::Mutex[kMany]);
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  double start = now_ns();
  for (long s = 0; s < steps; ++s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    int i = int((x >> 1) % (kMany - 2));
    int j = i + 1 + int(x & 1);
    m[i].Lock();
    m[j].Lock();
    m[j].Unlock();
    m[i].Unlock();
  }
  return (now_ns() - start) / (2.0 * steps);
}

// Two mutexes in both orders: a lock-order cycle for the detector to report.
void abba() {
  absl::Mutex a, b;
  a.Lock();
  b.Lock();
  b.Unlock();
  a.Unlock();
  b.Lock();
  a.Lock();
  a.Unlock();
  b.Unlock();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  if (std::strcmp(argv[1], "on") == 0) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kReport);
  } else if (std::strcmp(argv[1], "off") == 0) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  } else {
    return usage();
  }
  const char* workload = argv[2];
  double ns;
  if (std::strcmp(workload, "nested") == 0 && argc == 6) {
    long iters = std::atol(argv[3]);
    int depth = std::atoi(argv[4]);
    int threads = std::atoi(argv[5]);
    if (iters <= 0 || depth < 1 || depth > 8 || threads < 1 || threads > 8) return usage();
    ns = nested(iters, depth, threads);
  } else if (std::strcmp(workload, "many-seq") == 0 && argc == 4 && std::atol(argv[3]) > 0) {
    ns = many_seq(std::atol(argv[3]));
  } else if (std::strcmp(workload, "many-random") == 0 && argc == 4 && std::atol(argv[3]) > 0) {
    ns = many_random(std::atol(argv[3]));
  } else if (std::strcmp(workload, "abba") == 0 && argc == 3) {
    abba();
    std::puts("abba done");
    return 0;
  } else {
    return usage();
  }
  std::printf("%.1f\n", ns);
  return 0;
}
