#!/bin/sh
# /init of the kernel integration stage's guest (busybox initramfs).
#
# Loads one test module with every lock:* trace event on, then sends the
# trace to the host over the second serial port and ends the VM. The kernel
# log, with lockdep's report, goes to the first serial port (the console).
#
# Kernel command line:
#   lhmod=NAME      /lib/modules/NAME.ko to load
#   lhwait=SEC      keep tracing this long after insmod returned (default 1)
#   lhbuf=KB        trace buffer per CPU in KiB (default 16384: no overruns
#                   for a whole-kernel trace of a few seconds)
#
# The host reads the trace between "=====LH-TRACE-BEGIN=====" and
# "=====LH-TRACE-END=====", gzip'ed and base64'ed: the emulated UART is the
# slow part of a boot. Pointers in it are raw because the host boots with
# no_hash_pointers; tracing's own hash-ptr option stays on, since clearing it
# on 6.1 loses the lock names from lock_release and the try/read flags from
# lock_acquire.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t tmpfs tmpfs /tmp

mod=""; wait_s=1; buf_kb=16384
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lhmod=*) mod=${arg#lhmod=} ;;
	lhwait=*) wait_s=${arg#lhwait=} ;;
	lhbuf=*) buf_kb=${arg#lhbuf=} ;;
	esac
done

note() { echo "LOCKDEP-HARNESS: $*" > /dev/kmsg; }

tr=/sys/kernel/tracing
[ -d $tr/events/lock ] || tr=/sys/kernel/debug/tracing
note "lockhound guest: module=$mod wait=$wait_s buffer_kb=$buf_kb"
echo 0 > $tr/tracing_on
echo "$buf_kb" > $tr/buffer_size_kb
echo global > $tr/trace_clock
echo 1 > $tr/events/lock/enable
echo > $tr/trace

rc=none
if [ -f "/lib/modules/$mod.ko" ]; then
	note "insmod $mod begin"
	echo 1 > $tr/tracing_on
	insmod "/lib/modules/$mod.ko"
	rc=$?
	sleep "$wait_s"
	echo 0 > $tr/tracing_on
	note "insmod $mod end rc=$rc"
else
	note "ERROR: no module /lib/modules/$mod.ko"
fi
note "debug_locks=$(sed -n 's/^ *debug_locks: *//p' /proc/lockdep_stats)"
for s in $tr/per_cpu/cpu*/stats; do
	note "$(basename $(dirname $s)) $(grep -E '^(overrun|entries):' $s | tr '\n' ' ')"
done

out=/dev/ttyS1
[ -c $out ] || out=/dev/console
stty -F $out raw -echo 115200 2>/dev/null
{
	echo "=====LH-TRACE-BEGIN====="
	gzip -c $tr/trace | base64
	echo "=====LH-TRACE-END====="
} > $out
sync
# the host runs QEMU with -no-reboot: a reboot ends the VM
note "trace sent, rebooting"
reboot -f
sleep 5
echo b > /proc/sysrq-trigger 2>/dev/null
