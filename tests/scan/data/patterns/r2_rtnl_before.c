/* the RTNL and a driver mutex taken in both orders.
 * expect: circular_dependency */
#include "kpatterns.h"
struct r2 { struct mutex cfg; int v; };
void r2_reconfig(struct r2 *r)
{
	rtnl_lock();
	mutex_lock(&r->cfg);
	r->v++;
	mutex_unlock(&r->cfg);
	rtnl_unlock();
}
void r2_stats(struct r2 *r)
{
	mutex_lock(&r->cfg);
	rtnl_lock();
	r->v--;
	rtnl_unlock();
	mutex_unlock(&r->cfg);
}
