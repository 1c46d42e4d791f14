/* many-spin: N pthread spinlocks in an array (pthread_spin_init), each taken and released in turn,
 * ROUNDS times over, after one untimed round (the steady state of a checker that validates each
 * lock's first use). One thread. Shows what a side table of spinlock tags costs when the program
 * has many spinlocks:
 *
 *   many_spin N ROUNDS
 *
 * Prints the process CPU time per acquire/release pair in ns as the last line of stdout. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"

int main(int argc, char** argv) {
  if (argc != 3 || atol(argv[1]) <= 0 || atol(argv[2]) <= 0) {
    fprintf(stderr, "usage: %s N ROUNDS\n", argv[0]);
    return 2;
  }
  long n = atol(argv[1]), rounds = atol(argv[2]);
  pthread_spinlock_t* s = malloc(sizeof *s * (size_t)n);
  if (!s) return 1;
  for (long i = 0; i < n; ++i) pthread_spin_init(&s[i], PTHREAD_PROCESS_PRIVATE);
  for (long i = 0; i < n; ++i) {
    pthread_spin_lock(&s[i]);
    pthread_spin_unlock(&s[i]);
  }
  double start = now_ns();
  for (long r = 0; r < rounds; ++r)
    for (long i = 0; i < n; ++i) {
      pthread_spin_lock(&s[i]);
      pthread_spin_unlock(&s[i]);
    }
  printf("%.1f\n", (now_ns() - start) / (double)(rounds * n));
  return 0;
}
