#!/usr/bin/env bash
# lockhound as its users get it: installed with `cmake --install` into a scratch prefix, or as the
# .deb CPack makes, unpacked into a scratch root. Nothing here reads lockhound's build tree after
# the install step: the seed demo runs with the build tree's programs and library hidden (a mount
# namespace, where the machine allows one) and asserts which liblockhound.so the loader used.
#
#   install_test.sh consumers BUILD SRC  find_package(lockhound) and pkg-config users, built and run
#   install_test.sh demo BUILD SRC       the seed demo with the installed command, library and scan module
#   install_test.sh deb BUILD SRC        cpack's .deb: files, dependencies, unpacked and run
set -euo pipefail
mode=$1
build=$(realpath "$2")
src=$(realpath "$3")
here=$(dirname "$(realpath "$0")")
work=$build/install-test/$mode
unset LOCKHOUND_RUNTIME LOCKHOUND_OPTIONS LD_PRELOAD
export NO_COLOR=1

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# expect_finding REPORT_GLOB TYPE CLASS...: one of the JSON reports has a finding of TYPE naming
# every CLASS.
expect_finding() {
  python3 - "$@" <<'EOF'
import glob, json, sys
pattern, want_type, classes = sys.argv[1], sys.argv[2], sys.argv[3:]
files = sorted(glob.glob(pattern))
if not files:
    sys.exit(f"FAIL: no report matches {pattern}")
seen = []
for f in files:
    doc = json.load(open(f))
    for finding in doc.get("findings", []):
        seen.append((finding.get("type"), finding.get("classes", [])))
        if finding.get("type") == want_type and all(c in finding.get("classes", []) for c in classes):
            print(f"found {want_type} {classes} in {f}")
            sys.exit(0)
sys.exit(f"FAIL: no {want_type} naming {classes} in {files}; findings: {seen}")
EOF
}

# expect_exit CODE CMD...: CMD exits with CODE (66: the runtime found something).
expect_exit() {
  local want=$1 rc
  shift
  set +e
  "$@"
  rc=$?
  set -e
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want"
}

# install_to PREFIX: cmake --install of the build tree (already built by the test run).
install_to() {
  rm -rf "$1"
  cmake --install "$build" --prefix "$1" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "cmake --install"; }
}

# libdir_of PREFIX: where the install put liblockhound.so (lib, or lib/<multiarch> under /usr).
libdir_of() {
  local lib
  lib=$(find "$1" -name liblockhound.so -print -quit)
  [ -n "$lib" ] || fail "no liblockhound.so under $1"
  dirname "$lib"
}

# The layout every install has: command, library, headers, CMake package, pkg-config file, man
# pages for the command and each subcommand, bash completion, the examples.
check_layout() {
  local p=$1 libdir
  libdir=$(libdir_of "$p")
  for f in bin/lockhound include/lockhound/lockhound.h include/lockhound/mutex.hpp \
           share/bash-completion/completions/lockhound share/man/man1/lockhound.1.gz \
           share/doc/lockhound/examples/seeds/abba.lh share/doc/lockhound/examples/programs/abba_pthread.c \
           share/doc/lockhound/README.md share/doc/lockhound/install.md; do
    [ -e "$p/$f" ] || fail "not installed: $p/$f"
  done
  for f in cmake/lockhound/lockhoundConfig.cmake cmake/lockhound/lockhoundConfigVersion.cmake \
           cmake/lockhound/lockhoundTargets.cmake pkgconfig/lockhound.pc lockhound/lockhound-scan.so; do
    [ -e "$libdir/$f" ] || fail "not installed: $libdir/$f"
  done
  local cmds
  cmds=$("$p/bin/lockhound" --help | awk '/^Subcommands:/{s=1;next} s&&/^  [a-z]/{print $1} s&&/^$/{s=0}')
  [ -n "$cmds" ] || fail "lockhound --help lists no subcommands"
  for c in $cmds; do
    local page=$p/share/man/man1/lockhound-$c.1.gz
    [ -e "$page" ] || fail "no man page for lockhound $c"
    zcat "$page" | grep -q '^\.TH LOCKHOUND-'"${c^^}"' "1"' || fail "$page: no .TH header"
    # every option of the command's --help is in its page
    for opt in $("$p/bin/lockhound" "$c" --help | grep -oE '^  (-[a-z],)?--[a-z-]+' | grep -oE -- '--[a-z-]+'); do
      zcat "$page" | grep -qF -- "${opt//-/\\-}" || fail "$page lacks $opt"
    done
  done
  echo "layout ok: $(echo "$cmds" | wc -w) commands with man pages, library in $libdir"
}

