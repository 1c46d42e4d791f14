// A program whose operator new takes a mutex, as allocation trackers do: every allocation, the
// runtime's own included (its thread states, its tables), locks alloc_mu. The runtime allocates
// while it works on an acquisition whose word the thread already holds, so a thread's first lock
// of alloc_mu, and each new chain through it, made the runtime lock alloc_mu inside its own
// acquisition: the thread waited for itself for ever. Each thread allocates under `a` and `b`; the
// first nests b under a, the second (after the first has finished) a under b.
// Expected: one circular_dependency over a and b, "alloc_lock done", no hang.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

static std::mutex alloc_mu;
static long allocations;

void* operator new(std::size_t n) {
  std::lock_guard<std::mutex> g(alloc_mu);
  ++allocations;
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
__attribute__((noinline)) static void give_back(void* p) { std::free(p); }
void operator delete(void* p) noexcept { give_back(p); }
void operator delete(void* p, std::size_t) noexcept { give_back(p); }

std::mutex a, b;

static void nest(std::mutex& outer, std::mutex& inner) {
  for (int i = 0; i < 200; ++i) {
    std::lock_guard<std::mutex> g(outer);
    std::string s(64 + i, 'x');  // alloc_mu under outer
    std::lock_guard<std::mutex> h(inner);
    std::vector<int> v(i + 1);   // alloc_mu under outer and inner
  }
}

int main() {
  std::thread first([] { nest(a, b); });
  first.join();
  std::thread second([] { nest(b, a); });
  second.join();
  std::printf("alloc_lock %s\n", allocations > 0 ? "done" : "allocated nothing");
  return 0;
}
