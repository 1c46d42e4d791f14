/* Loads each library named on the command line, runs its plugin_run, and unloads it before the
 * next: dlreuse LIB_A LIB_B. Prints where each plugin's first_lock was and whether the two
 * shared an address (the case where a stale class would make a false cycle).
 *   dlreuse LIB_A LIB_B           unload each before loading the next
 *   dlreuse LIB_A LIB_B keep      keep both loaded: two plugins, two sets of locks
 *   dlreuse LIB_A hold            LIB_A's plugin_hold leaves its first_lock held, and the loader
 *                                 unloads LIB_A all the same: a held lock's memory is gone
 *   dlreuse LIB_A LIB_B order     each plugin's plugin_order takes the loader's two locks, a's in
 *                                 one order and b's in the other: a real cycle, whose two sides
 *                                 are code at one address in two libraries */
#include <dlfcn.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>

pthread_mutex_t loader_x = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t loader_y = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  if (strcmp(argv[2], "hold") == 0) {
    void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) return 1;
    void (*hold)(void) = (void (*)(void))dlsym(h, "plugin_hold");
    hold();
    dlclose(h);
    puts("unloaded");
    return 0;
  }
  int keep = argc > 3 && strcmp(argv[3], "keep") == 0;
  int order = argc > 3 && strcmp(argv[3], "order") == 0;
  for (int i = 1; i <= 2; ++i) {
    void* h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      fprintf(stderr, "%s\n", dlerror());
      return 1;
    }
    if (order) {
      void (*take)(pthread_mutex_t*, pthread_mutex_t*) =
          (void (*)(pthread_mutex_t*, pthread_mutex_t*))dlsym(h, "plugin_order");
      take(&loader_x, &loader_y);
      dlclose(h);
      continue;
    }
    void (*run)(void) = (void (*)(void))dlsym(h, "plugin_run");
    run();
    if (!keep) dlclose(h);
  }
  return 0;
}
