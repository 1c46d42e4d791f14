/* What the whole-process workloads share: the process CPU clock they time with, and many_random's
 * random pairs, from a fixed-seed xorshift generator (no libc rand: every run and every tool sees
 * the same sequence). */
#pragma once
#include <stdint.h>
#include <time.h>

static inline double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

#define RANDOM_PAIRS_SEED 0x9e3779b97f4a7c15ull
static uint64_t random_pairs_state __attribute__((unused)) = RANDOM_PAIRS_SEED;

/* Restarts the sequence. */
static inline void random_pairs_reset(void) { random_pairs_state = RANDOM_PAIRS_SEED; }

/* The next pair over n mutexes: i uniform in [0, n-3], j = i+1 or i+2 (always after i). */
static inline void random_pair(long n, long* i, long* j) {
  uint64_t x = random_pairs_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  random_pairs_state = x;
  *i = (long)((x >> 1) % (uint64_t)(n - 2));
  *j = *i + 1 + (long)(x & 1);
}
