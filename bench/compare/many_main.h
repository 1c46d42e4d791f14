/* The driver shared by the 100k-mutex workloads (many_seq.c, many_random.c): arguments, the
 * mutexes, the optional untimed warm-up pass, the timing and the printed figure. Each workload
 * supplies walk(), one pass of STEPS steps of two acquire/release pairs each.
 *
 *   PROG STEPS [initializer|init] [warm] [deep]
 *
 * deep: the walk runs 20 calls down (a server's lock calls are rarely five frames from main): a
 * checker that unwinds the stack at every new lock order pays for each frame.
 *
 * Prints the process CPU time per acquire/release pair in ns as the last line of stdout. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

enum { N = 100000, kDeep = 20 };

/* Calls walk() `depth` frames down (not a tail call: each frame stays on the stack). */
static volatile int g_depth_sink;
__attribute__((noinline)) static void walk_at(int depth, void (*walk)(pthread_mutex_t*, long), pthread_mutex_t* m,
                                              long steps) {
  if (depth > 0) walk_at(depth - 1, walk, m, steps);
  else walk(m, steps);
  g_depth_sink = depth;
}

static int many_main(int argc, char** argv, void (*walk)(pthread_mutex_t*, long)) {
  int use_init = 0, warm = 0, deep = 0, bad = argc < 2 || atol(argv[1]) <= 0;
  for (int a = 2; a < argc; ++a) {
    if (!strcmp(argv[a], "init")) use_init = 1;
    else if (!strcmp(argv[a], "warm")) warm = 1;
    else if (!strcmp(argv[a], "deep")) deep = kDeep;
    else if (strcmp(argv[a], "initializer") != 0) bad = 1;
  }
  if (bad) {
    fprintf(stderr, "usage: %s STEPS [initializer|init] [warm] [deep]\n", argv[0]);
    return 2;
  }
  long steps = atol(argv[1]);
  pthread_mutex_t* m = malloc(sizeof *m * N);
  if (!m) return 1;
  for (int i = 0; i < N; ++i) {
    if (use_init) {
      pthread_mutex_init(&m[i], NULL);
    } else {
      m[i] = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    }
  }

  if (warm) walk_at(deep, walk, m, steps); /* untimed: every pair has been seen once before the timed pass */
  double start = now_ns();
  walk_at(deep, walk, m, steps);
  double elapsed = now_ns() - start;

  printf("%.1f\n", elapsed / (2.0 * steps));
  /* No pthread_mutex_destroy/free: exit reclaims them, and tearing down 100k tracked locks
   * one by one is slow under some tools (untimed, but it would lengthen the benchmark). */
  return 0;
}
