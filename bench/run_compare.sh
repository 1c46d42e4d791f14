#!/usr/bin/env bash
# Side-by-side whole-process benchmark of lock-order checking: plain vs `lockhound run` vs
# ThreadSanitizer (detect_deadlocks=1) vs Helgrind vs absl::Mutex with its deadlock detection.
#
#   bench/run_compare.sh [BUILD_DIR]     (default: build; uses BUILD_DIR/src/cli/lockhound)
#
# Workloads (sources in bench/compare/, built here into a scratch directory):
#   nested-1t, nested-2t  3 nested pthread mutexes, 1 and 2 threads            (nested.c)
#   many-seq              100k mutexes, ascending walk with varied strides      (many_seq.c)
#   many-random           100k mutexes, random pairs (i, i+1|i+2), fixed seed   (many_random.c)
#                         (the 100k mutexes are malloc'ed and set to PTHREAD_MUTEX_INITIALIZER,
#                         as std::mutex members are: 100k unrelated locks for every tool)
#   many-seq-warm, many-random-warm
#                         the same, after an untimed pass over the same pairs: the steady state
#                         of a checker that does its work when it first sees a lock order
#                         (plain, lockhound and TSan only)
#   many-random-1site     many-random with pthread_mutex_init() in one loop: one init call site
#                         is one lockhound class (lockdep's rule), so lockhound reports recursive
#                         locking and repeats it on every pair; plain and lockhound only
#   spin-2t               pthread spinlocks, 2 threads each on its own spinlock and mutex: the
#                         spinlock alone, then under the mutex (spin.c); no abseil version
#   git-grep              a real program: `git grep --threads=2` over a generated repository
#                         (60k blobs), which takes a pthread mutex around every object read
#   abba-after-N          not timed: does each tool report one ABBA between two mutexes when N
#                         other live mutexes were used in between (abba_after.c), for N = 4096,
#                         4097 and 100000 (ThreadSanitizer's deadlock detector holds 4096 locks)
# The lock workloads print CPU ns per acquire/release pair (CLOCK_PROCESS_CPUTIME_ID, measured
# inside the process around the locking loop only); git-grep is wall seconds of the whole process.
#
# Tools:
#   plain          the program as built (-O2)
#   lockhound      lockhound run --no-summary --exitcode 0 -- PROG ARGS
#   tsan           clang-14 -fsanitize=thread, TSAN_OPTIONS=detect_deadlocks=1:report_bugs=0
#   abseil         the same workloads on absl::Mutex, deadlock detection off (kIgnore)
#   abseil-detect  absl::Mutex with deadlock detection on (kReport); checked first with an ABBA
#                  self-test that must print abseil's "Potential Mutex deadlock" report
#   helgrind       valgrind --tool=helgrind on the plain binaries, with fewer iterations (its cost
#                  per pair is thousands of times plain); on git-grep it greps 1/40 of the files:
#                  the row git-grep-1of40 has plain, lockhound and Helgrind on that smaller input
# TSan and abseil need recompiling, so they do not apply to git-grep (n/a).
#
# Environment: REPS (default 5) runs per workload and tool, interleaved, medians reported;
# SLOW_SECONDS (default 20; 0 = no limit): a tool whose first run of a lock workload takes longer
# than this is not run again (the note column says runs=1 and how long it took) — building a
# lock graph of 100k locks takes some checkers a minute; HELGRIND=0 skips Helgrind; OUT=FILE also
# writes the TSV table to FILE. A missing tool is reported as "skipped: ..." and its rows say
# "skipped"; the run goes on. A default run takes about 7–9 minutes on a 2-core machine.
#
# Output on stdout: a TSV table (workload, tool, value, unit, ratio_to_plain, note), then a
# readable summary, with how fast this machine faulted in fresh memory before and after the runs
# (fresh_memory.c: on a virtual machine it swings with the hour, and the cold rows with it).
# Progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$here/compare
build=${1:-build}
reps=${REPS:-5}
slow_seconds=${SLOW_SECONDS:-20}
helgrind_on=${HELGRIND:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/lockhound-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/res"

# Workload sizes. Same counts for every tool except Helgrind (its own, much smaller counts).
nested1_args="4000000 3 1"   # 12M pairs
nested2_args="2000000 3 2"   # 12M pairs
seq_steps=4000000            # 8M pairs
random_steps=8000000         # 16M pairs, ~0.5 s plain
hg_nested1_args="200000 3 1"
hg_nested2_args="100000 3 2"
hg_seq_steps=15000
hg_random_steps=10000
spin_args="2000000 2"        # 12M pairs
hg_spin_args="100000 2"
git_files=60000              # blobs in the generated repository, spread over git_dirs directories
git_dirs=200
hg_git_dirs=5                # Helgrind greps these many directories (1/40 of the files)

log() { printf '%s\n' "$*" >&2; }
skipped=()  # "tool: reason" for the summary
skip() { skipped+=("$1"); log "skipped: $1"; }

# ---- build the workloads -------------------------------------------------------------------
cc=${CC:-cc}
for w in nested many_seq many_random spin; do
  "$cc" -O2 -pthread "$src/$w.c" -o "$work/$w"
done
# How fast memory touched for the first time comes (fresh_memory.c): the cold rows move with it.
"$cc" -O2 "$src/fresh_memory.c" -o "$work/fresh_memory"
fresh_before=$("$work/fresh_memory" || echo "unknown")

lockhound=""
if [ -x "$build/src/cli/lockhound" ]; then
  lockhound=$(realpath "$build/src/cli/lockhound")
else
  skip "lockhound: $build/src/cli/lockhound not found (build it, or pass the build directory)"
fi

have_tsan=0
if ! command -v clang-14 >/dev/null; then
  skip "tsan: clang-14 not installed"
elif clang-14 -O2 -fsanitize=thread "$src/nested.c" -o "$work/nested.tsan" 2>"$work/tsan.err" &&
  clang-14 -O2 -fsanitize=thread "$src/many_seq.c" -o "$work/many_seq.tsan" 2>>"$work/tsan.err" &&
  clang-14 -O2 -fsanitize=thread "$src/many_random.c" -o "$work/many_random.tsan" \
    2>>"$work/tsan.err" &&
  clang-14 -O2 -fsanitize=thread "$src/spin.c" -o "$work/spin.tsan" 2>>"$work/tsan.err"; then
  have_tsan=1
else
  skip "tsan: clang-14 -fsanitize=thread failed: $(head -1 "$work/tsan.err")"
fi

# absl::Mutex: Debian's libabsl-dev (pkg-config absl_synchronization).
have_absl=0 absl_detect=0 absl_reason=""
absl_flags=()
if ! absl_pc=$(pkg-config --cflags --libs absl_synchronization 2>/dev/null); then
  absl_reason="abseil not found (pkg-config absl_synchronization; Debian: libabsl-dev)"
  skip "abseil: $absl_reason"
else
  read -ra absl_flags <<<"$absl_pc"
  if ! ${CXX:-c++} -O2 -std=c++17 -pthread "$src/absl_locks.cc" -o "$work/absl_locks" \
    "${absl_flags[@]}" 2>"$work/absl.err"; then
    absl_reason="absl_locks.cc did not build: $(head -1 "$work/absl.err")"
    skip "abseil: $absl_reason"
  else
    have_absl=1
    # Detection exists only when the library was compiled without NDEBUG: an ABBA must be
    # reported. (Output captured first: grep -q closing the pipe early would kill the test.)
    abba_out=$("$work/absl_locks" on abba 2>&1 || true)
    if grep -q "Potential Mutex deadlock" <<<"$abba_out"; then
      absl_detect=1
    else
      absl_reason="this libabsl was built with its deadlock detection compiled out (NDEBUG): the ABBA self-test printed no \"Potential Mutex deadlock\" report"
      log "abseil detector: unavailable ($absl_reason)"
    fi
  fi
fi

have_helgrind=0
if [ "$helgrind_on" = 0 ]; then
  skip "helgrind: HELGRIND=0"
elif ! command -v valgrind >/dev/null; then
  skip "helgrind: valgrind not installed"
else
  have_helgrind=1
fi

# ---- the real program: git grep --threads=2 over a generated repository ----------------------
have_git=0
repo=$work/repo
git_part=git-grep-1of$((git_dirs / hg_git_dirs))
if ! command -v git >/dev/null; then
  skip "git-grep: git not installed"
else
  log "generating a git repository with $git_files blobs..."
  export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
  git init -q "$repo"
  # A fast-import stream: one commit of git_files text files (60 lines each) in git_dirs dirs.
  awk -v n="$git_files" -v dirs="$git_dirs" 'BEGIN {
    for (k = 0; k < n; ++k) {
      data = ""
      for (l = 0; l < 60; ++l)
        data = data sprintf("line %d of file %d: %d\n", l, k, (k * 7919 + l * 104729) % 1000003)
      printf "blob\nmark :%d\ndata %d\n%s\n", k + 1, length(data), data
    }
    printf "commit refs/heads/main\ncommitter bench <bench@localhost> 0 +0000\ndata 5\nbench\n"
    for (k = 0; k < n; ++k) printf "M 100644 :%d d%03d/f%05d.txt\n", k + 1, k % dirs, k
    printf "\n"
  }' | git -C "$repo" fast-import --quiet
  git -C "$repo" config gc.auto 0
  hg_paths=()
  for ((d = 0; d < hg_git_dirs; ++d)); do hg_paths+=("$(printf 'd%03d' "$d")"); done
  if git -C "$repo" grep --threads=2 -c 99 main >/dev/null; then
    have_git=1
  else
    skip "git-grep: git grep failed on the generated repository"
  fi
