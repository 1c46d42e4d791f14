/* abba-after: one lock-order inversion between mutexes A and B, with N other live mutexes used in
 * between. A detector that keeps a bounded number of locks in its graph forgets A -> B while the
 * others are taken and so misses the inversion once N passes its bound.
 *
 *   abba_after N      (N >= 2; the program makes N mutexes, A and B among them)
 *
 * One thread takes A then B; a second walks the other N - 2 mutexes in pairs (i then i+1, always
 * ascending: no cycle among them); a third takes B then A. The threads run one after another, so
 * the program never hangs; the inversion is there in every run. The mutexes are set to
 * PTHREAD_MUTEX_INITIALIZER (separate classes for lockhound). Prints "abba_after N done". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t* m;
static int n;

static void pair(pthread_mutex_t* first, pthread_mutex_t* second) {
  pthread_mutex_lock(first);
  pthread_mutex_lock(second);
  pthread_mutex_unlock(second);
  pthread_mutex_unlock(first);
}

static void* a_then_b(void* arg) {
  pair(&m[0], &m[1]);
  return arg;
}

static void* the_others(void* arg) {
  for (int i = 2; i + 1 < n; ++i) pair(&m[i], &m[i + 1]);
  return arg;
}

static void* b_then_a(void* arg) {
  pair(&m[1], &m[0]);
  return arg;
}

static void run(void* (*fn)(void*)) {
  pthread_t t;
  if (pthread_create(&t, NULL, fn, NULL) != 0) exit(1);
  pthread_join(t, NULL);
}

int main(int argc, char** argv) {
  n = argc == 2 ? atoi(argv[1]) : 0;
  if (n < 2) {
    fprintf(stderr, "usage: %s N (N >= 2)\n", argv[0]);
    return 2;
  }
  m = malloc(sizeof *m * (size_t)n);
  if (!m) return 1;
  for (int i = 0; i < n; ++i) m[i] = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
  run(a_then_b);
  run(the_others);
  run(b_then_a);
  printf("abba_after %d done\n", n);
  return 0;
}
