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
 *   init                   pthread_mutex_init() in one loop: for lockhound (a class per init call
 *                          site) they are all one class, and two of them nested is checked per
 *                          pair of locks (each pair once by the engine, then by its own key)
 *
 * Prints the process CPU time per acquire/release pair in ns as the last line of stdout. */
#include <stdint.h>

#include "many_main.h"

// One pass: the same STEPS pairs every time (the generator restarts from its seed).
static void walk(pthread_mutex_t* m, long steps) {
  random_pairs_reset();
  for (long s = 0; s < steps; ++s) {
    long i, j;
    random_pair(N, &i, &j);
    pthread_mutex_lock(&m[i]);
    pthread_mutex_lock(&m[j]);
    pthread_mutex_unlock(&m[j]);
    pthread_mutex_unlock(&m[i]);
  }
}

int main(int argc, char** argv) { return many_main(argc, argv, walk); }
