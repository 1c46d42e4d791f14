// A correct C++ program: std::mutex, std::shared_mutex, std::condition_variable, scoped_lock of
// two mutexes, a consistent order, many threads, and exceptions thrown while a lock is held (the
// runtime must leave the program's unwinder alone). Expected: no findings and its normal output.
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {
std::mutex queue_mutex;
std::condition_variable queue_cv;
std::deque<int> queue;
bool done = false;
std::shared_mutex table_mutex;
std::vector<int> table(16);
std::mutex account_a, account_b;
long total = 0;
}  // namespace

int main() {
  std::vector<std::thread> consumers;
  for (int c = 0; c < 4; ++c)
    consumers.emplace_back([] {
      for (;;) {
        std::unique_lock<std::mutex> lk(queue_mutex);
        queue_cv.wait(lk, [] { return !queue.empty() || done; });
        if (queue.empty()) return;
        int v = queue.front();
        queue.pop_front();
        lk.unlock();
        {
          std::shared_lock<std::shared_mutex> rd(table_mutex);
          v += table[static_cast<size_t>(v) % table.size()];
        }
        std::scoped_lock both(account_a, account_b);
        total += v;
      }
    });
  for (int i = 0; i < 2000; ++i) {
    {
      std::lock_guard<std::mutex> lk(queue_mutex);
      queue.push_back(i);
    }
    queue_cv.notify_one();
    if (i % 100 == 0) {
      std::unique_lock<std::shared_mutex> wr(table_mutex);
      table[static_cast<size_t>(i) % table.size()] = i;
    }
  }
  {
    std::lock_guard<std::mutex> lk(queue_mutex);
    done = true;
  }
  queue_cv.notify_all();
  for (auto& t : consumers) t.join();
  int caught = 0;
  for (int i = 0; i < 100; ++i) {
    try {
      std::lock_guard<std::mutex> lk(account_a);
      if (i % 2 == 0) throw std::runtime_error("rollback");
    } catch (const std::runtime_error&) {
      ++caught;
    }
  }
  std::printf("caught %d\n", caught);
  std::printf("clean done\n");
  return 0;
}