fi

# ---- measuring -------------------------------------------------------------------------------
# run_once FILE CMD...: runs CMD once and appends its last stdout line (the figure) to FILE, or
# "failed" when it exits non-zero or prints no number. The first run's wall seconds go to
# FILE.wall1; when they exceed SLOW_SECONDS, FILE.slow stops further runs.
run_once() {
  local file=$1 out t0 t1
  shift
  [ -e "$file.slow" ] && return 0
  t0=$(date +%s%N)
  if out=$("$@" 2>/dev/null | tail -1) && [[ $out =~ ^[0-9.]+$ ]]; then
    echo "$out" >>"$file"
  else
    echo failed >>"$file"
  fi
  t1=$(date +%s%N)
  if [ ! -e "$file.wall1" ]; then
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1e9 }' >"$file.wall1"
    if [ "$slow_seconds" != 0 ] && (((t1 - t0) / 1000000000 >= slow_seconds)); then
      touch "$file.slow"
    fi
  fi
  return 0
}
# wall_once FILE CMD...: wall seconds of CMD (stdout and stderr discarded) appended to FILE.
wall_once() {
  local file=$1 t0 t1
  shift
  t0=$(date +%s%N)
  if "$@" >/dev/null 2>&1; then
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >>"$file"
  else
    echo failed >>"$file"
  fi
}
median() {  # median of the numbers in FILE; "failed" if any run failed
  if grep -q failed "$1"; then echo failed; return; fi
  sort -g "$1" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2];
                                           else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

