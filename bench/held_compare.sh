#!/usr/bin/env bash
# Many locks of one class held at once, whole processes side by side: plain against
# `lockhound run` (bench/compare/many_held.c; issue 19, item 1).
#
#   bench/held_compare.sh [BUILD_DIR]     (default: build; uses BUILD_DIR/src/cli/lockhound)
#
# Each workload takes N locks made by one init call (one class), then releases them all, for R
# rounds: rwlocks as reader and as writer, and mutexes, released first-to-last (forward) and
# last-to-first (reverse), and rwlocks as writer released in a shuffled order (random). Also
# `lockhound run` on the same program with N=1, R=1: the fixed cost of a run (start-up and exit),
# which the ratio's target leaves aside. Then the growth with N: 1000, 2000, 4000, 8000 and 10000
# write locks (3 rounds, forward, and one row of 10000 shuffled): time beyond the fixed cost should
# grow about linearly.
#
# Environment: REPS (default 5) runs per row, plain and lockhound interleaved, medians; N (default
# 1024), ROUNDS (default 20); BIG=0 skips the growth rows.
# Output: a TSV table on stdout (workload, plain_s, lockhound_s, ratio, lockhound_minus_fixed_s,
# ratio_minus_fixed); progress on stderr. Wrap it in flock /tmp/lockhound-cpu.lock on a shared
# machine.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
lockhound=$(cd "$build" && pwd)/src/cli/lockhound
reps=${REPS:-5}
n=${N:-1024}
rounds=${ROUNDS:-20}
big=${BIG:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/lockhound-held.XXXXXX")
trap 'rm -rf "$work"' EXIT
cc -O2 -g -pthread -o "$work/many_held" "$here/compare/many_held.c"

seconds() {  # wall seconds of one run of "$@", output discarded
  local s e
  s=$(date +%s%N)
  "$@" >/dev/null 2>&1
  e=$(date +%s%N)
  echo "scale=4; ($e - $s) / 1000000000" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run="$lockhound run --no-summary --exitcode 0 --"
fixed=$(for _ in $(seq "$reps"); do seconds $run "$work/many_held" 1 1 write forward; done | median)
echo "fixed cost of a run (N=1, 1 round): $fixed s" >&2

rows=()
for mode in read write mutex; do
  for order in forward reverse; do rows+=("$n $rounds $mode $order"); done
done
rows+=("$n $rounds write random")
if [ "$big" != 0 ]; then
  for big_n in 1000 2000 4000 8000 10000; do rows+=("$big_n 3 write forward"); done
  rows+=("10000 3 read forward" "10000 3 write reverse" "10000 3 write random")
fi
printf 'workload\tplain_s\tlockhound_s\tratio\tlockhound_minus_fixed_s\tratio_minus_fixed\n'
printf 'fixed\t\t%s\t\t\t\n' "$fixed"
for row in "${rows[@]}"; do
  p=() l=()
  for _ in $(seq "$reps"); do
    p+=("$(seconds "$work/many_held" $row)")
    l+=("$(seconds $run "$work/many_held" $row)")
  done
  pm=$(printf '%s\n' "${p[@]}" | median)
  lm=$(printf '%s\n' "${l[@]}" | median)
  echo "$row: plain $pm s, lockhound $lm s" >&2
  awk -v w="$row" -v p="$pm" -v l="$lm" -v f="$fixed" 'BEGIN {
    d = l - f; if (d < 0) d = 0;
    printf "%s\t%.4f\t%.4f\t%.1f\t%.4f\t%.1f\n", w, p, l, (p > 0 ? l / p : 0), d, (p > 0 ? d / p : 0) }'
done
