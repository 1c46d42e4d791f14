/* Where each lock was taken, when the runtime knows a stack without unwinding it.
 *
 * 1. A lock taken alone on the fast path, then a lock under it for the first time: the engine
 *    sees the first lock only when the second is checked, and the first one's stack must still
 *    be its own lock call's (its line), not the second's.
 * 2. One function taking two locks, called from two callers at the same stack depth: the same
 *    lock calls with the same stack pointers, so the thread's stack memo has an entry for the
 *    second caller's calls that was made on the first caller's path. Each side of the report must
 *    name its own caller. The program prints whether the two calls had the same stack pointer
 *    (the case this checks). A thread has a memo from its 16th unwind on: 24 locks taken for the
 *    first time come first.
 * 3. A spinlock first used under a mutex, later taken alone (the fast path) and held across a
 *    sleep: the engine sees it when the sleep is reported, and the report shows it taken at its
 *    own line, not the sleep's. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER,
                       c = PTHREAD_MUTEX_INITIALIZER, d = PTHREAD_MUTEX_INITIALIZER,
                       e = PTHREAD_MUTEX_INITIALIZER;
static pthread_spinlock_t s;
static uintptr_t cfa[2];
static volatile int calls;

__attribute__((noinline)) static void a_under_c(void) {
  pthread_mutex_lock(&c);
  pthread_mutex_lock(&a);  /* a's first use: under c */
  pthread_mutex_unlock(&a);
  pthread_mutex_unlock(&c);
}

__attribute__((noinline)) static void a_then_b(void) {
  pthread_mutex_lock(&a);  /* @A_ALONE */
  pthread_mutex_lock(&b);  /* @B_UNDER_A */
  pthread_mutex_unlock(&b);
  pthread_mutex_unlock(&a);
}

__attribute__((noinline)) static void b_then_a(void) {
  pthread_mutex_lock(&b);  /* @B_ALONE */
  pthread_mutex_lock(&a);  /* @A_UNDER_B */
  pthread_mutex_unlock(&a);
  pthread_mutex_unlock(&b);
}

__attribute__((noinline)) static void take(pthread_mutex_t* x, pthread_mutex_t* y, int k) {
  cfa[k] = (uintptr_t)__builtin_dwarf_cfa();
  pthread_mutex_lock(x);
  pthread_mutex_lock(y);
  pthread_mutex_unlock(y);
  pthread_mutex_unlock(x);
}

__attribute__((noinline)) static void first_caller(void) {
  take(&d, &e, 0);
  calls++;  /* no tail call: this frame stays on the stack */
}

__attribute__((noinline)) static void second_caller(void) {
  take(&e, &d, 1);
  calls++;
}

__attribute__((noinline)) static void s_under_c(void) {
  pthread_mutex_lock(&c);
  pthread_spin_lock(&s);  /* s's first use: under c */
  pthread_spin_unlock(&s);
  pthread_mutex_unlock(&c);
}

__attribute__((noinline)) static void sleep_under_s(void) {
  pthread_spin_lock(&s);  /* @S_ALONE */
  usleep(1000);           /* @SLEEP */
  pthread_spin_unlock(&s);
}

/* 24 locks, each its own class (assigned the initializer, as a C++ std::mutex member is), taken
 * once each: 24 new chains, each unwound. */
__attribute__((noinline)) static void first_uses(void) {
  enum { kLocks = 24 };
  pthread_mutex_t* m = malloc(sizeof *m * kLocks);
  for (int i = 0; i < kLocks; ++i) {
    m[i] = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&m[i]);
    pthread_mutex_unlock(&m[i]);
  }
}

int main(void) {
  first_uses();
  a_under_c();
  a_then_b();
  b_then_a();
  first_caller();
  second_caller();
  pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE);
  s_under_c();
  sleep_under_s();
  printf("stack_paths %s\n", cfa[0] == cfa[1] ? "same-sp" : "other-sp");
  return 0;
}
