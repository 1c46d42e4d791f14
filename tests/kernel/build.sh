#!/bin/bash
# Builds what the kernel integration stage boots: a Linux 6.1 lockdep kernel
# (Debian's linux-source-6.1, tinyconfig + lockdep.config, plus the shared
# harness fragment when ../shared/harness/kernel is there), the test modules of
# tests/kernel/modules, and a busybox initramfs whose /init is guest-init.sh.
# Every step is incremental, so a second run only rebuilds what changed.
#
# Usage: tests/kernel/build.sh
# Environment:
#   KBUILD  build area (default /var/tmp/kbuild); this script works in
#           $KBUILD/lockhound-stage and never writes into the repository
#   JOBS    make -j (default: nproc)
#   NICE    niceness of the compiler processes (default 10)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
KBUILD=${KBUILD:-/var/tmp/kbuild}
AREA=$KBUILD/lockhound-stage
KVER=6.1
KSRC=$AREA/linux-source-$KVER
JOBS=${JOBS:-$(nproc)}
NICE=${NICE:-10}
HARNESS=${HARNESS:-$HERE/../../../shared/harness/kernel}
say() { echo "[kernel-build $(date -u +%T)] $*"; }

case "$(realpath -m "$AREA")/" in
"$(realpath -m "$HERE/../..")"/*) echo "KBUILD must be outside the repository" >&2; exit 2 ;;
esac

# ---- packages ----------------------------------------------------------------
need="linux-source-$KVER qemu-system-x86 busybox-static build-essential flex bison bc
      libelf-dev libssl-dev cpio xz-utils kmod gzip python3"
missing=""
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ]; then
		say "installing:$missing"
		apt-get update -q
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
	else
		echo "missing Debian packages:$missing (run as root or install them)" >&2
		exit 2
	fi
fi

# ---- source --------------------------------------------------------------------
mkdir -p "$AREA"
if [ ! -f "$KSRC/Makefile" ]; then
	say "unpacking /usr/src/linux-source-$KVER.tar.xz"
	tar -C "$AREA" -xf /usr/src/linux-source-$KVER.tar.xz
fi

# ---- configuration --------------------------------------------------------------
frags=("$HERE/lockdep.config")
[ -f "$HARNESS/lockdep.fragment.config" ] && frags+=("$HARNESS/lockdep.fragment.config")
want=$(cat "${frags[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -f "$KSRC/.config" ] || [ "$(cat "$AREA/config.sha256" 2>/dev/null)" != "$want" ]; then
	say "configuring: tinyconfig + ${frags[*]}"
	make -C "$KSRC" tinyconfig > "$AREA/config.log" 2>&1
	(cd "$KSRC" && ./scripts/kconfig/merge_config.sh -m .config "${frags[@]}") >> "$AREA/config.log" 2>&1
	make -C "$KSRC" olddefconfig >> "$AREA/config.log" 2>&1
	echo "$want" > "$AREA/config.sha256"
fi
lost=0
for f in "${frags[@]}"; do
	while read -r opt; do
		case "$opt" in CONFIG_*=*) ;; *) continue ;; esac
		grep -qx "$opt" "$KSRC/.config" || { echo "config: $opt did not survive olddefconfig" >&2; lost=1; }
	done < "$f"
done
[ $lost = 0 ] || exit 1

# ---- kernel ---------------------------------------------------------------------------
say "kernel: make -j$JOBS bzImage modules (nice $NICE; log $AREA/kernel-build.log)"
t0=$(date +%s)
nice -n "$NICE" make -C "$KSRC" -j"$JOBS" bzImage modules > "$AREA/kernel-build.log" 2>&1 || {
	tail -40 "$AREA/kernel-build.log" >&2; exit 1; }
say "kernel ready after $(( $(date +%s) - t0 ))s: $KSRC/arch/x86/boot/bzImage"

# ---- test modules -------------------------------------------------------------------
MODS=$AREA/modules
mkdir -p "$MODS"
# rsync-like: mirror the sources so that a deleted module disappears as well
rm -f "$MODS"/*.c "$MODS"/*.h "$MODS"/Kbuild
cp "$HERE"/modules/*.c "$HERE"/modules/*.h "$HERE"/modules/Kbuild "$MODS"/
nice -n "$NICE" make -C "$KSRC" M="$MODS" -j"$JOBS" modules > "$AREA/modules-build.log" 2>&1 || {
	cat "$AREA/modules-build.log" >&2; exit 1; }
if grep -E 'warning:|error:' "$AREA/modules-build.log" >&2; then
	echo "test modules must build without warnings" >&2
	exit 1
fi
mods=$(sed -n 's/^obj-m += \(.*\)\.o$/\1/p' "$MODS/Kbuild")
say "modules: $(echo $mods)"

# ---- initramfs ------------------------------------------------------------------------
IR=$AREA/initramfs
rm -rf "$IR"
mkdir -p "$IR"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,lib/modules}
cp /bin/busybox "$IR/bin/busybox"
for applet in $("$IR/bin/busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$IR/bin/$applet"
done
install -m 0755 "$HERE/guest-init.sh" "$IR/init"
for m in $mods; do cp "$MODS/$m.ko" "$IR/lib/modules/"; done
(cd "$IR" && find . -print0 | cpio --null -o -H newc --quiet | gzip -6) > "$AREA/initramfs.cpio.gz"
say "initramfs: $AREA/initramfs.cpio.gz ($(stat -c %s "$AREA/initramfs.cpio.gz") bytes)"
