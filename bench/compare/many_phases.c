/* many-phases: many_random's workload (the same generator and seed, 100k malloc'ed mutexes set
 * to PTHREAD_MUTEX_INITIALIZER, pairs (i, i+1|i+2)), timed in phases of a million steps, so that
 * a cold run shows apart the phase in which almost every chain is new and the phases after it.
 *
 *   many_phases [PHASES [MUTEXES]]     (defaults 8 and 100000; each step is two pairs)
 *
 * Prints the process CPU time per acquire/release pair in ns for each phase, on one line. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"

int main(int argc, char** argv) {
  long phases = argc > 1 ? atol(argv[1]) : 8;
  long n = argc > 2 ? atol(argv[2]) : 100000;
  const long per = 1000000;
  if (phases <= 0 || n < 3) {
    fprintf(stderr, "usage: %s [PHASES [MUTEXES >= 3]]\n", argv[0]);
    return 2;
  }
  pthread_mutex_t* m = malloc(sizeof *m * (size_t)n);
  if (!m) return 1;
  for (long i = 0; i < n; ++i) m[i] = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
  for (long p = 0; p < phases; ++p) {
    double start = now_ns();
    for (long s = 0; s < per; ++s) {
      long i, j;
      random_pair(n, &i, &j);
      pthread_mutex_lock(&m[i]);
      pthread_mutex_lock(&m[j]);
      pthread_mutex_unlock(&m[j]);
      pthread_mutex_unlock(&m[i]);
    }
    printf("%s%.1f", p ? " " : "", (now_ns() - start) / (2.0 * per));
  }
  printf("\n");
  return 0;
}
