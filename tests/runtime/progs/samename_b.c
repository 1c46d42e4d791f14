/* Two files, each with its own `static pthread_mutex_t lock`:
 *
 *   samename          queue's lock, then stats' lock inside it: nested, one order, clean
 *   samename cycle    that order, then the other (stats' lock, then queue's): a real cycle
 *                     between two locks that share a variable name */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void queue_push(void (*inner)(void));

static void stats_add(void) {
  pthread_mutex_lock(&lock);
  pthread_mutex_unlock(&lock);
}

static void stats_flush(void) {
  pthread_mutex_lock(&lock);
  queue_push(NULL);
  pthread_mutex_unlock(&lock);
}

int main(int argc, char** argv) {
  queue_push(stats_add);
  if (argc > 1 && strcmp(argv[1], "cycle") == 0) stats_flush();
  puts("done");
  return 0;
}
