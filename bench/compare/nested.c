/* nested: DEPTH pthread mutexes taken in the same nested order, over and over, by THREADS threads
 * (all threads share the same DEPTH mutexes, so with 2 threads they also contend).
 *
 *   nested ITERS DEPTH THREADS
 *
 * Prints the process CPU time per acquire/release pair in ns (CLOCK_PROCESS_CPUTIME_ID, all
 * threads together) as the last line of stdout: ns / (ITERS * DEPTH * THREADS). Used by
 * bench/run_compare.sh for plain, `lockhound run`, ThreadSanitizer and Helgrind alike. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"

enum { MAX_DEPTH = 8, MAX_THREADS = 8 };

static pthread_mutex_t locks[MAX_DEPTH];
static long iters;
static int depth;

static void* worker(void* arg) {
  for (long i = 0; i < iters; ++i) {
    for (int d = 0; d < depth; ++d) pthread_mutex_lock(&locks[d]);
    for (int d = depth - 1; d >= 0; --d) pthread_mutex_unlock(&locks[d]);
  }
  return arg;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s ITERS DEPTH THREADS\n", argv[0]);
    return 2;
  }
  iters = atol(argv[1]);
  depth = atoi(argv[2]);
  int threads = atoi(argv[3]);
  if (iters <= 0 || depth < 1 || depth > MAX_DEPTH || threads < 1 || threads > MAX_THREADS) {
    fprintf(stderr, "nested: bad arguments\n");
    return 2;
  }
  for (int d = 0; d < depth; ++d) pthread_mutex_init(&locks[d], NULL);

  double start = now_ns();
  pthread_t t[MAX_THREADS];
  for (int i = 0; i < threads; ++i) pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < threads; ++i) pthread_join(t[i], NULL);
  double elapsed = now_ns() - start;

  printf("%.1f\n", elapsed / ((double)iters * depth * threads));
  return 0;
}
