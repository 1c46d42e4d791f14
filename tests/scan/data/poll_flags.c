/* Two shapes from Linux 6.1's Broadcom drivers, where lockhound scan reported locks that were
 * safe (drivers/net/ethernet/broadcom: 9 findings, 5 of them these).
 * - bnx2: the NAPI poll function is registered through a local function pointer (`poll =
 *   nic_poll; if (msix) poll = nic_poll_msix; netif_napi_add(dev, napi, poll)`). Both run in
 *   softirq context, as the timer does, so their plain spin_lock of phy_lock is safe; process
 *   context takes it with spin_lock_bh. Clean. Were the poll functions taken for process context,
 *   phy_lock would be "taken in softirq and with softirqs enabled".
 * - bnx2x: the timer calls the VF path only `if (IS_VF(nic))`, and three calls down the PF-only
 *   code (a mutex) runs only `if (IS_PF(nic))`: a one-bit mask test and its negation, so the mutex
 *   is never taken from the timer. Clean. The same mutex reached from a second timer that tests
 *   nothing is a real sleep in softirq context: one invalid_wait_context, from vf_timer_bad. */
#include "kops.h"

struct napi_struct { int weight; };
void netif_napi_add(struct net_device *dev, struct napi_struct *napi, int (*poll)(struct napi_struct *, int));
struct mutex { int owner; };
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);

#define IS_VF_FLAG (1 << 22)
#define IS_VF(n) ((n)->flags & IS_VF_FLAG)
#define IS_PF(n) (!((n)->flags & IS_VF_FLAG))

struct nic {
	unsigned int flags;
	spinlock_t phy_lock;
	struct mutex bulletin_mutex;
	struct napi_struct napi[2];
	struct timer_list timer;
	struct timer_list vf_timer;
	struct timer_list bad_timer;
	struct net_device *dev;
	int links, polls;
};

static struct nic *nic_of(struct napi_struct *napi)
{
	return container_of(napi, struct nic, napi[0]);
}

static int nic_poll(struct napi_struct *napi, int budget)
{
	struct nic *n = nic_of(napi);

	spin_lock(&n->phy_lock);
	n->polls++;
	spin_unlock(&n->phy_lock);
	return 0;
}

static int nic_poll_msix(struct napi_struct *napi, int budget)
{
	struct nic *n = nic_of(napi);

	spin_lock(&n->phy_lock);
	n->polls += 2;
	spin_unlock(&n->phy_lock);
	return 0;
}

static void nic_timer(struct timer_list *t)
{
	struct nic *n = container_of(t, struct nic, timer);

	spin_lock(&n->phy_lock);
	n->links++;
	spin_unlock(&n->phy_lock);
}

void nic_open(struct nic *n, int msix)
{
	int (*poll)(struct napi_struct *, int);

	poll = nic_poll;
	if (msix)
		poll = nic_poll_msix;
	netif_napi_add(n->dev, &n->napi[0], poll);
	timer_setup(&n->timer, nic_timer, 0);
	spin_lock_bh(&n->phy_lock);
	n->links = 0;
	spin_unlock_bh(&n->phy_lock);
}

static void update_vfs(struct nic *n)
{
	mutex_lock(&n->bulletin_mutex);
	n->links++;
	mutex_unlock(&n->bulletin_mutex);
}

static void link_report(struct nic *n)
{
	if (IS_PF(n))
		update_vfs(n);
}

static void sample_bulletin(struct nic *n)
{
	link_report(n);
}

static void vf_timer(struct timer_list *t)
{
	struct nic *n = container_of(t, struct nic, vf_timer);

	if (IS_VF(n))
		sample_bulletin(n);
}

static void vf_timer_bad(struct timer_list *t)
{
	struct nic *n = container_of(t, struct nic, bad_timer);

	sample_bulletin(n);
}

void nic_probe(struct nic *n)
{
	timer_setup(&n->vf_timer, vf_timer, 0);
	timer_setup(&n->bad_timer, vf_timer_bad, 0);
	link_report(n);
}
