// A program whose operator new takes a mutex, as allocation trackers do: every allocation, the
// runtime's own included (its thread states, its tables), locks alloc_mu. The runtime allocates
// while it works on an acquisition whose word the thread already holds, so a thread's first lock
// of alloc_mu, and each new chain through it, made the runtime lock alloc_mu inside its own
// acquisition: the thread waited for itself for ever. Each thread allocates under `a` and `b`; the
// first nests b under a, the second (after the first has finished) a under b.
// Expected: one circular_dependency over a and b, "alloc_lock done", no hang.
//   alloc_lock [spin]    spin: operator new takes a pthread spinlock instead of the mutex
#include <pthread.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

static std::mutex alloc_mu;
static pthread_spinlock_t alloc_spin;
static bool use_spin;
static long allocations;

void* operator new(std::size_t n) {
  if (use_spin) pthread_spin_lock(&alloc_spin);
  else alloc_mu.lock();
  ++allocations;
  void* p = std::malloc(n ? n : 1);
  if (use_spin) pthread_spin_unlock(&alloc_spin);
  else alloc_mu.unlock();
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

int main(int argc, char** argv) {
  pthread_spin_init(&alloc_spin, PTHREAD_PROCESS_PRIVATE);
  use_spin = argc > 1 && std::strcmp(argv[1], "spin") == 0;
  std::thread first([] { nest(a, b); });
  first.join();
  std::thread second([] { nest(b, a); });
  second.join();
  std::printf("alloc_lock %s\n", allocations > 0 ? "done" : "allocated nothing");
  return 0;
}
