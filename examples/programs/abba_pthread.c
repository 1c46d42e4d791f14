/* Seed 2 as an ordinary pthread program, with no lockhound in it: bank transfers lock the two
 * accounts in argument order, so transfer(a, b) and transfer(b, a) take the locks in opposite
 * orders. The two transfers here run one after the other, so this run never hangs; run it under
 * `lockhound run -- ./abba_pthread` and the ABBA inversion is reported with both call stacks.
 * Build with -DFIXED for the fix: always lock the lower-numbered account first. */
#include <pthread.h>
#include <stdio.h>

struct account {
  int id;
  long balance;
  pthread_mutex_t lock;
};

static struct account alice = {1, 100, PTHREAD_MUTEX_INITIALIZER};
static struct account bob = {2, 100, PTHREAD_MUTEX_INITIALIZER};

static void transfer(struct account *from, struct account *to, long amount) {
  struct account *first = from, *second = to;
#ifdef FIXED
  if (to->id < from->id) {
    first = to;
    second = from;
  }
#endif
  pthread_mutex_lock(&first->lock);
  pthread_mutex_lock(&second->lock);
  from->balance -= amount;
  to->balance += amount;
  pthread_mutex_unlock(&second->lock);
  pthread_mutex_unlock(&first->lock);
}

static void *pay_bob(void *arg) {
  (void)arg;
  transfer(&alice, &bob, 10);
  return NULL;
}

static void *pay_alice(void *arg) {
  (void)arg;
  transfer(&bob, &alice, 5);
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, pay_bob, NULL);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, pay_alice, NULL);
  pthread_join(t, NULL);
  printf("alice=%ld bob=%ld\n", alice.balance, bob.balance);
  return 0;
}
