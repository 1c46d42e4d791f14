#!/usr/bin/env bash
# Quick start: set up, build, and run lockhound on the seed examples (the buggy ones report; the
# fixed ones are clean). Exit status 0 when every example behaved as expected.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" \
  --target lockhound lockhound_runtime abba_pthread_bug abba_pthread_fixed >/dev/null
lh=build/src/cli/lockhound
status=0
for f in examples/seeds/*.lh; do
  echo "################ lockhound check $f"
  set +e
  "$lh" check "$f"
  rc=$?
  set -e
  case "$f" in
    *_fixed.lh) [ "$rc" -eq 0 ] || { echo "UNEXPECTED: $f should be clean (exit $rc)"; status=1; } ;;
    *) [ "$rc" -eq 1 ] || { echo "UNEXPECTED: $f should report (exit $rc)"; status=1; } ;;
  esac
done
# The seeds' C snippets, found in the source by the static front end (examples/scan/): each buggy
# file reports, each *_fixed.c twin is clean.
for f in examples/scan/seed_*.c; do
  echo "################ lockhound scan $f"
  set +e
  "$lh" scan --no-cache "$f"
  rc=$?
  set -e
  case "$f" in
    *_fixed.c) [ "$rc" -eq 0 ] || { echo "UNEXPECTED: $f should be clean (exit $rc)"; status=1; } ;;
    *) [ "$rc" -eq 1 ] || { echo "UNEXPECTED: $f should report (exit $rc)"; status=1; } ;;
  esac
done
# The same bug in an ordinary pthread program, unmodified, under the runtime (LD_PRELOAD):
# exit 66 when something was found, the program's own status otherwise.
for v in bug fixed; do
  echo "################ lockhound run -- build/examples/abba_pthread_$v"
  set +e
  "$lh" run -- "build/examples/abba_pthread_$v"
  rc=$?
  set -e
  want=66; [ "$v" = fixed ] && want=0
  [ "$rc" -eq "$want" ] || { echo "UNEXPECTED: abba_pthread_$v exited $rc, expected $want"; status=1; }
done
exit $status
