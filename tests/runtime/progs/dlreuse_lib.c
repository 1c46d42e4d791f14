/* A plugin with two static mutexes and two static spinlocks. Built twice: libdlreuse_a.so takes
 * each pair first then second, libdlreuse_b.so (REVERSE) second then first. The two have the same
 * layout, so b, loaded after a was unloaded, usually lands at a's address. plugin_hold leaves
 * first_lock held; plugin_order takes two locks of the loader's, in each library's order. */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t second_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_spinlock_t first_spin;
pthread_spinlock_t second_spin;

#ifdef REVERSE
#define A second
#define B first
#else
#define A first
#define B second
#endif
#define CAT(x, y) x##y
#define LOCK(p) CAT(p, _lock)
#define SPIN(p) CAT(p, _spin)

void plugin_run(void) {
  pthread_spin_init(&first_spin, PTHREAD_PROCESS_PRIVATE);
  pthread_spin_init(&second_spin, PTHREAD_PROCESS_PRIVATE);
  pthread_mutex_lock(&LOCK(A));
  pthread_mutex_lock(&LOCK(B));
  pthread_mutex_unlock(&LOCK(B));
  pthread_mutex_unlock(&LOCK(A));
  pthread_spin_lock(&SPIN(A));
  pthread_spin_lock(&SPIN(B));
  pthread_spin_unlock(&SPIN(B));
  pthread_spin_unlock(&SPIN(A));
  printf("%p\n", (void*)&first_lock);
}

// Takes the loader's two locks, x then y (libdlreuse_a.so, take_xy) or y then x (b, take_yx),
// and prints where its code is: the two functions have the same place in their libraries.
#ifdef REVERSE
#define TAKE take_yx
#define FIRST y
#define SECOND x
#else
#define TAKE take_xy
#define FIRST x
#define SECOND y
#endif
__attribute__((noinline)) static void TAKE(pthread_mutex_t* x, pthread_mutex_t* y) {
  pthread_mutex_lock(FIRST);
  pthread_mutex_lock(SECOND);
  pthread_mutex_unlock(SECOND);
  pthread_mutex_unlock(FIRST);
  __asm__ volatile("");  // keeps the unlocks from being tail calls
}
void plugin_order(pthread_mutex_t* x, pthread_mutex_t* y) {
  TAKE(x, y);
  printf("%p\n", (void*)&TAKE);
}

// Takes first_lock and returns without releasing it: the loader then unloads the plugin.
void plugin_hold(void) { pthread_mutex_lock(&first_lock); }
