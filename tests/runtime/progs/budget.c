/* Many lock classes and edges for a tiny memory budget (max_memory_mb=1): locks never initialised
 * by a call are one class each, and each is taken under the one before it. lockhound must say once
 * that the budget is reached and step aside; the program runs on and prints its own result. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 50000;
  static const pthread_mutex_t init = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_t* m = malloc(sizeof *m * (size_t)n);
  for (int i = 0; i < n; ++i) m[i] = init;
  long sum = 0;
  for (int i = 0; i + 1 < n; ++i) {
    pthread_mutex_lock(&m[i]);
    pthread_mutex_lock(&m[i + 1]);
    sum += i;
    pthread_mutex_unlock(&m[i + 1]);
    pthread_mutex_unlock(&m[i]);
  }
  free(m);
  printf("budget sum=%ld\n", sum);
  return 0;
}
