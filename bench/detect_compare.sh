#!/usr/bin/env bash
# Findings side by side: the runtime's detection programs (tests/runtime/progs) under
# `lockhound run`, ThreadSanitizer (detect_deadlocks=1) and Helgrind, one row per program and
# mode, with what the program really does (bug or correct). Prints a Markdown table.
#
#   bench/detect_compare.sh [BUILD_DIR]     (default: build; needs valgrind and gcc's libtsan)
#   ONLY=REGEX bench/detect_compare.sh      only the rows whose program and mode match
#
# Each cell lists the kinds of report a tool made (counts in parentheses when more than one).
# Data races are left out of the ThreadSanitizer and Helgrind cells (these programs use plain
# flags to order their threads; races are not what is compared). A run that had to be killed is
# marked "hung". Takes about three minutes (the hung runs wait for their timeouts).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
lh="$build/src/cli/lockhound"
progs="$build/tests/runtime/progs"
[ -x "$lh" ] && [ -d "$progs" ] || { echo "detect_compare: build lockhound and its tests in $build first" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "detect_compare: valgrind is not installed" >&2; exit 2; }
work=$(mktemp -d /tmp/lockhound-detect-XXXXXX)
trap 'rm -rf "$work"' EXIT

# program, arguments, what it is (bug: what; or "correct")
cases=(
  "abba||bug: ABBA over two threads, never hangs"
  "cycle3||bug: a 3-lock cycle over three threads"
  "rwlock|bad|bug: rwlock read/write inversion"
  "rwlock|good|correct: two readers"
  "rwlock|reread|correct: recursive read, glibc's default rwlock"
  "rwlock|reread_wpref|bug: recursive read, writer-preferring rwlock"
  "signal_lock|bad|bug: lock taken in a signal handler, also with the signal enabled"
  "signal_lock|good|correct: the signal blocked around the lock"
  "recursive|bad|bug: normal mutex taken again by its owner"
  "recursive|good|correct: recursive mutex taken twice"
  "gate||correct: inversion always under one gate lock"
  "reuse||correct: lock memory reused for another lock"
  "trylock||correct: reverse order by trylock with back-off"
  "spin_sleep|bad|bug: sleep while holding a spinlock"
  "exit_held||bug: thread exits holding a lock"
  "handoff||bug: mutex unlocked by a thread that does not hold it"
  "c11||bug: C11 mtx_t ABBA"
  "siblings|ordered|correct: parent->child walks, buckets by address"
  "siblings|inverted|bug: two locks of one class in both orders"
  "ranked||correct: lock ranks through one init function"
  "cppclean||correct: C++ std::mutex, scoped_lock, condition_variable"
  "deadlock||bug: a real deadlock (hangs)"
  "fork_held|bad 3000|bug: child waits for a lock another thread held at fork (hangs)"
  "fork_held|atfork 3000|correct: the same with pthread_atfork handlers"
  "join_held|bad|bug: join while holding the lock the joined thread needs (hangs)"
  "join_held|good|correct: unlock before the join"
  "samename||correct: a static mutex named lock in each of two files, nested in one order"
  "samename|cycle|bug: those two taken in both orders"
  "dlreuse|@P/libdlreuse_a.so @P/libdlreuse_b.so|correct: plugin unloaded; the next, same lock names in the other order, loaded at its address"
  "dlreuse|@P/libdlreuse_a.so hold|bug: plugin unloaded while its lock is held"
)

# Builds every program once with ThreadSanitizer (same sources, same flags otherwise).
for c in "${cases[@]}"; do
  p=${c%%|*}
  [[ -n ${ONLY:-} && ! "$p ${c#*|}" =~ $ONLY ]] && continue
  [ -x "$work/tsan_$p" ] && continue
  src=$(ls tests/runtime/progs/$p.c tests/runtime/progs/$p.cpp 2>/dev/null | head -1)
  [ -n "$src" ] || src=$(ls tests/runtime/progs/${p}_[ab].c | tr '\n' ' ')  # a program of two files
  cc=gcc; [[ $src == *.cpp ]] && cc=g++
  $cc -g -O1 -fsanitize=thread -pthread $src -o "$work/tsan_$p" -ldl 2>/dev/null ||
    echo "detect_compare: could not build $src with ThreadSanitizer" >&2
done

# "kind (n), kind" from a list of kinds, one a line.
tally() { sort | uniq -c | sort -rn | awk '{n=$1; $1=""; sub(/^ /,""); printf "%s%s%s", (NR>1?", ":""), $0, (n>1?" ("n")":"")}'; }

echo "| program | what it is | lockhound run | ThreadSanitizer | Helgrind |"
echo "|---|---|---|---|---|"
for c in "${cases[@]}"; do
  IFS='|' read -r p args truth <<<"$c"
  [[ -n ${ONLY:-} && ! "$p $args" =~ $ONLY ]] && continue
  label="$p${args:+ ${args%% *}}"
  if [[ $args == @P/* ]]; then  # the plugin loader: its mode, not a path
    label="$p ${args##* }"
    [[ ${args##* } == @P/* ]] && label="$p reuse"
  fi
  args=${args//@P/$progs}
  # lockhound: the JSON reports of every process (a child's too)
  rm -rf "$work/lh" && mkdir "$work/lh"
  # (through sh: a run ended by abort() is then a status, not a message from this shell)
  sh -c '"$@" >/dev/null 2>&1' sh timeout 60 "$lh" run --format json -o "$work/lh/log" --watchdog-ms 500 \
    --watchdog-abort -- "$progs/$p" $args 2>/dev/null
  lhrc=$?
  lhcell=$(cat "$work"/lh/log.* 2>/dev/null | python3 -c '
import json, sys
text = sys.stdin.read()
dec, i, kinds = json.JSONDecoder(), 0, []
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    j, i = dec.raw_decode(text, i)
    kinds += [f["type"] for f in j.get("findings", [])]
print("\n".join(kinds))' | tally)
  [ $lhrc -eq 124 ] && lhcell="hung${lhcell:+, }$lhcell"
  # ThreadSanitizer
  (TSAN_OPTIONS="detect_deadlocks=1 second_deadlock_stack=1 report_signal_unsafe=1" \
    timeout 20 "$work/tsan_$p" $args >/dev/null 2>"$work/tsan.err") 2>/dev/null
  trc=$?
  tcell=$(sed -n 's/^WARNING: ThreadSanitizer: \(.*\) (pid=.*/\1/p' "$work/tsan.err" | grep -v "^data race" | tally)
  [ $trc -eq 124 ] && tcell="hung${tcell:+, }$tcell"
  # Helgrind (on the plain build of the test suite)
  (timeout 60 valgrind --tool=helgrind --trace-children=yes "$progs/$p" $args >/dev/null 2>"$work/hg.err") 2>/dev/null
  hrc=$?
  hcell=$(grep -E "^==[0-9]+== (Thread #[0-9]+(:| unlocked| was| is| 's)|Possible data race|Lock at )" "$work/hg.err" |
    grep -vE "Possible data race|is the program's root thread|was created|Thread #[0-9]+'s call to pthread_cond" |
    sed -E 's/^==[0-9]+== Thread #[0-9]+:? ?//; s/0x[0-9A-F]+/ADDR/g; s/[0-9]+ locks?/N locks/; s/"ADDR before ADDR"/A before B/' | tally)
  [ $hrc -eq 124 ] && hcell="hung${hcell:+, }$hcell"
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$truth" "${lhcell:-nothing}" "${tcell:-nothing}" "${hcell:-nothing}"
done
