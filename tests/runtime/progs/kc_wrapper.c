// Two databases, each with a method lock taken through kc_lock_writer()/kc_lock_reader() of a
// shared library built -O2 (kc_rwlock_lib.c: Kyoto Cabinet's shape). db_iterate() holds its
// database's lock as writer and reads the other database inside; main iterates A then B: an ABBA
// whose outer acquisitions are made by the library's wrapper, which has returned by the time the
// inner lock is taken. Each lock is taken alone first (db_set), so these acquisitions are not the
// locks' first ones.
#include <stdio.h>
#include <stdlib.h>

typedef struct kc_rwlock kc_rwlock;
kc_rwlock* kc_rwlock_new(void);
void kc_rwlock_free(kc_rwlock* l);
void kc_lock_writer(kc_rwlock* l);
void kc_lock_reader(kc_rwlock* l);
void kc_unlock(kc_rwlock* l);

struct db {
  kc_rwlock* mlock;
  int value;
};

__attribute__((noinline)) static struct db* db_open(void) {
  struct db* d = calloc(1, sizeof *d);
  if (!d) abort();
  d->mlock = kc_rwlock_new();
  return d;
}

__attribute__((noinline)) void db_set(struct db* d, int v) {
  kc_lock_writer(d->mlock);
  d->value = v;
  kc_unlock(d->mlock);
}

__attribute__((noinline)) int db_get(struct db* d) {
  kc_lock_reader(d->mlock);
  int v = d->value;
  kc_unlock(d->mlock);
  return v;
}

// Visits the database while holding its method lock as writer, reading the other one inside.
__attribute__((noinline)) int db_iterate(struct db* d, struct db* other) {
  kc_lock_writer(d->mlock);
  int sum = d->value + db_get(other);
  kc_unlock(d->mlock);
  return sum;
}

int main(void) {
  struct db* a = db_open();
  struct db* b = db_open();
  db_set(a, 1);
  db_set(b, 2);
  int s = db_iterate(a, b);
  s += db_iterate(b, a);
  printf("sum=%d\n", s);
  kc_rwlock_free(a->mlock);
  kc_rwlock_free(b->mlock);
  free(a);
  free(b);
  return 0;
}
