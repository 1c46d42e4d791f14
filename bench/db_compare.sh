#!/usr/bin/env bash
# The lock-order database's costs (docs/performance.md, "The lock-order database"):
#
#   bench/db_compare.sh [BUILD_DIR]      (default: build)
#
# 1. The runtime with and without LOCKHOUND_DB, one run each, side by side: the nested and
#    many-locks workloads of bench/run_compare.sh (bench/compare/*.c) under `lockhound run`. Two
#    figures per run: CPU ns per acquire/release pair inside the locking loop (the workload's own
#    measure: the database is never on the lock path, so this should not move), and wall seconds
#    of the whole process (which includes writing the graph at exit), with their ratios.
# 2. `lockhound report` over a database of EDGES (default 1,000,000) edges from RUNS (default
#    100) runs made by build/bench/db_generate: wall time and peak memory (/usr/bin/time), and the
#    file's size.
#
# Environment: EDGES, RUNS; KEEP=1 keeps the scratch directory. Output: a TSV table on stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(realpath "${1:-build}")
lockhound=$build/src/cli/lockhound
generate=$build/bench/db_generate
edges=${EDGES:-1000000}
runs=${RUNS:-100}
for x in "$lockhound" "$generate"; do
  [ -x "$x" ] || { echo "db_compare: $x not found (build it first)" >&2; exit 2; }
done
command -v /usr/bin/time >/dev/null || { echo "db_compare: /usr/bin/time is missing (Debian package time)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/lockhound-db.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
cc=${CC:-cc}
for w in nested many_seq; do "$cc" -O2 -pthread "$here/compare/$w.c" -o "$work/$w"; done

now() { date +%s.%N; }
# run_one LABEL DBFLAG... -- PROG ARGS: prints "ns_per_pair wall_seconds"
run_one() {
  local t0 t1 ns
  t0=$(now)
  ns=$("$lockhound" run --no-summary --exitcode 0 "$@" | tail -1)
  t1=$(now)
  echo "$ns $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
}

printf 'workload\tns_per_pair\tns_per_pair_db\tratio\twall_s\twall_s_db\tratio\tdb_edges\n'
while read -r name prog args; do
  rm -f "$work/w.db"*
  read -r ns wall <<<"$(run_one -- "$work/$prog" $args)"
  read -r nsd walld <<<"$(run_one --db "$work/w.db" -- "$work/$prog" $args)"
  n=$(sqlite3 "$work/w.db" 'SELECT count(*) FROM edge_runs' 2>/dev/null || echo "?")
  awk -v w="$name" -v a="$ns" -v b="$nsd" -v c="$wall" -v d="$walld" -v n="$n" \
    'BEGIN { printf "%s\t%s\t%s\t%.2f\t%s\t%s\t%.2f\t%s\n", w, a, b, b / a, c, d, d / c, n }'
done <<'W'
nested-1t nested 4000000 3 1
nested-2t nested 2000000 3 2
many-seq many_seq 4000000
W

db="$work/big.db"
/usr/bin/time -f '%e %M' -o "$work/gen.time" "$generate" "$db" "$runs" "$((edges / runs))" >/dev/null
size=$(stat -c %s "$db")
/usr/bin/time -f '%e %M' -o "$work/report.time" "$lockhound" report "$db" --format json -o "$work/report.json" || true
found=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["findings"]), d["findings"][0]["type"] if d["findings"] else "-")' "$work/report.json")
read -r gsec gkb < <(tail -1 "$work/gen.time")
read -r rsec rkb < <(tail -1 "$work/report.time")
printf '\ndatabase\truns\tedges\tfile_MB\twrite_s\treport_s\treport_peak_MB\tfindings\n'
awk -v r="$runs" -v e="$edges" -v s="$size" -v g="$gsec" -v t="$rsec" -v m="$rkb" -v f="$found" \
  'BEGIN { printf "generated\t%d\t%d\t%.0f\t%s\t%s\t%.0f\t%s\n", r, e, s / 1048576, g, t, m / 1024, f }'
