/* fresh-memory: how fast this machine hands a process memory it has not touched before, in GB/s:
 * 64 MiB of anonymous memory in huge pages, faulted in at once (MADV_POPULATE_WRITE), then
 * unmapped and mapped again (the kernel gives the same pages back, already backed).
 *
 *   fresh_memory        prints "first GBPS again GBPS"
 *
 * Not a workload: bench/run_compare.sh prints it before and after its runs, because the cold rows
 * depend on it. Every checker's tables are memory first touched during the run; on a virtual
 * machine whose host backs guest memory lazily, the first touch of a page costs the host's fault
 * too. On the project's machine the first pass measured 0.6-3 GB/s depending on the hour and the
 * second about 30 GB/s: the same cold workload then differs by a third between two hours. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* GB/s for faulting in `size` bytes of a new mapping, or -1 where the kernel cannot say. */
static double populate_rate(size_t size) {
  char* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return -1;
  madvise(p, size, MADV_HUGEPAGE);
  double t0 = now_s();
  int rc = madvise(p, size, MADV_POPULATE_WRITE);
  double t = now_s() - t0;
  munmap(p, size);
  return rc == 0 && t > 0 ? (double)size / t / 1e9 : -1;
}

int main(void) {
  size_t size = (size_t)64 << 20;
  double first = populate_rate(size);
  double again = populate_rate(size);
  if (first < 0 || again < 0) {
    fprintf(stderr, "fresh_memory: MADV_POPULATE_WRITE failed (Linux 5.14 or later needed)\n");
    return 1;
  }
  printf("first %.2f again %.2f\n", first, again);
  return 0;
}
