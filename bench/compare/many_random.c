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
#include <stdint.h>

#include "many_main.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull; /* fixed seed */

static uint64_t xorshift64(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
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

int main(int argc, char** argv) { return many_main(argc, argv, walk); }
