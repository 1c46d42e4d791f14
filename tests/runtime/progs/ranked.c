/* Lock types layered as C++ code layers them (HotSpot's Mutex and Monitor both construct a
 * PlatformMonitor): every lock of the program is made by platform_init(), called from
 * mutex_new() or monitor_new(), and all of them are made in one function, make_locks(), as a
 * program makes its named global locks at start-up. The program nests them in a fixed rank
 * order: heap_lock (a monitor) before tty_lock (a mutex), stats_lock (a mutex) before
 * code_lock (a monitor). Correct: no cycle between any two locks. A class per init site and
 * its caller only would make two classes, "from mutex_new" and "from monitor_new", and those
 * two nestings a cycle between them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct lock {
  pthread_mutex_t m;
  const char* name;
};

__attribute__((noinline)) static void platform_init(struct lock* l) { pthread_mutex_init(&l->m, NULL); }

__attribute__((noinline)) static struct lock* mutex_new(const char* name) {
  struct lock* l = malloc(sizeof *l);
  l->name = name;
  platform_init(l);
  return l;
}

__attribute__((noinline)) static struct lock* monitor_new(const char* name) {
  struct lock* l = malloc(sizeof *l);
  l->name = name;
  platform_init(l);
  return l;
}

static struct lock *heap_lock, *code_lock, *tty_lock, *stats_lock;

__attribute__((noinline)) static void make_locks(void) {
  heap_lock = monitor_new("heap_lock");
  code_lock = monitor_new("code_lock");
  tty_lock = mutex_new("tty_lock");
  stats_lock = mutex_new("stats_lock");
}

static void nest(struct lock* outer, struct lock* inner) {
  pthread_mutex_lock(&outer->m);
  pthread_mutex_lock(&inner->m);
  pthread_mutex_unlock(&inner->m);
  pthread_mutex_unlock(&outer->m);
}

static void* gc_thread(void* arg) {
  for (int i = 0; i < 100; ++i) nest(heap_lock, tty_lock);
  return arg;
}

static void* compiler_thread(void* arg) {
  for (int i = 0; i < 100; ++i) nest(stats_lock, code_lock);
  return arg;
}

int main(void) {
  make_locks();
  pthread_t a, b;
  pthread_create(&a, NULL, gc_thread, NULL);
  pthread_create(&b, NULL, compiler_thread, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  puts("ranked done");
  return 0;
}
