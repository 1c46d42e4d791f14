// lockhound's C++ lock types with every standard lock wrapper: std::lock_guard, std::scoped_lock,
// std::unique_lock and std::shared_lock. The bug: a reader of `table` takes `stats` inside, a
// writer of `table` takes it the other way round; a waiting writer blocks the reader, so the two
// can deadlock. The threads run one after the other, so this run never hangs.
// Build with -DFIXED for the fix: the writer also takes `table` before `stats`.
#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "lockhound/mutex.hpp"

static lockhound::shared_mutex table("table");
static lockhound::mutex stats("stats");
static lockhound::mutex log_a("log_a"), log_b("log_b");
static int lookups, updates;

static void reader() {
  std::shared_lock<lockhound::shared_mutex> r(table);
  std::unique_lock<lockhound::mutex> s(stats);
  ++lookups;
}

static void writer() {
#ifdef FIXED
  std::unique_lock<lockhound::shared_mutex> w(table);
  std::lock_guard<lockhound::mutex> s(stats);
#else
  std::lock_guard<lockhound::mutex> s(stats);
  std::unique_lock<lockhound::shared_mutex> w(table);
#endif
  ++updates;
}

// std::scoped_lock takes several locks with a deadlock-avoiding algorithm (lock one, try the
// others): whatever order it uses, lockhound sees trylocks and reports nothing.
static void both_logs(bool swap) {
  if (swap) {
    std::scoped_lock both(log_b, log_a);
  } else {
    std::scoped_lock both(log_a, log_b);
  }
}

int main() {
  std::thread t1(reader);
  t1.join();
  std::thread t2(writer);
  t2.join();
  both_logs(false);
  both_logs(true);
  std::printf("lookups=%d updates=%d\n", lookups, updates);
  return 0;
}
