// C++ locking as users write it: std::mutex members of static objects and of arrays of structs,
// std::shared_mutex, std::recursive_mutex, std::scoped_lock of two mutexes and
// std::condition_variable, all through the standard RAII types. Built twice, at -O0 (every
// std:: call a real frame: what a debug build looks like) and at -O2 (all of it inlined).
//
// usage: cpp_locks MODE
//   bank       ABBA between bank.accounts_mu and bank.audit_mu (lock_guard)
//   pool       ABBA between pool.workers[3].mu and bank.audit_mu
//   shared     writer of table_mu then stats_mu; reader of table_mu under stats_mu
//   recursive  recursive_mutex re-entered (fine), then ABBA against journal_mu
//   scoped     scoped_lock(a, b) and scoped_lock(b, a): std::lock's order avoids the deadlock
//   condvar    a producer and consumers on a condition variable, under one order: correct
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

struct Bank {
  std::mutex accounts_mu;
  std::mutex audit_mu;
  long balance = 0;
};
static Bank bank;

struct Worker {
  int id = 0;
  std::mutex mu;
  long jobs = 0;
};
struct Pool {
  long generation = 0;
  Worker workers[8];
};
static Pool pool;

static std::shared_mutex table_mu;
static std::mutex stats_mu;
static std::recursive_mutex tree_mu;
static std::mutex journal_mu;
static std::mutex pair_a, pair_b;
static std::mutex queue_mu;
static std::condition_variable queue_cv;
static std::deque<int> queue;

static void deposit() {
  std::lock_guard<std::mutex> a(bank.accounts_mu);
  std::lock_guard<std::mutex> b(bank.audit_mu);
  bank.balance++;
}

static void audit() {
  std::lock_guard<std::mutex> b(bank.audit_mu);
  std::lock_guard<std::mutex> a(bank.accounts_mu);
  bank.balance--;
}

static void schedule() {
  std::lock_guard<std::mutex> w(pool.workers[3].mu);
  std::lock_guard<std::mutex> b(bank.audit_mu);
  pool.workers[3].jobs++;
}

static void report_jobs() {
  std::lock_guard<std::mutex> b(bank.audit_mu);
  std::lock_guard<std::mutex> w(pool.workers[3].mu);
  bank.balance += pool.workers[3].jobs;
}

static void resize_table() {
  std::unique_lock<std::shared_mutex> t(table_mu);
  std::lock_guard<std::mutex> s(stats_mu);
}

static void read_stats() {
  std::lock_guard<std::mutex> s(stats_mu);
  std::shared_lock<std::shared_mutex> t(table_mu);
}

static void visit(int depth) {
  std::lock_guard<std::recursive_mutex> g(tree_mu);
  if (depth > 0) visit(depth - 1);
}

static void log_tree() {
  std::lock_guard<std::recursive_mutex> g(tree_mu);
  std::lock_guard<std::mutex> j(journal_mu);
}

static void replay_journal() {
  std::lock_guard<std::mutex> j(journal_mu);
  visit(2);
}

static void transfer_ab() { std::scoped_lock l(pair_a, pair_b); }
static void transfer_ba() { std::scoped_lock l(pair_b, pair_a); }

static void produce_consume() {
  std::vector<std::thread> consumers;
  bool done = false;
  long sum = 0;
  for (int c = 0; c < 3; ++c)
    consumers.emplace_back([&] {
      for (;;) {
        std::unique_lock<std::mutex> lk(queue_mu);
        queue_cv.wait(lk, [&] { return !queue.empty() || done; });
        if (queue.empty()) return;
        sum += queue.front();
        queue.pop_front();
      }
    });
  for (int i = 0; i < 1000; ++i) {
    std::lock_guard<std::mutex> lk(queue_mu);
    queue.push_back(i);
    queue_cv.notify_one();
  }
  {
    std::lock_guard<std::mutex> lk(queue_mu);
    done = true;
  }
  queue_cv.notify_all();
  for (auto& t : consumers) t.join();
  std::printf("sum %ld\n", sum);
}

// One after the other: the order is seen without the program ever hanging.
static void in_turn(void (*first)(), void (*second)()) {
  std::thread(first).join();
  std::thread(second).join();
}

// Mode heap: ABBA between the std::mutex members of two Accounts made with new.
// Objects made with new, each with its own std::mutex (no init call: the runtime first meets
// each lock when it is locked). transfer() nests two accounts' locks in argument order.
struct Account {
  long balance = 0;
  std::mutex mu;
};

static void __attribute__((noinline)) transfer(Account* from, Account* to) {
  std::lock_guard<std::mutex> f(from->mu);
  std::lock_guard<std::mutex> t(to->mu);
  from->balance--;
  to->balance++;
}

static void heap_accounts() {
  Account* a = new Account;
  Account* b = new Account;
  std::thread([&] { transfer(a, b); }).join();
  std::thread([&] { transfer(b, a); }).join();
  std::printf("balances %ld %ld\n", a->balance, b->balance);
  delete a;
  delete b;
}

// Mode trylock: try_lock of a std::mutex the thread already holds: false every time, never a hang.
struct Cache {
  std::mutex mu;
  int hits = 0;
  bool __attribute__((noinline)) try_touch() {
    if (!mu.try_lock()) return false;
    hits++;
    mu.unlock();
    return true;
  }
  bool __attribute__((noinline)) refresh() {
    std::lock_guard<std::mutex> g(mu);
    return try_touch();
  }
};

static void try_held() {
  Cache* c = new Cache;
  bool ok = true;
  for (int i = 0; i < 3; ++i) ok = c->refresh() && ok;
  std::printf("try_lock %s\n", ok ? "true" : "false");
  delete c;
}

// Mode members: ABBA between two std::mutex members of one object made with new, one side in a
// method (through `this`), the other in a function given the object by reference.
struct Ledger {
  long entries = 0;
  std::mutex audit_mu;
  std::mutex table_mu;
  void __attribute__((noinline)) audit() {
    std::lock_guard<std::mutex> a(audit_mu);
    std::lock_guard<std::mutex> t(table_mu);
    entries++;
  }
};

static void __attribute__((noinline)) reopen(Ledger& l) {
  std::lock_guard<std::mutex> t(l.table_mu);
  std::lock_guard<std::mutex> a(l.audit_mu);
  l.entries--;
}

static void ledger_members() {
  Ledger* l = new Ledger;
  std::thread([&] { l->audit(); }).join();
  std::thread([&] { reopen(*l); }).join();
  std::printf("entries %ld\n", l->entries);
  delete l;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "bank";
  if (!std::strcmp(mode, "bank")) in_turn(deposit, audit);
  else if (!std::strcmp(mode, "pool")) in_turn(schedule, report_jobs);
  else if (!std::strcmp(mode, "shared")) in_turn(resize_table, read_stats);
  else if (!std::strcmp(mode, "recursive")) {
    visit(3);
    in_turn(log_tree, replay_journal);
  } else if (!std::strcmp(mode, "scoped")) {
    std::thread t1([] { for (int i = 0; i < 2000; ++i) transfer_ab(); });
    std::thread t2([] { for (int i = 0; i < 2000; ++i) transfer_ba(); });
    t1.join();
    t2.join();
  } else if (!std::strcmp(mode, "condvar")) produce_consume();
  else if (!std::strcmp(mode, "heap")) heap_accounts();
  else if (!std::strcmp(mode, "trylock")) try_held();
  else if (!std::strcmp(mode, "members")) ledger_members();
  else {
    std::fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  std::printf("done %s\n", mode);
  return 0;
}