lh() { "$lockhound" run --no-summary --exitcode 0 -- "$@"; }
tsan() { TSAN_OPTIONS=detect_deadlocks=1:report_bugs=0 "$@"; }
hg() { valgrind -q --tool=helgrind "$@"; }

# One lock workload: NAME, pthread binary, its args, abseil workload name, Helgrind args.
lock_workload() {
  local name=$1 bin=$2 args=$3 absl_name=$4 hg_args=$5 r
  local res=$work/res/$name
  # shellcheck disable=SC2086  # args are word lists on purpose
  for ((r = 1; r <= reps; ++r)); do
    log "$name: run $r/$reps"
    run_once "$res.plain" "$work/$bin" $args
    [ -n "$lockhound" ] && run_once "$res.lockhound" lh "$work/$bin" $args
    [ "$have_tsan" = 1 ] && run_once "$res.tsan" tsan "$work/$bin.tsan" $args
    [ "$have_absl" = 1 ] && run_once "$res.abseil" "$work/absl_locks" off "$absl_name" $args
    [ "$absl_detect" = 1 ] && run_once "$res.abseil-detect" "$work/absl_locks" on "$absl_name" $args
    [ "$have_helgrind" = 1 ] && run_once "$res.helgrind" hg "$work/$bin" $hg_args
  done
  return 0
}

