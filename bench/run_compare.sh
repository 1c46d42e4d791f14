#!/usr/bin/env bash
# Whole-process comparison of lock-checking overhead: plain vs `lockhound run` vs
# ThreadSanitizer (detect_deadlocks=1) vs Helgrind (HELGRIND=1; very slow).
# Workloads (built here from the sources below): nested (3 nested mutexes, 1 and 2 threads) and
# many (100k distinct mutexes taken in varied but consistent orders), CPU ns per acquire/release
# pair, median of REPS runs.
#
#   bench/run_compare.sh [BUILD_DIR]     (default: build; needs BUILD_DIR/src/cli/lockhound)
set -euo pipefail
build=${1:-build}
lockhound=$(realpath "$build/src/cli/lockhound")
reps=${REPS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/nested.c" <<'SRC'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static pthread_mutex_t locks[4] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                                   PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
static long iters;
static int depth;
static void* work(void* a) {
  for (long i = 0; i < iters; ++i) {
    for (int d = 0; d < depth; ++d) pthread_mutex_lock(&locks[d]);
    for (int d = depth - 1; d >= 0; --d) pthread_mutex_unlock(&locks[d]);
  }
  return a;
}
int main(int argc, char** argv) {
  iters = atol(argv[1]);
  depth = atoi(argv[2]);
  int threads = atoi(argv[3]);
  struct timespec s, e;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &s);
  pthread_t t[8];
  for (int i = 0; i < threads; ++i) pthread_create(&t[i], 0, work, 0);
  for (int i = 0; i < threads; ++i) pthread_join(t[i], 0);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &e);
  double ns = (e.tv_sec - s.tv_sec) * 1e9 + (e.tv_nsec - s.tv_nsec);
  printf("%.1f\n", ns / ((double)iters * depth * threads));
  return 0;
}
SRC
cat > "$work/many.c" <<'SRC'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
enum { N = 100000 };
int main(int argc, char** argv) {
  int rounds = atoi(argv[1]);
  pthread_mutex_t* m = malloc(sizeof *m * N);
  for (int i = 0; i < N; ++i) pthread_mutex_init(&m[i], NULL);
  struct timespec s, e;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &s);
  long pairs = 0;
  for (int r = 0; r < rounds; ++r)
    for (int i = 0; i + 2 < N; i += 1 + (i * 7 + r) % 3) {  /* varied, always ascending */
      int j = i + 1 + (i + r) % 2;
      pthread_mutex_lock(&m[i]);
      pthread_mutex_lock(&m[j]);
      pthread_mutex_unlock(&m[j]);
      pthread_mutex_unlock(&m[i]);
      pairs += 2;
    }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &e);
  double ns = (e.tv_sec - s.tv_sec) * 1e9 + (e.tv_nsec - s.tv_nsec);
  printf("%.1f\n", ns / (double)pairs);
  return 0;
}
SRC
cc -O2 -pthread "$work/nested.c" -o "$work/nested"
cc -O2 -pthread "$work/many.c" -o "$work/many"
have_tsan=0
if command -v clang-14 >/dev/null; then
  clang-14 -O2 -fsanitize=thread "$work/nested.c" -o "$work/nested.tsan" &&
    clang-14 -O2 -fsanitize=thread "$work/many.c" -o "$work/many.tsan" && have_tsan=1
fi

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {  # measure LABEL CMD...
  local label=$1; shift
  local v
  v=$(for _ in $(seq "$reps"); do "$@" 2>/dev/null | tail -1; done | median)
  printf '%s\t%s\n' "$label" "$v"
}

printf 'workload\ttool\tns_per_pair\n'
for spec in "nested-1t:2000000 3 1" "nested-2t:1000000 3 2" "many:5"; do
  name=${spec%%:*}; args=${spec#*:}
  prog=$work/${name%%-*}
  measure "$name	plain" "$prog" $args
  measure "$name	lockhound" "$lockhound" run --no-summary --exitcode 0 -- "$prog" $args
  if [ "$have_tsan" = 1 ]; then
    TSAN_OPTIONS=detect_deadlocks=1:report_bugs=0 measure "$name	tsan" "$prog.tsan" $args
  fi
  if [ "${HELGRIND:-0}" = 1 ]; then
    measure "$name	helgrind" valgrind -q --tool=helgrind "$prog" $args
  fi
done
