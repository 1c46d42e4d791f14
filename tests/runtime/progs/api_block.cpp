// lockhound's C++ lock types where they really block. Linked with -llockhound, no preload.
//   self:   one thread locks a lockhound::mutex it already holds: it hangs for ever, so the report
//           must come before the wait (run with halt_on_error=1).
//   abba:   two threads take two lockhound::mutex in opposite orders and really deadlock: the
//           cycle is reported before either blocks, and the watchdog sees both threads blocked in
//           the locks (run with watchdog_abort=1).
//   spin:   the same ABBA with lockhound::spinlock, the threads spinning.
//   shared: a shared_mutex read-locked, then write-locked by the same thread.
#include <lockhound/mutex.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <thread>

static std::atomic<int> arrived{0};
static void meet() {
  arrived.fetch_add(1);
  while (arrived.load() < 2) std::this_thread::yield();
}

template <class Lock>
static void abba() {
  Lock a("ledger_lock"), b("audit_lock");
  std::thread t1([&] {
    std::lock_guard<Lock> ga(a);
    meet();
    std::lock_guard<Lock> gb(b);
  });
  std::thread t2([&] {
    std::lock_guard<Lock> gb(b);
    meet();
    std::lock_guard<Lock> ga(a);
  });
  t1.join();
  t2.join();
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "self";
  if (!std::strcmp(mode, "self")) {
    lockhound::mutex m("config_lock");
    std::lock_guard<lockhound::mutex> g(m);
    m.lock();  // the same lock again: a self-deadlock
  } else if (!std::strcmp(mode, "abba")) {
    abba<lockhound::mutex>();
  } else if (!std::strcmp(mode, "spin")) {
    abba<lockhound::spinlock>();
  } else if (!std::strcmp(mode, "shared")) {
    lockhound::shared_mutex rw("table_lock");
    std::shared_lock<lockhound::shared_mutex> r(rw);
    std::unique_lock<lockhound::shared_mutex> w(rw);  // a reader asking to write: never granted
  }
  std::puts("not reached");
  return 0;
}
