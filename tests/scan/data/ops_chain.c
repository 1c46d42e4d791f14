/* A run of calls through an ops pointer with three implementations, in one block (the shape of
 * igb_phy_init_script_igp3: fifty calls of hw->phy.ops.write_reg). Each call gives every state
 * one successor per implementation; unmerged, forty calls made 3^40 states and the scan ran out
 * of memory (24 GB for Linux 6.1's igb). The chain runs from a timer and ends in a sleep: one
 * sleeping_in_invalid_context, found once the chain is through. */
#include "kops.h"

void msleep(unsigned int ms);
struct hw;
struct phy_ops { int (*write_reg)(struct hw *, unsigned int, unsigned int); };
struct hw { struct phy_ops ops; spinlock_t lock; struct timer_list timer; unsigned int regs[4]; };

static int write_a(struct hw *h, unsigned int r, unsigned int v) { h->regs[0] = r + v; return 0; }
static int write_b(struct hw *h, unsigned int r, unsigned int v)
{
	spin_lock(&h->lock);
	h->regs[1] = r ^ v;
	spin_unlock(&h->lock);
	return 0;
}
static int write_c(struct hw *h, unsigned int r, unsigned int v) { h->regs[2] = r - v; return 1; }

static void init_script(struct hw *h)
{
	h->ops.write_reg(h, 0x2F00, 0x0000);
	h->ops.write_reg(h, 0x2F01, 0x1EEF);
	h->ops.write_reg(h, 0x2F02, 0x3DDE);
	h->ops.write_reg(h, 0x2F03, 0x5CCD);
	h->ops.write_reg(h, 0x2F04, 0x7BBC);
	h->ops.write_reg(h, 0x2F05, 0x9AAB);
	h->ops.write_reg(h, 0x2F06, 0xB99A);
	h->ops.write_reg(h, 0x2F07, 0xD889);
	h->ops.write_reg(h, 0x2F08, 0xF778);
	h->ops.write_reg(h, 0x2F09, 0x1667);
	h->ops.write_reg(h, 0x2F0A, 0x3556);
	h->ops.write_reg(h, 0x2F0B, 0x5445);
	h->ops.write_reg(h, 0x2F0C, 0x7334);
	h->ops.write_reg(h, 0x2F0D, 0x9223);
	h->ops.write_reg(h, 0x2F0E, 0xB112);
	h->ops.write_reg(h, 0x2F0F, 0xD001);
	h->ops.write_reg(h, 0x2F10, 0xEEF0);
	h->ops.write_reg(h, 0x2F11, 0x0DDF);
	h->ops.write_reg(h, 0x2F12, 0x2CCE);
	h->ops.write_reg(h, 0x2F13, 0x4BBD);
	h->ops.write_reg(h, 0x2F14, 0x6AAC);
	h->ops.write_reg(h, 0x2F15, 0x899B);
	h->ops.write_reg(h, 0x2F16, 0xA88A);
	h->ops.write_reg(h, 0x2F17, 0xC779);
	h->ops.write_reg(h, 0x2F18, 0xE668);
	h->ops.write_reg(h, 0x2F19, 0x0557);
	h->ops.write_reg(h, 0x2F1A, 0x2446);
	h->ops.write_reg(h, 0x2F1B, 0x4335);
	h->ops.write_reg(h, 0x2F1C, 0x6224);
	h->ops.write_reg(h, 0x2F1D, 0x8113);
	h->ops.write_reg(h, 0x2F1E, 0xA002);
	h->ops.write_reg(h, 0x2F1F, 0xBEF1);
	h->ops.write_reg(h, 0x2F20, 0xDDE0);
	h->ops.write_reg(h, 0x2F21, 0xFCCF);
	h->ops.write_reg(h, 0x2F22, 0x1BBE);
	h->ops.write_reg(h, 0x2F23, 0x3AAD);
	h->ops.write_reg(h, 0x2F24, 0x599C);
	h->ops.write_reg(h, 0x2F25, 0x788B);
	h->ops.write_reg(h, 0x2F26, 0x977A);
	h->ops.write_reg(h, 0x2F27, 0xB669);
	msleep(1); /* BUG when run from the timer */
}

static void chain_timer(struct timer_list *t)
{
	struct hw *h = container_of(t, struct hw, timer);

	init_script(h);
}

void hw_probe(struct hw *h, int kind)
{
	if (kind == 0)
		h->ops.write_reg = write_a;
	else if (kind == 1)
		h->ops.write_reg = write_b;
	else
		h->ops.write_reg = write_c;
	timer_setup(&h->timer, chain_timer, 0);
}
