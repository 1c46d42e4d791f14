/* Methods called through an ops pointer come from one table. Three families of hardware fill
 * `struct nvm_ops` differently: one takes a global mutex in acquire and drops it in release, one
 * does nothing, and one (set up by assignments) takes another mutex. A loop acquires and releases
 * through the pointer (the shape of e1000e's e1000e_write_nvm_spi). Pairing one family's acquire
 * with another's release is a path no device takes: it would leave nvm_mutex held into the next
 * round (a recursion) or order the two mutexes. Only `take_twice`, which really takes the same
 * family's lock twice, is a bug. */
#include "kops.h"

struct mutex { int owner; };
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
#define DEFINE_MUTEX(n) struct mutex n = { 0 }
void msleep(unsigned int ms);

struct hw;
struct nvm_ops {
	int (*acquire)(struct hw *hw);
	void (*release)(struct hw *hw);
};
struct hw {
	struct nvm_ops ops;
	int family;
};

static DEFINE_MUTEX(nvm_mutex);
static DEFINE_MUTEX(eeprom_mutex);

static int acquire_nvm(struct hw *hw) { mutex_lock(&nvm_mutex); return 0; }
static void release_nvm(struct hw *hw) { mutex_unlock(&nvm_mutex); }
static int acquire_none(struct hw *hw) { return 0; }
static void release_none(struct hw *hw) { }
static int acquire_eeprom(struct hw *hw) { mutex_lock(&eeprom_mutex); return 0; }
static void release_eeprom(struct hw *hw) { mutex_unlock(&eeprom_mutex); }

/* Two tables share acquire_nvm and release_nvm. */
static const struct nvm_ops family_a_ops = { .acquire = acquire_nvm, .release = release_nvm };
static const struct nvm_ops family_b_ops = { .acquire = acquire_nvm, .release = release_nvm };
static const struct nvm_ops family_c_ops = { .acquire = acquire_none, .release = release_none };

void setup(struct hw *hw)
{
	if (hw->family == 0)
		hw->ops = family_a_ops;
	else if (hw->family == 1)
		hw->ops = family_b_ops;
	else
		hw->ops = family_c_ops;
}

void setup_eeprom(struct hw *hw)
{
	hw->ops.acquire = acquire_eeprom;
	hw->ops.release = release_eeprom;
}

int write_words(struct hw *hw, int words)
{
	int i;

	for (i = 0; i < words; i++) {
		if (hw->ops.acquire(hw))
			return -1;
		msleep(1);
		hw->ops.release(hw);
	}
	return 0;
}

int take_twice(struct hw *hw)
{
	hw->ops.acquire(hw);
	hw->ops.acquire(hw);
	hw->ops.release(hw);
	hw->ops.release(hw);
	return 0;
}