# preload_used LD_DEBUG_PREFIX: the liblockhound.so paths the loader opened, one per line.
preload_used() {
  cat "$1".* 2>/dev/null | grep -oE '(file|calling init): [^ ]*liblockhound\.so' | awk '{print $NF}' | sort -u
}

# loaded_objects LD_DEBUG_PREFIX NAME: the paths of NAME the loader initialised, one per line.
loaded_objects() {
  cat "$1".* 2>/dev/null | grep -oE "calling init: [^ ]*$2" | awk '{print $NF}' | sort -u
}

# run_seed_demo PREFIX LOCKHOUND_LIBDIR: the README's demo with the installed command only.
run_seed_demo() {
  local p=$1 libdir=$2 lh=$1/bin/lockhound ex=$1/share/doc/lockhound/examples rc
  step "lockhound check on the installed seed scenario (ABBA)"
  set +e
  "$lh" check --format json -o "$work/check.json" "$ex/seeds/abba.lh"
  rc=$?
  set -e
  [ "$rc" -eq 1 ] || fail "lockhound check abba.lh exited $rc, expected 1 (findings)"
  expect_finding "$work/check.json" circular_dependency lock1 lock2
  "$lh" check "$ex/seeds/abba_fixed.lh" >/dev/null || fail "abba_fixed.lh should be clean"

  step "lockhound run on the seed pthread program, built from the installed example"
  cc -g -fno-omit-frame-pointer -pthread "$ex/programs/abba_pthread.c" -o "$work/abba_pthread"
  rm -f "$work"/run.* "$work"/ld.*
  set +e
  LD_DEBUG=libs LD_DEBUG_OUTPUT=$work/ld "$lh" run --format json -o "$work/run" -- "$work/abba_pthread" \
    >"$work/run.out" 2>"$work/run.err"
  rc=$?
  set -e
  cat "$work/run.err"
  [ "$rc" -eq 66 ] || fail "lockhound run exited $rc, expected 66 (findings)"
  expect_finding "$work/run.[0-9]*" circular_dependency
  local used want
  used=$(preload_used "$work/ld")
  want=$(realpath "$libdir/liblockhound.so")
  echo "preloaded: $used"
  [ -n "$used" ] || fail "LD_DEBUG shows no liblockhound.so loaded"
  for u in $used; do
    [ "$(realpath "$u")" = "$want" ] || fail "the program loaded $u, not the installed $want"
  done

  step "lockhound scan on the installed C seed (ABBA), through the installed lockhound-scan.so"
  rm -f "$work"/ld.*
  set +e
  (cd "$work" && LD_DEBUG=libs LD_DEBUG_OUTPUT=$work/ld "$lh" scan --no-cache --format json -o "$work/scan.json" \
    "$ex/scan/seed_abba.c")
  rc=$?
  set -e
  [ "$rc" -eq 1 ] || fail "lockhound scan seed_abba.c exited $rc, expected 1 (findings)"
  expect_finding "$work/scan.json" circular_dependency lock1 lock2
  used=$(loaded_objects "$work/ld" lockhound-scan.so)
  want=$(realpath "$libdir/lockhound/lockhound-scan.so")
  echo "scan module: $used"
  [ -n "$used" ] || fail "LD_DEBUG shows no lockhound-scan.so loaded"
  for u in $used; do
    [ "$(realpath "$u")" = "$want" ] || fail "lockhound scan loaded $u, not the installed $want"
  done
  rm -f "$work"/ld.*
  LD_DEBUG=libs LD_DEBUG_OUTPUT=$work/ld "$lh" --version >/dev/null
  [ -z "$(loaded_objects "$work/ld" 'lib(clang-cpp|LLVM)[^ ]*')" ] || fail "lockhound --version loaded clang"
}

# The demo and the package run in a private mount namespace where the machine allows one (root, or
# user namespaces), so that hide_build_tree can hide the build tree's programs and library from
# everything after the install; the loader check of run_seed_demo holds either way.
if [[ $mode == demo || $mode == deb ]] && [ -z "${LOCKHOUND_IN_NS:-}" ] && unshare -m true 2>/dev/null; then
  exec env LOCKHOUND_IN_NS=1 unshare -m bash "$0" "$@"
