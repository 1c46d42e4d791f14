// Writes a lock-order database of RUNS runs with EDGES edges each (docs/performance.md, "The
// lock-order database"): classes class_0 … in a layered DAG (each class taken before the next ten),
// every edge with a three-frame stack on both sides, and in the last run one edge against the
// order, so that `lockhound report` finds one cycle that no run showed.
//
//   db_generate FILE RUNS EDGES_PER_RUN
#include <cstdio>
#include <cstdlib>
#include <string>

#include "db/database.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s FILE RUNS EDGES_PER_RUN\n", argv[0]);
    return 2;
  }
  std::string path = argv[1];
  long runs = std::atol(argv[2]), per_run = std::atol(argv[3]);
  if (runs <= 0 || per_run <= 0) return 2;
  auto name = [](long i) { return "class_" + std::to_string(i); };
  auto site = [](const std::string& fn, unsigned line) {
    lockhound::Acquisition a;
    a.mode = "write";
    a.context = "thread 1 (tid 4242)";
    for (unsigned d = 0; d < 3; ++d) {
      lockhound::Frame f;
      f.pc = 0x401000 + line * 16 + d;
      f.function = d == 0 ? fn : d == 1 ? "worker_loop" : "start_thread";
      f.file = d == 2 ? "./nptl/pthread_create.c" : "src/engine/table.c";
      f.line = line + d;
      a.stack.push_back(f);
    }
    return a;
  };
  long n = 0;
  for (long r = 0; r < runs; ++r) {
    lockhound::db::RunRecord rec;
    rec.run = lockhound::db::this_run("run", "/usr/bin/bench_prog", {"bench_prog", std::to_string(r)});
    for (long e = 0; e < per_run; ++e, ++n) {
      long from = n / 10, to = from + 1 + n % 10;
      lockhound::Edge edge;
      edge.from = name(from);
      edge.to = name(to);
      edge.from_site = site("lock_" + std::to_string(from % 1000), unsigned(100 + from % 500));
      edge.to_site = site("lock_" + std::to_string(to % 1000), unsigned(100 + to % 500));
      edge.from_site.lock = edge.from;
      edge.to_site.lock = edge.to;
      edge.dep = "EN";
      rec.edges.push_back(std::move(edge));
    }
    if (r == runs - 1) {  // against the order: class_(k+10) -> class_k, where class_k -> class_(k+10) is some run's
      long k = n / 20;
      lockhound::Edge back;
      back.from = name(k + 10);
      back.to = name(k);
      back.from_site = site("reverse_path", 900);
      back.to_site = site("reverse_path", 901);
      back.dep = "EN";
      rec.edges.push_back(std::move(back));
    }
    for (const auto& e : rec.edges)
      for (const auto* c : {&e.from, &e.to}) rec.classes.push_back({*c, lockhound::LockKind::pthread_mutex, 0, false});
    std::string why = lockhound::db::write_run(path, rec);
    if (!why.empty()) {
      std::fprintf(stderr, "db_generate: %s\n", why.c_str());
      return 1;
    }
  }
  std::printf("%ld edges in %ld runs\n", n + 1, runs);
  return 0;
}
