/* N rwlocks (or mutexes) made by one pthread_*_init call in a loop (one lockhound class), all
 * taken, then all released, for R rounds: a program that locks every bucket of a table (a resize,
 * a checkpoint, lock_all). bench/held_compare.sh runs it whole, plain and under `lockhound run`.
 *
 *   many_held N ROUNDS read|write|mutex forward|reverse|random
 *
 * random: released in one shuffled order (the same every round and every run).
 *
 * Prints the acquisitions done (a check that the work happened), nothing timed: the script times
 * the whole process. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1024;
  int rounds = argc > 2 ? atoi(argv[2]) : 20;
  const char* mode = argc > 3 ? argv[3] : "read";
  int reverse = argc > 4 && !strcmp(argv[4], "reverse");
  int shuffled = argc > 4 && !strcmp(argv[4], "random");
  int is_mutex = !strcmp(mode, "mutex"), is_write = !strcmp(mode, "write");
  pthread_rwlock_t* rw = calloc((size_t)n, sizeof *rw);
  pthread_mutex_t* mu = calloc((size_t)n, sizeof *mu);
  for (int i = 0; i < n; ++i) {
    if (is_mutex) pthread_mutex_init(&mu[i], NULL);
    else pthread_rwlock_init(&rw[i], NULL);
  }
  int* order = calloc((size_t)n, sizeof *order);
  for (int i = 0; i < n; ++i) order[i] = reverse ? n - 1 - i : i;
  unsigned seed = 12345;
  for (int i = n - 1; shuffled && i > 0; --i) {  /* Fisher-Yates with a fixed LCG */
    seed = seed * 1103515245u + 12345u;
    int j = (int)((seed >> 8) % (unsigned)(i + 1)), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  long taken = 0;
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < n; ++i) {
      if (is_mutex) pthread_mutex_lock(&mu[i]);
      else if (is_write) pthread_rwlock_wrlock(&rw[i]);
      else pthread_rwlock_rdlock(&rw[i]);
      ++taken;
    }
    for (int k = 0; k < n; ++k) {
      int i = order[k];
      if (is_mutex) pthread_mutex_unlock(&mu[i]);
      else pthread_rwlock_unlock(&rw[i]);
    }
  }
  printf("taken=%ld\n", taken);
  free(order);
  free(rw);
  free(mu);
  return 0;
}
