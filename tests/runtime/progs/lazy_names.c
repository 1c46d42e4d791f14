/* Locks of the three kinds the runtime names itself: a static one (its symbol), ones made by an
 * init call (their init site) and one made on the heap with no init call (where it was first
 * locked). Always taken in one order: queue_lock, then each table bucket, then the heap lock.
 *   lazy_names          no problem: no name is needed
 *   lazy_names abba     also the heap lock, then queue_lock: a cycle between those two */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;

struct table {
  pthread_mutex_t buckets[8];
};

static struct table* make_table(void) {
  struct table* t = malloc(sizeof *t);
  for (int i = 0; i < 8; ++i) pthread_mutex_init(&t->buckets[i], NULL);
  return t;
}

static void fill(struct table* t, pthread_mutex_t* stats) {
  pthread_mutex_lock(&queue_lock);
  for (int i = 0; i < 8; ++i) {
    pthread_mutex_lock(&t->buckets[i]);
    pthread_mutex_lock(stats);
    pthread_mutex_unlock(stats);
    pthread_mutex_unlock(&t->buckets[i]);
  }
  pthread_mutex_unlock(&queue_lock);
}

static void flush_stats(pthread_mutex_t* stats) {
  pthread_mutex_lock(stats);
  pthread_mutex_lock(&queue_lock);
  pthread_mutex_unlock(&queue_lock);
  pthread_mutex_unlock(stats);
}

int main(int argc, char** argv) {
  struct table* t = make_table();
  pthread_mutex_t* stats = calloc(1, sizeof *stats);  /* all zeroes: a default mutex, no init call */
  fill(t, stats);
  if (argc > 1 && strcmp(argv[1], "abba") == 0) flush_stats(stats);
  puts("lazy_names done");
  return 0;
}