fi
hide_build_tree() {
  if [ -n "${LOCKHOUND_IN_NS:-}" ]; then
    mount -t tmpfs lockhound-hidden "$build/src"
    mount -t tmpfs lockhound-hidden "$build/examples"
    [ ! -e "$build/src/cli/lockhound" ] || fail "could not hide the build tree"
    echo "build tree hidden: $build/src and $build/examples are empty here"
  else
    echo "no mount namespace here: the build tree stays visible (the loader check still holds)"
  fi
}

mkdir -p "$work"
case "$mode" in
consumers)
  prefix=$work/prefix
  step "cmake --install --prefix $prefix"
  install_to "$prefix"
  check_layout "$prefix"
  libdir=$(libdir_of "$prefix")

  step "a separate CMake project: find_package(lockhound), lockhound::lockhound"
  rm -rf "$work/consumer-build"
  cmake -S "$here/consumer" -B "$work/consumer-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/consumer-cmake.log" 2>&1 ||
    { cat "$work/consumer-cmake.log"; fail "configuring the consumer project"; }
  cmake --build "$work/consumer-build" >"$work/consumer-build.log" 2>&1 ||
    { cat "$work/consumer-build.log"; fail "building the consumer project"; }
  [ "$(cat "$work/consumer-build/lockhound_cli_path.txt")" = "$prefix/bin/lockhound" ] ||
    fail "lockhound::cli is $(cat "$work/consumer-build/lockhound_cli_path.txt"), not $prefix/bin/lockhound"
  [ "$(cat "$work/consumer-build/lockhound_lib_path.txt")" = "$libdir/liblockhound.so" ] ||
    fail "lockhound::lockhound is $(cat "$work/consumer-build/lockhound_lib_path.txt"), not in $libdir"
  rm -f "$work"/bank.*
  LOCKHOUND_OPTIONS=format=json:log_path=$work/bank expect_exit 66 "$work/consumer-build/bank"
  expect_finding "$work/bank.[0-9]*" circular_dependency savings checking
  ldd "$work/consumer-build/bank" | grep -F "$libdir/liblockhound.so" ||
    fail "bank does not load the installed liblockhound.so: $(ldd "$work/consumer-build/bank" | grep lockhound)"

  step "a C program built with pkg-config --cflags --libs lockhound"
  export PKG_CONFIG_PATH=$libdir/pkgconfig
  [ "$(pkg-config --modversion lockhound)" = "$("$prefix/bin/lockhound" --version | awk '{print $2}')" ] ||
    fail "pkg-config --modversion lockhound: $(pkg-config --modversion lockhound)"
  [ "$(realpath "$(pkg-config --variable=prefix lockhound)")" = "$prefix" ] ||
    fail "lockhound.pc: prefix $(pkg-config --variable=prefix lockhound) is not $prefix"
  # shellcheck disable=SC2046
  cc -Wall -Werror "$here/consumer/ledger.c" $(pkg-config --cflags --libs lockhound) -o "$work/ledger"
  rm -f "$work"/ledger.[0-9]*
  LD_LIBRARY_PATH=$libdir LOCKHOUND_OPTIONS=format=json:log_path=$work/ledger expect_exit 66 "$work/ledger"
  expect_finding "$work/ledger.[0-9]*" circular_dependency journal index_lock
  ;;

demo)
  prefix=$work/prefix
  step "cmake --install --prefix $prefix"
  install_to "$prefix"
  libdir=$(libdir_of "$prefix")
  hide_build_tree
  run_seed_demo "$prefix" "$libdir"
  ;;

