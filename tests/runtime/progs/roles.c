/* A parent's lock, then list_lock, then a child's lock, parent and child made by the same code
 * (one init-site class). By the class rule this is a cycle (class -> list_lock -> class); it is
 * a deadlock only if one node can be both a parent here and a child there (a tree). Expected:
 * circular_dependency whose details say it passes the class through two different locks. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct node {
  pthread_mutex_t m;
  struct node* child;
};
pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static struct node* node_new(void) {
  struct node* n = calloc(1, sizeof *n);
  pthread_mutex_init(&n->m, NULL);
  return n;
}

int main(int argc, char** argv) {
  (void)argv;
  struct node* nodes[8];
  for (int i = 0; i < argc + 1; ++i) nodes[i] = node_new();  /* one call site for every node */
  struct node* parent = nodes[0];
  parent->child = nodes[1];
  pthread_mutex_lock(&parent->m);
  pthread_mutex_lock(&list_lock);
  pthread_mutex_lock(&parent->child->m);
  pthread_mutex_unlock(&parent->child->m);
  pthread_mutex_unlock(&list_lock);
  pthread_mutex_unlock(&parent->m);
  puts("roles done");
  return 0;
}
