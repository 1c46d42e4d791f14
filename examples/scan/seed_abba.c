/* Seed "Kernel-level deadlocks in Linux": a module's file operations nest lock1 and lock2 in
 * both orders. Expected: circular_dependency between lock1 and lock2 (bad_function,
 * another_function). */
#include "kapi.h"

spinlock_t lock1, lock2;

void bad_function(void)
{
	spin_lock(&lock1);
	spin_lock(&lock2);
	/* Critical section */
	spin_unlock(&lock2);
	spin_unlock(&lock1);
}

void another_function(void)
{
	spin_lock(&lock2);
	spin_lock(&lock1);
	/* Critical section */
	spin_unlock(&lock1);
	spin_unlock(&lock2);
}