deb)
  step "cpack: the .deb"
  rm -rf "$work/pkg" "$work/root"
  (cd "$build" && cpack --config "$build/CPackConfig.cmake" -B "$work/pkg") >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log"; fail "cpack"; }
  deb=$(find "$work/pkg" -maxdepth 1 -name 'lockhound_*.deb' -print -quit)
  [ -n "$deb" ] || { cat "$work/cpack.log"; fail "cpack made no lockhound_*.deb"; }
  echo "package: $deb ($(stat -c %s "$deb") bytes)"
  dpkg-deb -I "$deb"
  [ "$(dpkg-deb -f "$deb" Package)" = lockhound ] || fail "Package is not lockhound"
  version=$(dpkg-deb -f "$deb" Version)
  [ "$version" = "$(sed -n 's/^project(lockhound VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")" ] ||
    fail "Version $version is not the project's"
  [ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture"
  depends=$(dpkg-deb -f "$deb" Depends)
  echo "Depends: $depends"
  # dpkg-shlibdeps' list: what the command, the library and scan's module link, by Debian package
  # (clang's and LLVM's only through the module).
  for pkg in libc6 libstdc++6 libdw1 libclang-cpp14 libllvm14; do
    tr ',' '\n' <<<"$depends" | awk '{print $1}' | grep -qxF "$pkg" || fail "Depends lacks $pkg: $depends"
  done
  # Every dependency is a Debian 12 package this machine has, at a version that satisfies it: the
  # package installs here.
  IFS=',' read -ra deps <<<"$depends"
  for d in "${deps[@]}"; do
    d=${d## }
    ok=""
    IFS='|' read -ra alts <<<"$d"
    for a in "${alts[@]}"; do
      a=$(echo "$a" | xargs)
      name=${a%% *}
      have=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null || true)
      [ -n "$have" ] || continue
      if [[ $a =~ \((..?)\ ([^\)]+)\) ]]; then
        op=${BASH_REMATCH[1]} ver=${BASH_REMATCH[2]}
        case $op in ">=") op=ge ;; "<=") op=le ;; "=") op=eq ;; ">>") op=gt ;; "<<") op=lt ;; esac
        dpkg --compare-versions "$have" "$op" "$ver" || continue
      fi
      ok=1
    done
    [ -n "$ok" ] || fail "dependency not satisfiable on this Debian: $d"
  done
  dpkg-deb -c "$deb" >"$work/contents.txt"
  for f in ./usr/bin/lockhound ./usr/include/lockhound/lockhound.h ./usr/include/lockhound/mutex.hpp \
           ./usr/share/man/man1/lockhound.1.gz ./usr/share/man/man1/lockhound-run.1.gz \
           ./usr/share/bash-completion/completions/lockhound ./usr/share/doc/lockhound/examples/seeds/abba.lh; do
    grep -qE " $f\$" "$work/contents.txt" || { cat "$work/contents.txt"; fail "the .deb lacks $f"; }
  done
  for f in liblockhound.so lockhound/lockhound-scan.so cmake/lockhound/lockhoundConfig.cmake pkgconfig/lockhound.pc; do
    grep -qE " \./usr/lib/([^/]*/)?$f\$" "$work/contents.txt" || { cat "$work/contents.txt"; fail "the .deb lacks $f"; }
  done
  grep -qE " \./usr/(local|src|home|work|tmp)" "$work/contents.txt" && fail "the .deb installs outside /usr's proper places"
  ! grep -qF "$build" "$work/contents.txt" || fail "the .deb names the build tree"

  step "dpkg -x into a scratch root, then the layout and the seed demo from there"
  dpkg -x "$deb" "$work/root"
  hide_build_tree
  root=$work/root/usr
  libdir=$(libdir_of "$root")
  check_layout "$root"
  # The .pc and the CMake package find their prefix from their own place: both work unpacked.
  [ "$(realpath "$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --variable=includedir lockhound)")" = "$root/include" ] ||
    fail "lockhound.pc in the .deb: includedir $(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --variable=includedir lockhound)"
  run_seed_demo "$root" "$libdir"
  rm -rf "$work/consumer-build"
  cmake -S "$here/consumer" -B "$work/consumer-build" -G Ninja -DCMAKE_PREFIX_PATH="$root" \
    >"$work/consumer-cmake.log" 2>&1 || { cat "$work/consumer-cmake.log"; fail "configuring the consumer project"; }
  cmake --build "$work/consumer-build" >"$work/consumer-build.log" 2>&1 ||
    { cat "$work/consumer-build.log"; fail "building the consumer project"; }
  rm -f "$work"/bank.*
  LOCKHOUND_OPTIONS=format=json:log_path=$work/bank expect_exit 66 "$work/consumer-build/bank"
  expect_finding "$work/bank.[0-9]*" circular_dependency savings checking
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
echo "PASS: install $mode"
