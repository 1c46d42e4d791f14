// A user's program with lockhound's C++ lock types: transfer() takes the two accounts' locks in
// argument order, so two transfers in opposite directions can deadlock. The transfers run one after
// the other, so this run never hangs; lockhound reports the order inversion all the same.
#include <cstdio>
#include <mutex>
#include <thread>

#include <lockhound/mutex.hpp>

struct Account {
  explicit Account(const char* name) : lock(name) {}
  lockhound::mutex lock;
  long balance = 100;
};

static Account savings("savings"), checking("checking");

static void transfer(Account& from, Account& to, long amount) {
  std::lock_guard<lockhound::mutex> a(from.lock);
  std::lock_guard<lockhound::mutex> b(to.lock);
  from.balance -= amount;
  to.balance += amount;
}

int main() {
  std::thread t1(transfer, std::ref(savings), std::ref(checking), 10);
  t1.join();
  std::thread t2(transfer, std::ref(checking), std::ref(savings), 5);
  t2.join();
  std::printf("savings=%ld checking=%ld\n", savings.balance, checking.balance);
  return 0;
}
