#!/usr/bin/env bash
# Installs everything lockhound needs to build and test on a fresh Debian 12 machine.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  clang-14 libclang-rt-14-dev llvm-14
  libgtest-dev libgmock-dev libbenchmark-dev
  libabsl-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libdw-dev libelf-dev libunwind-dev
  # the lock-order database (src/db, docs/database.md)
  libsqlite3-dev
  python3
  # man pages made from the command's --help at build time; dpkg-dev's dpkg-shlibdeps for the .deb
  help2man dpkg-dev
  # real multithreaded programs the runtime tests run under `lockhound run`
  pigz lbzip2 pbzip2 zstd xz-utils sqlite3 redis-server memcached sysbench stress-ng
  openjdk-17-jdk-headless nginx mariadb-server
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  # The servers among them (redis, memcached, nginx, mariadb) would start as system services on
  # install; the tests start their own copies on free ports. Debian's policy-rc.d hook keeps the
  # services from starting, for the install only (an existing hook is left as it is).
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
    guard=1
  fi
  rc=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null || rc=$?
  [ -z "$guard" ] || $sudo rm -f /usr/sbin/policy-rc.d
  [ "$rc" -eq 0 ] || { echo "setup: apt-get install failed ($rc)" >&2; exit "$rc"; }
fi

# lockhound scan: clang's C++ libraries and headers, and for its kernel tests and benchmark
# Debian's kernel headers, the 6.1 source tarball and bear. Without recommends: linux-source
# would pull in a QEMU and a toolchain the tests do not use.
scan_packages=(libclang-cpp14-dev libclang-14-dev llvm-14-dev clang-14 bear linux-headers-amd64 linux-source-6.1 time bc)
scan_missing=()
for p in "${scan_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || scan_missing+=("$p")
done
if ((${#scan_missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${scan_missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${scan_missing[@]}" >/dev/null ||
    { echo "setup: apt-get install for lockhound scan failed" >&2; exit 1; }
fi

# Reports (docs/reports.md): Graphviz draws the lock-order graph (`--format html`, and the tests
# check that it accepts `--format dot`); the tests validate SARIF against the official schema with
# python3-jsonschema and open the HTML report in Debian's headless Chromium. Without recommends:
# Chromium's pull in a desktop the tests do not use.
report_packages=(graphviz python3-jsonschema chromium chromium-driver fonts-dejavu-core)
report_missing=()
for p in "${report_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || report_missing+=("$p")
done
if ((${#report_missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${report_missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${report_missing[@]}" >/dev/null ||
    { echo "setup: apt-get install for the reports failed" >&2; exit 1; }
fi
