// A static buffer recycled for objects of two types (placement new, as a static pool does): a
// Queue, whose mutex is taken before `registry`, is destroyed; then an Account is built in the
// same storage, and its mutex is taken after `registry`. The two mutexes never lived at the same
// time: no cycle. A static pthread mutex destroyed and initialised again elsewhere, the same.
// Expected: no findings.
#include <pthread.h>

#include <cstdio>
#include <new>
#include <thread>

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;

struct Queue {
  pthread_mutex_t lock;
  int items = 0;
  Queue() { pthread_mutex_init(&lock, nullptr); }
  ~Queue() { pthread_mutex_destroy(&lock); }
};

struct Account {
  pthread_mutex_t lock;
  long balance = 0;
  Account() { pthread_mutex_init(&lock, nullptr); }
  ~Account() { pthread_mutex_destroy(&lock); }
};

// One slot, big enough for either, with the mutexes at the same offset in both.
struct alignas(64) Slot {
  unsigned char bytes[128];
};
static Slot slot;
static_assert(sizeof(Queue) <= sizeof(Slot) && sizeof(Account) <= sizeof(Slot));

// A static mutex of a pool, recycled: destroyed, then initialised again at another site.
static pthread_mutex_t pooled;

__attribute__((noinline)) static void enqueue(Queue* q) {
  pthread_mutex_lock(&q->lock);
  pthread_mutex_lock(&registry);
  ++q->items;
  pthread_mutex_unlock(&registry);
  pthread_mutex_unlock(&q->lock);
}

__attribute__((noinline)) static void deposit(Account* a) {
  pthread_mutex_lock(&registry);
  pthread_mutex_lock(&a->lock);
  a->balance += 10;
  pthread_mutex_unlock(&a->lock);
  pthread_mutex_unlock(&registry);
}

__attribute__((noinline)) static void first_life() {
  pthread_mutex_init(&pooled, nullptr);
  pthread_mutex_lock(&pooled);
  pthread_mutex_lock(&registry);
  pthread_mutex_unlock(&registry);
  pthread_mutex_unlock(&pooled);
  pthread_mutex_destroy(&pooled);
}

__attribute__((noinline)) static void second_life() {
  pthread_mutex_init(&pooled, nullptr);
  pthread_mutex_lock(&registry);
  pthread_mutex_lock(&pooled);
  pthread_mutex_unlock(&pooled);
  pthread_mutex_unlock(&registry);
  pthread_mutex_destroy(&pooled);
}

int main() {
  Queue* q = new (&slot) Queue;
  std::thread(enqueue, q).join();
  q->~Queue();
  Account* a = new (&slot) Account;
  std::thread(deposit, a).join();
  long balance = a->balance;
  a->~Account();
  std::thread(first_life).join();
  std::thread(second_life).join();
  std::printf("static_reuse done %ld\n", balance);
  return 0;
}