start=$(date +%s)
lock_workload nested-1t nested "$nested1_args" nested "$hg_nested1_args"
lock_workload nested-2t nested "$nested2_args" nested "$hg_nested2_args"
lock_workload many-seq many_seq "$seq_steps" many-seq "$hg_seq_steps"
lock_workload many-random many_random "$random_steps" many-random "$hg_random_steps"
# Steady state: the timed pass repeats pairs already taken once (the "warm" argument).
for w in many-seq many-random; do
  bin=${w//-/_}
  steps=$seq_steps
  [ "$w" = many-random ] && steps=$random_steps
  for ((r = 1; r <= reps; ++r)); do
    log "$w-warm: run $r/$reps"
    run_once "$work/res/$w-warm.plain" "$work/$bin" "$steps" warm
    [ -n "$lockhound" ] && run_once "$work/res/$w-warm.lockhound" lh "$work/$bin" "$steps" warm
    [ "$have_tsan" = 1 ] && run_once "$work/res/$w-warm.tsan" tsan "$work/$bin.tsan" "$steps" warm
  done
done
# The same program with the mutexes made by pthread_mutex_init() in one loop: lockhound gives
# locks initialised at one call site one class, and two locks of one such class nested are
# checked per pair of locks in the engine on every acquisition (no fast path). The other tools
# see the same program as many-random, so only plain and lockhound run here.
for ((r = 1; r <= reps; ++r)); do
  log "many-random-1site: run $r/$reps"
  run_once "$work/res/many-random-1site.plain" "$work/many_random" "$random_steps" init
  [ -n "$lockhound" ] && run_once "$work/res/many-random-1site.lockhound" lh "$work/many_random" "$random_steps" init
done

# Spinlocks: abseil has no spinlock to compare, so plain, lockhound, TSan and Helgrind only.
# shellcheck disable=SC2086  # args are word lists on purpose
for ((r = 1; r <= reps; ++r)); do
  log "spin-2t: run $r/$reps"
  run_once "$work/res/spin-2t.plain" "$work/spin" $spin_args
  [ -n "$lockhound" ] && run_once "$work/res/spin-2t.lockhound" lh "$work/spin" $spin_args
  [ "$have_tsan" = 1 ] && run_once "$work/res/spin-2t.tsan" tsan "$work/spin.tsan" $spin_args
  [ "$have_helgrind" = 1 ] && run_once "$work/res/spin-2t.helgrind" hg "$work/spin" $hg_spin_args
done

git_acq="" git_acq_time=""
if [ "$have_git" = 1 ]; then
  grep_cmd=(git -C "$repo" grep --threads=2 -c 99 main)
  for ((r = 1; r <= reps; ++r)); do
    log "git-grep: run $r/$reps"
    wall_once "$work/res/git-grep.plain" "${grep_cmd[@]}"
    [ -n "$lockhound" ] && wall_once "$work/res/git-grep.lockhound" lh "${grep_cmd[@]}"
    if [ "$have_helgrind" = 1 ]; then  # the same grep over 1/40 of the files, for Helgrind
      wall_once "$work/res/$git_part.plain" "${grep_cmd[@]}" -- "${hg_paths[@]}"
      [ -n "$lockhound" ] && wall_once "$work/res/$git_part.lockhound" lh "${grep_cmd[@]}" -- "${hg_paths[@]}"
      wall_once "$work/res/$git_part.helgrind" hg "${grep_cmd[@]}" -- "${hg_paths[@]}"
    fi
  done
  # How often the program locks: one run with lockhound's summary ("N acquisitions").
  if [ -n "$lockhound" ]; then
    t0=$(date +%s%N)
    summary=$(env -u LOCKHOUND_OPTIONS "$lockhound" run --exitcode 0 -- "${grep_cmd[@]}" 2>&1 >/dev/null) || true
    t1=$(date +%s%N)
    git_acq=$(grep -o '[0-9]* acquisitions' <<<"$summary" | tail -1 | cut -d' ' -f1 || true)
    git_acq_time=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  fi
fi

fresh_after=$("$work/fresh_memory" || echo "unknown")

# ---- blind spots: one ABBA after N other live mutexes (detection, not timing) -----------------
blind=()
if "$cc" -O2 -pthread "$src/abba_after.c" -o "$work/abba_after" 2>/dev/null; then
  [ "$have_tsan" = 1 ] && clang-14 -O1 -fsanitize=thread "$src/abba_after.c" -o "$work/abba_after.tsan" 2>/dev/null || true
  for n in 4096 4097 100000; do
    log "abba-after-$n"
    line="abba-after-$n:"
    if [ -n "$lockhound" ]; then
      out=$("$lockhound" run --no-summary --exitcode 0 -- "$work/abba_after" "$n" 2>&1 >/dev/null || true)
      grep -q "circular locking dependency" <<<"$out" && line+=" lockhound found it" || line+=" lockhound MISSED it"
    fi
    if [ -x "$work/abba_after.tsan" ]; then
      out=$(TSAN_OPTIONS=detect_deadlocks=1 "$work/abba_after.tsan" "$n" 2>&1 >/dev/null || true)
      grep -q "lock-order-inversion" <<<"$out" && line+=", tsan found it" || line+=", tsan MISSED it"
    fi
    blind+=("$line")
  done
fi
elapsed=$(($(date +%s) - start))

# ---- the table -------------------------------------------------------------------------------
tools=(plain lockhound tsan abseil abseil-detect helgrind)
note_for() {  # note_for WORKLOAD TOOL: counts and runs behind the figure
  local w=$1 t=$2 f=$work/res/$1.$2 runs pairs
  runs=$(wc -l <"$f")
  if [ -e "$f.slow" ]; then
    runs="$runs (first run took $(cat "$f.wall1")s wall > SLOW_SECONDS=$slow_seconds: not repeated)"
  fi
  case "$w:$t" in
    nested-1t:helgrind) pairs=$(awk -v a="$hg_nested1_args" 'BEGIN { split(a, x, " "); print x[1] * x[2] * x[3] }') ;;
    nested-2t:helgrind) pairs=$(awk -v a="$hg_nested2_args" 'BEGIN { split(a, x, " "); print x[1] * x[2] * x[3] }') ;;
    nested-1t:*) pairs=$(awk -v a="$nested1_args" 'BEGIN { split(a, x, " "); print x[1] * x[2] * x[3] }') ;;
    nested-2t:*) pairs=$(awk -v a="$nested2_args" 'BEGIN { split(a, x, " "); print x[1] * x[2] * x[3] }') ;;
    many-seq:helgrind) pairs=$((2 * hg_seq_steps)) ;;
    many-seq*:*) pairs=$((2 * seq_steps)) ;;
    many-random:helgrind) pairs=$((2 * hg_random_steps)) ;;
    many-random*:*) pairs=$((2 * random_steps)) ;;
    spin-2t:helgrind) pairs=$(awk -v a="$hg_spin_args" 'BEGIN { split(a, x, " "); print 3 * x[1] * x[2] }') ;;
    spin-2t:*) pairs=$(awk -v a="$spin_args" 'BEGIN { split(a, x, " "); print 3 * x[1] * x[2] }') ;;
    git-grep-1of*:*)
      echo "runs=$runs; $((git_files * hg_git_dirs / git_dirs)) of the $git_files files (${hg_git_dirs} of $git_dirs dirs)"
      return ;;
    git-grep:*) echo "runs=$runs; $git_files files"; return ;;
  esac
  echo "runs=$runs; pairs=$pairs"
  return 0
}
reason_for() {  # why a tool has no figure
  [ "$1" = many-random-1site ] && [ "$2" != lockhound ] && { echo n/a; return; }
  [ "$1" = spin-2t ] && [[ $2 == abseil* ]] && { echo n/a; return; }
  [[ $1 == *-warm ]] && [[ $2 == abseil* || $2 == helgrind ]] && { echo not_run; return; }
  case "$2" in
    lockhound) echo "skipped: no lockhound binary" ;;
    tsan | abseil) [[ $1 == git-grep* ]] && echo n/a || echo skipped ;;
    abseil-detect)
      if [[ $1 == git-grep* ]]; then echo n/a; elif [ "$absl_detect" = 1 ]; then echo not_run
      elif [ "$have_absl" = 1 ]; then echo unavailable; else echo skipped; fi ;;
    helgrind) [ "$1" = git-grep ] && [ "$have_helgrind" = 1 ] && echo "see_$git_part" || echo skipped ;;
  esac
}

