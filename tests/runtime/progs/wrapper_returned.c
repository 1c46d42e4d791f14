// A lock taken through a wrapper by a function that then returns holding it: open_ledger() takes
// `ledger` through lock_it() and returns; main then calls write_entry(), which takes `journal`
// while `ledger` is held. When that edge is recorded, neither lock_it nor open_ledger is running:
// the frames then at their place are write_entry's, which are not the ledger lock's callers.
// Later main takes the two the other way round, closing a cycle that prints the ledger lock's
// stack.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t ledger = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t journal = PTHREAD_MUTEX_INITIALIZER;
static volatile int ledger_open;
static volatile int entries;

__attribute__((noinline)) void lock_it(pthread_mutex_t* m) {
  if (pthread_mutex_lock(m) != 0) abort();
}

__attribute__((noinline)) void open_ledger(void) {
  lock_it(&ledger);
  ledger_open = 1;  // (not a tail call: open_ledger has a frame of its own)
}

__attribute__((noinline)) void write_entry(const char* what) {
  char line[128];
  snprintf(line, sizeof line, "entry %d: %s", entries, what);
  pthread_mutex_lock(&journal);
  entries += line[0] != 0;
  pthread_mutex_unlock(&journal);
}

int main(void) {
  // The ledger taken alone first (not through lock_it: see report_stacks_test.cpp), so that the
  // acquisition in open_ledger is not its first and takes the fast path.
  pthread_mutex_lock(&ledger);
  pthread_mutex_unlock(&ledger);
  open_ledger();
  write_entry("opened");
  pthread_mutex_unlock(&ledger);
  // The other order.
  pthread_mutex_lock(&journal);
  pthread_mutex_lock(&ledger);
  pthread_mutex_unlock(&ledger);
  pthread_mutex_unlock(&journal);
  printf("entries=%d\n", entries);
  return 0;
}
