// Seed 2 ("Kernel-level deadlocks") with lockhound's C++ lock types: bad_function takes lock1
// then lock2, another_function lock2 then lock1. The two threads run one after the other, so the
// program never hangs — and lockhound still reports the ABBA cycle, with both call sites.
// Build: c++ -std=c++20 seed_abba.cpp -I include -L build/src/runtime -llockhound
#include <cstdio>
#include <mutex>
#include <thread>

#include "lockhound/mutex.hpp"

static lockhound::spinlock lock1("lock1"), lock2("lock2");
static int shared_counter;

static void bad_function() {
  std::lock_guard<lockhound::spinlock> a(lock1);
  std::lock_guard<lockhound::spinlock> b(lock2);
  ++shared_counter;
}

static void another_function() {
#ifdef FIXED
  std::lock_guard<lockhound::spinlock> a(lock1);  // the seed's fix: one global order
  std::lock_guard<lockhound::spinlock> b(lock2);
#else
  std::lock_guard<lockhound::spinlock> b(lock2);
  std::lock_guard<lockhound::spinlock> a(lock1);
#endif
  ++shared_counter;
}

int main() {
  std::thread t1(bad_function);
  t1.join();
  std::thread t2(another_function);
  t2.join();
  std::printf("counter=%d\n", shared_counter);
  return 0;
}