table=$work/table.tsv
printf 'workload\ttool\tvalue\tunit\tratio_to_plain\tnote\n' >"$table"
for w in nested-1t nested-2t many-seq many-random many-seq-warm many-random-warm many-random-1site \
  spin-2t git-grep "$git_part"; do
  [[ $w == git-grep* ]] && [ "$have_git" = 0 ] && continue
  [ "$w" = "$git_part" ] && [ "$have_helgrind" = 0 ] && continue
  unit=ns_per_pair
  [[ $w == git-grep* ]] && unit=s_wall
  plain=$(median "$work/res/$w.plain")
  for t in "${tools[@]}"; do
    f=$work/res/$w.$t
    if [ -f "$f" ]; then
      v=$(median "$f")
      [ "$v" != failed ] && v=$(awk -v v="$v" -v u="$unit" 'BEGIN { printf(u == "s_wall" ? "%.3f" : "%.1f", v) }')
      ratio=$(awk -v v="$v" -v p="$plain" 'BEGIN { if (v + 0 > 0 && p + 0 > 0) printf "%.2f", v / p; else print "-" }')
      note=$(note_for "$w" "$t")
    else
      v=$(reason_for "$w" "$t") ratio=- note=""
      [ "$t" = abseil-detect ] && [ "$v" = unavailable ] && note=$absl_reason
      [ "$w" = many-random-1site ] && [ "$v" = n/a ] && note="the same program as many-random for this tool"
      [ "$w" = spin-2t ] && [ "$v" = n/a ] && note="abseil has no spinlock"
      [ "$v" = see_$git_part ] && v=n/a note="too slow on the full input: see $git_part"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$t" "$v" "$unit" "$ratio" "$note" >>"$table"
  done
