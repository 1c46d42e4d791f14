# `cmake --install`: the command, liblockhound.so (the preload library and the annotation API's
# library in one), scan's module lockhound-scan.so, the public headers, the CMake package
# (find_package(lockhound) -> lockhound::lockhound, lockhound::cli), lockhound.pc, the man pages
# and bash completion made by cmake/docs.cmake, and the docs and seed examples. The layout is GNUInstallDirs'; `lockhound run`
# finds the library, and `lockhound scan` its module, relative to its own executable
# (src/runtime/launcher.h).
include(CMakePackageConfigHelpers)

set_target_properties(lockhound PROPERTIES EXPORT_NAME cli)
install(TARGETS lockhound EXPORT lockhoundTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS lockhound_runtime EXPORT lockhoundTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
# `lockhound scan`'s C parser (clang), a private module the command loads when scan runs
# (src/scan/module.h): in the library directory's lockhound/, where the command looks for it.
if(TARGET lockhound_scan_module)
  install(TARGETS lockhound_scan_module LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/lockhound)
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/lockhound DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(LOCKHOUND_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lockhound)
install(EXPORT lockhoundTargets NAMESPACE lockhound:: DESTINATION ${LOCKHOUND_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/lockhoundConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/lockhoundConfig.cmake INSTALL_DESTINATION ${LOCKHOUND_CMAKE_DIR})
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/lockhoundConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/lockhoundConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/lockhoundConfigVersion.cmake
        DESTINATION ${LOCKHOUND_CMAKE_DIR})

# lockhound.pc finds the prefix from its own place (${pcfiledir}): right for `cmake --install
# --prefix` chosen at install time, for CPack's /usr, and for a tree moved or unpacked elsewhere.
file(RELATIVE_PATH LOCKHOUND_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/lockhound.pc.in ${PROJECT_BINARY_DIR}/cmake/lockhound.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/lockhound.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${lockhound_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${LOCKHOUND_BASH_COMPLETION} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/seeds ${PROJECT_SOURCE_DIR}/examples/programs
                  ${PROJECT_SOURCE_DIR}/examples/api ${PROJECT_SOURCE_DIR}/examples/scan
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
