/* Recursive locking. A normal mutex taken again by its owner (with a timeout, so the test does
 * not hang) is a certain self-deadlock: recursive_locking on `config_lock`. A recursive mutex
 * taken twice is fine and must not be reported. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t nested_ok = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

int main(int argc, char** argv) {
  int bad = !(argc > 1 && strcmp(argv[1], "good") == 0);
  pthread_mutex_lock(&nested_ok);
  pthread_mutex_lock(&nested_ok);
  pthread_mutex_unlock(&nested_ok);
  pthread_mutex_unlock(&nested_ok);
  if (bad) {
    pthread_mutex_lock(&config_lock);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += 50 * 1000 * 1000;
    if (t.tv_nsec >= 1000000000L) {
      t.tv_sec++;
      t.tv_nsec -= 1000000000L;
    }
    int rc = pthread_mutex_timedlock(&config_lock, &t);
    printf("relock: %s\n", rc == ETIMEDOUT ? "timed out" : "?");
    pthread_mutex_unlock(&config_lock);
  }
  puts("recursive done");
  return 0;
}
