/* A user's C program with lockhound's C annotation API, built with `pkg-config --cflags --libs
 * lockhound` (tests/install/install_test.sh): its own lock type, declared to lockhound, taken in
 * both orders (ABBA) by one thread in turn; lockhound reports the inversion. */
#include <stdio.h>

#include <lockhound/lockhound.h>

struct my_lock {
  int word;
};

static struct my_lock journal, index_lock;

static void lock(struct my_lock *l) { lockhound_acquire(l, LOCKHOUND_WRITE, 0); l->word = 1; }
static void unlock(struct my_lock *l) { l->word = 0; lockhound_release(l); }

int main(void) {
  lockhound_lock_init(&journal, "journal", LOCKHOUND_MUTEX);
  lockhound_lock_init(&index_lock, "index_lock", LOCKHOUND_MUTEX);
  lock(&journal);
  lock(&index_lock);
  unlock(&index_lock);
  unlock(&journal);
  lock(&index_lock);
  lock(&journal);
  unlock(&journal);
  unlock(&index_lock);
  puts("ledger done");
  return 0;
}
