/* The seed's fix: one lock order everywhere (lock1, then lock2). Expected: clean. */
#include "kapi.h"

spinlock_t lock1, lock2;

void fixed_function(void)
{
	spin_lock(&lock1);
	spin_lock(&lock2);
	/* Critical section */
	spin_unlock(&lock2);
	spin_unlock(&lock1);
}

void another_function(void)
{
	spin_lock(&lock1);
	spin_lock(&lock2);
	/* Critical section */
	spin_unlock(&lock2);
	spin_unlock(&lock1);
}
