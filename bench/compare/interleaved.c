/* interleaved: an A/B inside one process, for a host whose speed changes from one second to the
 * next. many_random's workload (same generator and seed, 100k malloc'ed mutexes, pairs
 * (i, i+1|i+2)) runs in passes that alternate between glibc's own lock functions (looked up in
 * libc.so.6, so no preload sees them) and the ordinary symbols (which a preload such as
 * `lockhound run` interposes). Each pair of adjacent passes gives a ratio; their median is the
 * figure, since both passes of a pair ran under nearly the same conditions.
 *
 *   interleaved [PASSES [MUTEXES [STEPS]]]    (defaults 15, 100000, 500000)
 *
 * Three untimed passes first (the preload learns every chain). Prints min and median ns per
 * acquire/release pair for each side and min and median of the per-pass ratios. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"

typedef int (*lock_fn)(pthread_mutex_t*);
static lock_fn libc_lock, libc_unlock;
static long n_mutexes = 100000;

#define WALK(lock, unlock)                                        \
  random_pairs_reset();                                           \
  for (long s = 0; s < steps; ++s) {                              \
    long i, j;                                                    \
    random_pair(n_mutexes, &i, &j);                               \
    lock(&m[i]);                                                  \
    lock(&m[j]);                                                  \
    unlock(&m[j]);                                                \
    unlock(&m[i]);                                                \
  }

__attribute__((noinline)) static void walk_libc(pthread_mutex_t* m, long steps) { WALK(libc_lock, libc_unlock) }
__attribute__((noinline)) static void walk_symbols(pthread_mutex_t* m, long steps) {
  WALK(pthread_mutex_lock, pthread_mutex_unlock)
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  int passes = argc > 1 ? atoi(argv[1]) : 15;
  if (argc > 2) n_mutexes = atol(argv[2]);
  long steps = argc > 3 ? atol(argv[3]) : 500000;
  if (passes < 1 || passes > 1000 || n_mutexes < 3 || steps < 1) {
    fprintf(stderr, "usage: %s [PASSES (1-1000) [MUTEXES (>= 3) [STEPS]]]\n", argv[0]);
    return 2;
  }
  void* libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_NOW);
  if (libc) { /* POSIX's way to take a function from dlsym's void* */
    *(void**)&libc_lock = dlsym(libc, "pthread_mutex_lock");
    *(void**)&libc_unlock = dlsym(libc, "pthread_mutex_unlock");
  }
  pthread_mutex_t* m = malloc(sizeof *m * (size_t)n_mutexes);
  double* a = malloc(sizeof *a * (size_t)passes * 3);
  if (!libc_lock || !libc_unlock || !m || !a) {
    fprintf(stderr, "%s: no libc.so.6 lock functions, or out of memory\n", argv[0]);
    return 1;
  }
  double *b = a + passes, *q = b + passes;
  for (long i = 0; i < n_mutexes; ++i) m[i] = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
  walk_symbols(m, steps);
  walk_symbols(m, steps);
  walk_libc(m, steps);
  for (int p = 0; p < passes; ++p) {
    double t0 = now_ns();
    walk_libc(m, steps);
    double t1 = now_ns();
    walk_symbols(m, steps);
    double t2 = now_ns();
    a[p] = (t1 - t0) / (2.0 * steps);
    b[p] = (t2 - t1) / (2.0 * steps);
    q[p] = b[p] / a[p];
  }
  qsort(a, passes, sizeof *a, by_value);
  qsort(b, passes, sizeof *b, by_value);
  qsort(q, passes, sizeof *q, by_value);
  printf("libc min %.1f median %.1f | symbols min %.1f median %.1f | ratio min %.2f median %.2f\n", a[0],
         a[passes / 2], b[0], b[passes / 2], q[0], q[passes / 2]);
  free(a);
  free(m);
  return 0;
}
