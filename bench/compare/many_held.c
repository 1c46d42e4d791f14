/* N rwlocks (or mutexes) made by one pthread_*_init call in a loop (one lockhound class), all
 * taken, then all released, for R rounds: a program that locks every bucket of a table (a resize,
 * a checkpoint, lock_all). bench/held_compare.sh runs it whole, plain and under `lockhound run`.
 *
 *   many_held N ROUNDS read|write|mutex forward|reverse
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
  int is_mutex = !strcmp(mode, "mutex"), is_write = !strcmp(mode, "write");
  pthread_rwlock_t* rw = calloc((size_t)n, sizeof *rw);
  pthread_mutex_t* mu = calloc((size_t)n, sizeof *mu);
  for (int i = 0; i < n; ++i) {
    if (is_mutex) pthread_mutex_init(&mu[i], NULL);
    else pthread_rwlock_init(&rw[i], NULL);
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
      int i = reverse ? n - 1 - k : k;
      if (is_mutex) pthread_mutex_unlock(&mu[i]);
      else pthread_rwlock_unlock(&rw[i]);
    }
  }
  printf("taken=%ld\n", taken);
  free(rw);
  free(mu);
  return 0;
}
