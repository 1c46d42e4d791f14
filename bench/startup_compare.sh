#!/usr/bin/env bash
# The fixed cost of a lockhound command (issue 19): `lockhound --version` and `lockhound run
# --no-summary -- /bin/true` beside plain /bin/true, whole processes, interleaved, medians.
#
#   bench/startup_compare.sh [BUILD_DIR] [OTHER_LOCKHOUND]
#
# BUILD_DIR (default build) gives BUILD_DIR/src/cli/lockhound and its liblockhound.so; a second
# lockhound executable (e.g. another commit's build, copied aside) is timed in the same run, with
# the same liblockhound.so. Environment: REPS (default 10).
# Output: a TSV table on stdout (command, binary, median_ms, min_ms, max_ms). Wrap it in
# flock /tmp/lockhound-cpu.lock on a shared machine.
set -euo pipefail

build=$(cd "${1:-build}" && pwd)
other=${2:-}
reps=${REPS:-10}
export LOCKHOUND_RUNTIME=$build/src/runtime/liblockhound.so
bins=("$build/src/cli/lockhound")
[ -n "$other" ] && bins+=("$(realpath "$other")")

ms() {  # wall milliseconds of one run of "$@", output discarded
  local s e
  s=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  e=$(date +%s%N)
  echo "scale=2; ($e - $s) / 1000000" | bc
}
declare -A times
for ((i = 0; i < reps; i++)); do
  times[plain]+="$(ms /bin/true) "
  for b in "${bins[@]}"; do
    times[version $b]+="$(ms "$b" --version) "
    times[run $b]+="$(ms "$b" run --no-summary -- /bin/true) "
  done
done
stats() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "%s\t%s\t%s", a[int((NR+1)/2)], a[1], a[NR]}'; }
printf 'command\tbinary\tmedian_ms\tmin_ms\tmax_ms\n'
printf '/bin/true\t-\t%s\n' "$(stats <<<"${times[plain]}")"
for b in "${bins[@]}"; do
  printf 'lockhound --version\t%s\t%s\n' "$b" "$(stats <<<"${times[version $b]}")"
  printf 'lockhound run --no-summary -- /bin/true\t%s\t%s\n' "$b" "$(stats <<<"${times[run $b]}")"
done