done
cat "$table"
[ -n "${OUT:-}" ] && cp "$table" "$OUT"

# ---- the summary -----------------------------------------------------------------------------
value() { awk -F'\t' -v w="$1" -v t="$2" '$1 == w && $2 == t { print $3 }' "$table"; }
ratio() { awk -F'\t' -v w="$1" -v t="$2" '$1 == w && $2 == t { print $5 }' "$table"; }
echo
echo "Summary (medians of $reps runs; CPU ns per acquire/release pair, git-grep wall seconds;"
echo "ratio = tool / plain pthreads; $(nproc) CPUs; took ${elapsed}s):"
for w in nested-1t nested-2t many-seq many-random many-seq-warm many-random-warm many-random-1site \
  spin-2t git-grep "$git_part"; do
  [[ $w == git-grep* ]] && [ "$have_git" = 0 ] && continue
  [ "$w" = "$git_part" ] && [ "$have_helgrind" = 0 ] && continue
  line="  $(printf '%-17s' "$w") plain $(value "$w" plain)"
  for t in lockhound tsan abseil abseil-detect helgrind; do
    v=$(value "$w" "$t")
    case "$v" in
      n/a | skipped* | not_run) ;;
      unavailable) line+=", $t unavailable" ;;
      *) line+=", $t $v ($(ratio "$w" "$t")x)" ;;
    esac
  done
  echo "$line"
done
if [ "$absl_detect" = 1 ]; then
  echo "abseil detector: active (ABBA self-test reported \"Potential Mutex deadlock\")"
  for w in nested-1t nested-2t many-seq many-random; do
    on=$(value "$w" abseil-detect) off=$(value "$w" abseil)
    awk -v w="$w" -v on="$on" -v off="$off" 'BEGIN { if (on + 0 > 0 && off + 0 > 0)
      printf "  %-12s abseil-detect / abseil (detection off) = %.1fx\n", w, on / off }'
  done
elif [ "$have_absl" = 1 ]; then
  echo "abseil detector: unavailable ($absl_reason)"
fi
echo "helgrind: fewer iterations (see the note column); its cost per pair grows with the lock graph"
echo "many-random-1site: many-random with pthread_mutex_init() from one call site: one lockhound class, its nested pairs checked per pair of locks"
for f in "$work"/res/*.slow; do
  [ -e "$f" ] || continue
  b=$(basename "$f" .slow)
  echo "slow: ${b%%.*} under ${b#*.}: first run took $(cat "$work/res/$b.wall1")s wall, run once"
done
if [ "$have_git" = 1 ]; then
  echo "git-grep: git grep --threads=2 -c 99 main over $git_files generated files;" \
    "${git_acq:-?} lock acquisitions in ${git_acq_time:-?} s under lockhound run"
fi
for b in "${blind[@]}"; do echo "$b"; done
echo "spin-2t: 2 threads, each on its own pthread spinlock (alone, then under its own mutex)"
echo "fresh memory, GB/s faulted in (fresh_memory.c; the cold rows are slower when 'first' is low):" \
  "before the runs: $fresh_before; after: $fresh_after"
echo "targets: lockhound <= 1.5x plain on nested, <= 2x on the 100k-lock workloads, <= 1.1x on git-grep"
for s in "${skipped[@]}"; do echo "skipped: $s"; done
