#!/bin/bash
# Boots the stage's lockdep kernel once under QEMU with one test module and
# stores what that boot produced:
#   OUTDIR/console.log   the serial console (kernel log with lockdep's report)
#   OUTDIR/trace.txt     the lock:* trace events of the whole kernel
#   OUTDIR/boot.txt      QEMU's exit status, wall time, guest milestones
# Usage: tests/kernel/boot.sh MODULE OUTDIR
# Environment: KBUILD (/var/tmp/kbuild), SMP (2), MEM (1G), TIMEOUT (300 s),
#   LHWAIT (1 s of tracing after insmod), ACCEL (tcg; KVM guests have been
#   seen to hang silently on these machines)
set -euo pipefail
mod=${1:?usage: boot.sh MODULE OUTDIR}
out=${2:?usage: boot.sh MODULE OUTDIR}
KBUILD=${KBUILD:-/var/tmp/kbuild}
AREA=$KBUILD/lockhound-stage
BZ=$AREA/linux-source-6.1/arch/x86/boot/bzImage
INITRD=$AREA/initramfs.cpio.gz
SMP=${SMP:-2}
MEM=${MEM:-1G}
TIMEOUT=${TIMEOUT:-300}
ACCEL=${ACCEL:-tcg}
LHWAIT=${LHWAIT:-1}

[ -f "$BZ" ] && [ -f "$INITRD" ] || { echo "boot.sh: run build.sh first ($BZ, $INITRD)" >&2; exit 2; }
mkdir -p "$out"
rm -f "$out"/console.raw "$out"/data.raw "$out"/console.log "$out"/trace.txt "$out"/boot.txt
cpu="-cpu max"
[ "$ACCEL" = kvm ] && cpu="-cpu host"
append="console=ttyS0,115200 ignore_loglevel no_hash_pointers panic=-1 lhmod=$mod lhwait=$LHWAIT"
t0=$(date +%s.%N)
set +e
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
	-machine pc -accel "$ACCEL" $cpu -smp "$SMP" -m "$MEM" \
	-nodefaults -display none -monitor none -no-reboot \
	-serial "file:$out/console.raw" -serial "file:$out/data.raw" \
	-kernel "$BZ" -initrd "$INITRD" -append "$append" \
	</dev/null > "$out/qemu.log" 2>&1
qrc=$?
set -e
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

tr -d '\r' < "$out/console.raw" > "$out/console.log"
tr -d '\r' < "$out/data.raw" \
	| sed -n '/^=====LH-TRACE-BEGIN=====$/,/^=====LH-TRACE-END=====$/p' \
	| sed '1d;$d' | base64 -d 2>/dev/null | gzip -dc > "$out/trace.txt" 2>/dev/null || true
complete=no
grep -q '^=====LH-TRACE-END=====$' <(tr -d '\r' < "$out/data.raw") && [ -s "$out/trace.txt" ] && complete=yes
rm -f "$out/console.raw" "$out/data.raw"
milestone() { sed -n "s/^\[ *\([0-9.]*\)\] LOCKDEP-HARNESS: $1.*/\1/p" "$out/console.log" | head -1; }
{
	echo "module=$mod"
	echo "qemu_exit=$qrc"
	echo "wall_seconds=$secs"
	echo "trace_complete=$complete"
	echo "trace_lines=$(wc -l < "$out/trace.txt")"
	echo "guest_insmod_begin=$(milestone 'insmod .* begin')"
	echo "guest_insmod_end=$(milestone 'insmod .* end')"
	echo "guest_debug_locks=$(sed -n 's/.*LOCKDEP-HARNESS: debug_locks=\([0-9]*\).*/\1/p' "$out/console.log" | head -1)"
	echo "kernel_cmdline=$append"
} > "$out/boot.txt"
[ "$complete" = yes ]
