/* two mutexes in both orders, each two calls down.
 * expect: circular_dependency */
#include "kpatterns.h"
struct s4 { struct mutex a; struct mutex b; int v; };
static void s4_inner_b(struct s4 *s) { mutex_lock(&s->b); s->v++; mutex_unlock(&s->b); }
static void s4_mid_b(struct s4 *s) { s4_inner_b(s); }
void s4_path1(struct s4 *s) { mutex_lock(&s->a); s4_mid_b(s); mutex_unlock(&s->a); }
static void s4_inner_a(struct s4 *s) { mutex_lock(&s->a); s->v--; mutex_unlock(&s->a); }
static void s4_mid_a(struct s4 *s) { s4_inner_a(s); }
void s4_path2(struct s4 *s) { mutex_lock(&s->b); s4_mid_a(s); mutex_unlock(&s->b); }
