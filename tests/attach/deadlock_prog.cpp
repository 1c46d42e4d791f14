// A program that really hangs, for `lockhound attach` tests. The mode picks the hang:
//   abba     two threads take lock_a/lock_b in opposite orders (with a barrier: they deadlock)
//   cycle3   three threads: lock_a->lock_b, lock_b->lock_c, lock_c->lock_a
//   heap     abba on heap-allocated mutexes (no symbol names)
//   rwlock   one thread write-locks table_lock then wants lock_a; another holds lock_a and wants
//            table_lock for writing
//   wait     no cycle: a thread holds lock_a and sleeps; another waits for lock_a
//   exited   a thread exits holding lock_a; the main thread then waits for lock_a
//   join     the main thread holds lock_a and joins a thread that waits for lock_a
//   tick     no hang: prints "tick N" every 20 ms (to check that attach leaves it running)
// Prints "ready" once its threads are started.
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_c = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t barrier;

struct Pair {
  pthread_mutex_t* first;
  pthread_mutex_t* second;
};

__attribute__((noinline)) static void take_second(pthread_mutex_t* m) { pthread_mutex_lock(m); }

static void* lock_in_order(void* arg) {
  auto* p = static_cast<Pair*>(arg);
  pthread_mutex_lock(p->first);
  pthread_barrier_wait(&barrier);
  take_second(p->second);  // never returns in the deadlock modes
  return nullptr;
}

static void* writer_then_mutex(void*) {
  pthread_rwlock_wrlock(&table_lock);
  pthread_barrier_wait(&barrier);
  pthread_mutex_lock(&lock_a);
  return nullptr;
}

static void* mutex_then_writer(void*) {
  pthread_mutex_lock(&lock_a);
  pthread_barrier_wait(&barrier);
  pthread_rwlock_wrlock(&table_lock);
  return nullptr;
}

static void* hold_and_sleep(void*) {
  pthread_mutex_lock(&lock_a);
  pthread_barrier_wait(&barrier);
  for (;;) pause();
}

static void* waiter(void*) {
  pthread_barrier_wait(&barrier);
  pthread_mutex_lock(&lock_a);
  return nullptr;
}

static void* take_a(void*) {
  pthread_mutex_lock(&lock_a);
  return nullptr;
}

static void* lock_and_exit(void*) {
  pthread_mutex_lock(&lock_a);
  return nullptr;  // exits holding lock_a
}

static void ready() {
  std::printf("ready\n");
  std::fflush(stdout);
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "abba";
  pthread_t t[3];
  if (!std::strcmp(mode, "abba") || !std::strcmp(mode, "heap")) {
    pthread_mutex_t* a = &lock_a;
    pthread_mutex_t* b = &lock_b;
    if (!std::strcmp(mode, "heap")) {
      a = new pthread_mutex_t;
      b = new pthread_mutex_t;
      pthread_mutex_init(a, nullptr);
      pthread_mutex_init(b, nullptr);
    }
    static Pair p1, p2;
    p1 = {a, b};
    p2 = {b, a};
    pthread_barrier_init(&barrier, nullptr, 2);
    pthread_create(&t[0], nullptr, lock_in_order, &p1);
    pthread_create(&t[1], nullptr, lock_in_order, &p2);
    ready();
    pthread_join(t[0], nullptr);
  } else if (!std::strcmp(mode, "cycle3")) {
    static Pair p[3] = {{&lock_a, &lock_b}, {&lock_b, &lock_c}, {&lock_c, &lock_a}};
    pthread_barrier_init(&barrier, nullptr, 3);
    for (int i = 0; i < 3; ++i) pthread_create(&t[i], nullptr, lock_in_order, &p[i]);
    ready();
    pthread_join(t[0], nullptr);
  } else if (!std::strcmp(mode, "rwlock")) {
    pthread_barrier_init(&barrier, nullptr, 2);
    pthread_create(&t[0], nullptr, writer_then_mutex, nullptr);
    pthread_create(&t[1], nullptr, mutex_then_writer, nullptr);
    ready();
    pthread_join(t[0], nullptr);
  } else if (!std::strcmp(mode, "wait")) {
    pthread_barrier_init(&barrier, nullptr, 2);
    pthread_create(&t[0], nullptr, hold_and_sleep, nullptr);
    pthread_create(&t[1], nullptr, waiter, nullptr);
    ready();
    pthread_join(t[1], nullptr);
  } else if (!std::strcmp(mode, "exited")) {
    pthread_create(&t[0], nullptr, lock_and_exit, nullptr);
    pthread_join(t[0], nullptr);
    ready();
    pthread_mutex_lock(&lock_a);
  } else if (!std::strcmp(mode, "join")) {
    pthread_mutex_lock(&lock_a);
    pthread_create(&t[0], nullptr, take_a, nullptr);
    ready();
    pthread_join(t[0], nullptr);  // waits for a thread that waits for our lock_a
  } else if (!std::strcmp(mode, "tick")) {
    ready();
    for (int i = 0;; ++i) {
      std::printf("tick %d\n", i);
      std::fflush(stdout);
      usleep(20000);
    }
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
