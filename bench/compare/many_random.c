/* many-random: 100k distinct pthread mutexes (malloc'ed), visited at random. Each step picks i
 * uniformly in [0, N-3] with a fixed-seed xorshift generator (no libc rand, so every run and every
 * tool sees the same sequence), sets j = i + 1 + one random bit, locks i then j and unlocks j then
 * i. The order is always consistent (lower index first) but the pairs vary and the accesses miss
 * the cache, unlike the sequential walk of many_seq.
 *
 *   many_random STEPS [initializer|init]   (each step is two acquire/release pairs)
 *
 * How the mutexes are made ready:
 *   initializer (default)  each is assigned PTHREAD_MUTEX_INITIALIZER, as a C++ std::mutex member
 *                          is: 100k unrelated locks, for lockhound 100k classes (one per address)
 *   init                   pthread_mutex_init() in one loop: for lockhound (lockdep's rule: a class
 *                          per init call site) they are all one class, so nesting two of them is
 *                          reported as recursive locking and the benchmark measures a program with
 *                          a finding
 *
 * Prints the process CPU time per acquire/release pair in ns as the last line of stdout. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N = 100000 };

static uint64_t rng_state = 0x9e3779b97f4a7c15ull; /* fixed seed */

static uint64_t xorshift64(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

// One pass: the same STEPS pairs every time (the generator restarts from its seed).
static void walk(pthread_mutex_t* m, long steps) {
  rng_state = 0x9e3779b97f4a7c15ull;
  for (long s = 0; s < steps; ++s) {
    uint64_t r = xorshift64();
    int i = (int)((r >> 1) % (N - 2)); /* 0 .. N-3 */
    int j = i + 1 + (int)(r & 1);      /* i+1 or i+2: always after i */
    pthread_mutex_lock(&m[i]);
    pthread_mutex_lock(&m[j]);
    pthread_mutex_unlock(&m[j]);
    pthread_mutex_unlock(&m[i]);
  }
}

int main(int argc, char** argv) {
  int use_init = 0, warm = 0, bad = argc < 2 || atol(argv[1]) <= 0;
  for (int a = 2; a < argc; ++a) {
    if (!strcmp(argv[a], "init")) use_init = 1;
    else if (!strcmp(argv[a], "warm")) warm = 1;
    else if (strcmp(argv[a], "initializer") != 0) bad = 1;
  }
  if (bad) {
    fprintf(stderr, "usage: %s STEPS [initializer|init] [warm]\n", argv[0]);
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

  if (warm) walk(m, steps); /* untimed: every pair has been seen once before the timed pass */
  double start = now_ns();
  walk(m, steps);
  double elapsed = now_ns() - start;

  printf("%.1f\n", elapsed / (2.0 * steps));
  /* No pthread_mutex_destroy/free: exit reclaims them, and tearing down 100k tracked locks
   * one by one is slow under some tools (untimed, but it would lengthen the benchmark). */
  return 0;
}
