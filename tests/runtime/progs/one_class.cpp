// Two locks of one inferred class (one init site: the RWLock constructor, as in a B+ tree's
// nodes) and a global mutex: one thread holds node a, then takes the global; another holds the
// global, then takes node b. At class level that is a cycle, node -> global -> node, but no node
// lock plays both parts: it cannot deadlock. Expected: no deadlock finding, a note (shown with
// --show-guarded). Argument "same": the second thread takes node a, a real ABBA (a deadlock).
#include <pthread.h>

#include <cstdio>
#include <cstring>
#include <thread>

class RWLock {
 public:
  RWLock() { pthread_rwlock_init(&rw_, nullptr); }
  ~RWLock() { pthread_rwlock_destroy(&rw_); }
  __attribute__((noinline)) void lock_writer() { pthread_rwlock_wrlock(&rw_); }
  __attribute__((noinline)) void unlock() { pthread_rwlock_unlock(&rw_); }

 private:
  pthread_rwlock_t rw_;
};

struct Node {
  RWLock lock;
  int value = 0;
};

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;

// Every node is made here: one init site, one class for all their locks.
__attribute__((noinline)) static Node* make_node() { return new Node; }

__attribute__((noinline)) static void update_node_then_global(Node* n) {
  n->lock.lock_writer();
  pthread_mutex_lock(&global_lock);
  ++n->value;
  pthread_mutex_unlock(&global_lock);
  n->lock.unlock();
}

__attribute__((noinline)) static void update_global_then_node(Node* n) {
  pthread_mutex_lock(&global_lock);
  n->lock.lock_writer();
  ++n->value;
  n->lock.unlock();
  pthread_mutex_unlock(&global_lock);
}

int main(int argc, char** argv) {
  bool same = argc > 1 && std::strcmp(argv[1], "same") == 0;
  Node* nodes[2];
  for (Node*& n : nodes) n = make_node();  // one place, as a tree's node allocator
  Node* a = nodes[0];
  Node* b = nodes[1];
  std::thread(update_node_then_global, a).join();
  std::thread(update_global_then_node, same ? a : b).join();
  std::printf("one_class done %d\n", a->value + b->value);
  delete a;
  delete b;
  return 0;
}
