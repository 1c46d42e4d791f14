#!/bin/bash
# lockhound's kernel integration stage: lockhound against real lockdep on the
# same boot.
#
#   1. builds a Linux 6.1 lockdep kernel, the test modules of modules/ and a
#      busybox initramfs (build.sh; incremental, ~6-9 min the first time on
#      2 cores);
#   2. boots one QEMU VM per module (lockdep switches itself off after its
#      first report) and keeps its console log and whole-kernel lock trace
#      (boot.sh);
#   3. runs `lockhound explain` on each console log and `lockhound trace` on
#      each trace and compares them with the report lockdep printed on that
#      boot (check.py), printing one row per module and "N passed, M failed".
#
# Usage: tests/kernel/run.sh LOCKHOUND [MODULE...]
#   LOCKHOUND  the lockhound binary, e.g. build/src/cli/lockhound
#   MODULE     default: every module in modules/Kbuild
# Environment:
#   KBUILD     build area (default /var/tmp/kbuild), never inside the repository
#   CAPTURES   where each boot's console.log, trace.txt and lockhound's JSON go
#              (default /var/tmp/lockhound-kernel-captures)
#   JOBS, NICE kernel build parallelism and niceness (default nproc, 10)
#   NOBUILD=1  skip the build (use what build.sh left in $KBUILD)
#   NOBOOT=1   skip the boots (re-check existing captures)
# Needs (Debian): linux-source-6.1 qemu-system-x86 busybox-static
#   build-essential flex bison bc libelf-dev libssl-dev cpio xz-utils kmod
#   gzip python3; build.sh installs what is missing when run as root.
# Exit: 0 all passed, 1 a module failed, 2 usage or build error.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
	sed -n '2,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
LOCKHOUND=$(realpath -m "$1"); shift
[ -x "$LOCKHOUND" ] || { echo "run.sh: $LOCKHOUND is not an executable lockhound" >&2; exit 2; }
export KBUILD=${KBUILD:-/var/tmp/kbuild}
CAPTURES=${CAPTURES:-/var/tmp/lockhound-kernel-captures}
mods=("$@")
[ ${#mods[@]} -gt 0 ] || mods=($(sed -n 's/^obj-m += \(.*\)\.o$/\1/p' "$HERE/modules/Kbuild"))
say() { echo "[kernel-stage $(date -u +%T)] $*"; }
t_start=$(date +%s)

if [ "${NOBUILD:-0}" != 1 ]; then
	say "building kernel, ${#mods[@]} modules and initramfs under $KBUILD/lockhound-stage"
	"$HERE/build.sh" || { say "build FAILED"; exit 2; }
fi

mkdir -p "$CAPTURES"
if [ "${NOBOOT:-0}" != 1 ]; then
	i=0
	for m in "${mods[@]}"; do
		i=$((i + 1))
		if "$HERE/boot.sh" "$m" "$CAPTURES/$m"; then
			status=ok
		else
			status="INCOMPLETE (see $CAPTURES/$m/boot.txt)"
		fi
		# A WARN_ON splat elsewhere in the kernel makes the boot suspect (check.py
		# counts it as a report lockhound should have matched). Seen once in 21
		# boots x 7 sessions: lh17's lockdep report turned lockdep off on one CPU
		# while another was going idle, and tick_nohz_idle_enter's
		# lockdep_assert_irqs_enabled() fired. Boot such a module once more; a
		# splat the module itself causes comes back and still fails the check.
		if grep -qE '^\[ *[0-9.]+\] WARNING: CPU: [0-9]+ PID: [0-9]+ at ' "$CAPTURES/$m/console.log" 2>/dev/null; then
			say "$m: a kernel WARN_ON splat on this boot ($(grep -m1 -oE 'WARNING: CPU: [0-9]+ PID: [0-9]+ at [^ ]+' "$CAPTURES/$m/console.log")); booting it once more"
			if "$HERE/boot.sh" "$m" "$CAPTURES/$m"; then status="ok (second boot)"; else status="INCOMPLETE (see $CAPTURES/$m/boot.txt)"; fi
		fi
		say "[$i/${#mods[@]}] $m: boot $status," \
			"$(sed -n 's/^wall_seconds=//p' "$CAPTURES/$m/boot.txt")s," \
			"$(sed -n 's/^trace_lines=//p' "$CAPTURES/$m/boot.txt") trace lines," \
			"debug_locks=$(sed -n 's/^guest_debug_locks=//p' "$CAPTURES/$m/boot.txt")"
	done
fi

say "comparing lockhound ($LOCKHOUND) with lockdep"
python3 "$HERE/check.py" "$LOCKHOUND" "$CAPTURES" "${mods[@]}" | tee "$CAPTURES/summary.md"
rc=${PIPESTATUS[0]}
say "stage took $(( $(date +%s) - t_start ))s; captures in $CAPTURES"
exit $rc
