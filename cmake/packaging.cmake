# CPack: `cpack --config build/CPackConfig.cmake` (or `cmake --build build --target package`) makes
# lockhound_VERSION_ARCH.deb from the install rules (cmake/install.cmake), installed under /usr.
# Its dependencies are computed by dpkg-shlibdeps from what the command, the library and scan's
# module link (libc, libstdc++, abseil, libdw; clang's and LLVM's shared libraries for the
# module), so `apt install ./lockhound_*.deb` pulls in exactly those on a fresh Debian 12.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lockhound)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "lockhound developers <lockhound@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "finds deadlocks before they happen and explains the ones that did")
set(CPACK_PACKAGE_DESCRIPTION "lockhound is a lock-correctness validator for C and C++, kernel and user space, \
with the Linux kernel's lockdep model: lock-order inversions, recursive locking, locks shared with \
interrupt or signal handlers, sleeping under spinlocks. It checks unmodified programs under LD_PRELOAD \
(lockhound run), scenario files, kernel lock traces and logs, C source, /proc and hung processes. \
This package has the command, the runtime library with its annotation API (headers, CMake package, \
pkg-config file), man pages and bash completion.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Graphviz draws the lock-order graph of --format html/dot reports when it is there.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS graphviz)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
include(CPack)
