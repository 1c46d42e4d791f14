/* The annotation API on the program's own locks (linked with -llockhound, no preload): classes
 * named by the program, an inversion between them, a thread named after its first lock events,
 * and lockhound_finding_count(). */
#include <lockhound/lockhound.h>
#include <stdio.h>

struct my_lock {
  volatile int word;
};

static struct my_lock alpha, beta;

static void take(struct my_lock* l) { lockhound_acquire(l, LOCKHOUND_WRITE, 0); }
static void drop(struct my_lock* l) { lockhound_release(l); }

int main(void) {
  lockhound_lock_init(&alpha, "alpha_lock", LOCKHOUND_MUTEX);
  lockhound_lock_init(&beta, "beta_lock", LOCKHOUND_MUTEX);
  take(&alpha);
  take(&beta);
  drop(&beta);
  drop(&alpha);
  lockhound_set_thread_name("ledger-writer");
  take(&beta);
  take(&alpha);
  drop(&alpha);
  drop(&beta);
  printf("findings: %zu\n", lockhound_finding_count());
  return 0;
}
