// Two databases, each with a method lock behind a small RWLock class (Kyoto Cabinet's shape:
// lock_writer()/lock_reader() are real, non-inlined functions). main iterates database A holding
// A's lock as writer and reads B inside, then the other way round: an ABBA whose outer
// acquisitions both go through the wrapper. Each database's lock is also taken alone first (a
// set()), so the acquisitions the report is about are not the locks' first ones.
#include <pthread.h>

#include <cstdio>

class RWLock {
 public:
  RWLock() { pthread_rwlock_init(&rw_, nullptr); }
  ~RWLock() { pthread_rwlock_destroy(&rw_); }
  __attribute__((noinline)) void lock_writer() { pthread_rwlock_wrlock(&rw_); }
  __attribute__((noinline)) void lock_reader() { pthread_rwlock_rdlock(&rw_); }
  __attribute__((noinline)) void unlock() { pthread_rwlock_unlock(&rw_); }

 private:
  pthread_rwlock_t rw_;
};

class Database {
 public:
  __attribute__((noinline)) void set(int v) {
    mlock_.lock_writer();
    value_ = v;
    mlock_.unlock();
  }
  __attribute__((noinline)) int get() {
    mlock_.lock_reader();
    int v = value_;
    mlock_.unlock();
    return v;
  }
  // Visits every record while holding the method lock as writer, calling back into the caller.
  __attribute__((noinline)) int iterate(Database& other) {
    mlock_.lock_writer();
    int sum = value_ + other.get();
    mlock_.unlock();
    return sum;
  }

 private:
  RWLock mlock_;
  int value_ = 0;
};

// Both method locks are made by one constructor: one lock class, each lock checked against the
// other (lockhound pairs the locks of a class made at one place).
Database* make_database() { return new Database; }

int main() {
  Database* a = make_database();
  Database* b = make_database();
  a->set(1);
  b->set(2);
  int s = a->iterate(*b);
  s += b->iterate(*a);
  std::printf("sum=%d\n", s);
  delete a;
  delete b;
  return 0;
}
