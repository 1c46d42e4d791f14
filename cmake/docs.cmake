# Man pages (help2man, Debian's help2man package) and the bash completion script, both made at build
# time from the built lockhound's own --help by cmake/gen_docs.py: a command or option added to the
# CLI is documented and completed by the next build, with nothing else to edit.
find_program(LOCKHOUND_HELP2MAN help2man)
if(NOT LOCKHOUND_HELP2MAN)
  message(FATAL_ERROR "help2man not found: lockhound's man pages are made with it (scripts/setup.sh installs it)")
endif()
find_package(Python3 REQUIRED COMPONENTS Interpreter)

get_property(lockhound_commands GLOBAL PROPERTY LOCKHOUND_COMMANDS)
set(LOCKHOUND_MAN_DIR ${PROJECT_BINARY_DIR}/man)
set(lockhound_man_pages ${LOCKHOUND_MAN_DIR}/lockhound.1.gz)
foreach(c ${lockhound_commands})
  list(APPEND lockhound_man_pages ${LOCKHOUND_MAN_DIR}/lockhound-${c}.1.gz)
endforeach()
add_custom_command(OUTPUT ${lockhound_man_pages}
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/cmake/gen_docs.py man $<TARGET_FILE:lockhound>
          ${PROJECT_VERSION} ${LOCKHOUND_MAN_DIR}
  DEPENDS lockhound ${PROJECT_SOURCE_DIR}/cmake/gen_docs.py
  COMMENT "Man pages from lockhound --help (help2man)" VERBATIM)

set(LOCKHOUND_BASH_COMPLETION ${PROJECT_BINARY_DIR}/completion/lockhound)
add_custom_command(OUTPUT ${LOCKHOUND_BASH_COMPLETION}
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/cmake/gen_docs.py completion $<TARGET_FILE:lockhound>
          ${LOCKHOUND_BASH_COMPLETION}
  DEPENDS lockhound ${PROJECT_SOURCE_DIR}/cmake/gen_docs.py
  COMMENT "Bash completion from lockhound --help" VERBATIM)

add_custom_target(lockhound_docs ALL DEPENDS ${lockhound_man_pages} ${LOCKHOUND_BASH_COMPLETION})
