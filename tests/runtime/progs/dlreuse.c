/* Loads each library named on the command line, runs its plugin_run, and unloads it before the
 * next: dlreuse LIB_A LIB_B. Prints where each plugin's first_lock was and whether the two
 * shared an address (the case where a stale class would make a false cycle).
 *   dlreuse LIB_A LIB_B           unload each before loading the next
 *   dlreuse LIB_A LIB_B keep      keep both loaded: two plugins, two sets of locks
 *   dlreuse LIB_A hold            LIB_A's plugin_hold leaves its first_lock held, and the loader
 *                                 unloads LIB_A all the same: a held lock's memory is gone */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

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
  for (int i = 1; i <= 2; ++i) {
    void* h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      fprintf(stderr, "%s\n", dlerror());
      return 1;
    }
    void (*run)(void) = (void (*)(void))dlsym(h, "plugin_run");
    run();
    if (!keep) dlclose(h);
  }
  return 0;
}
