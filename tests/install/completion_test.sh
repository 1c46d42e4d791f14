#!/usr/bin/env bash
# The bash completion script (generated from lockhound's help, cmake/gen_docs.py), sourced in bash
# and asked what it completes, the way bash asks it at a TAB.
#   completion_test.sh COMPLETION_SCRIPT LOCKHOUND
set -euo pipefail
script=$1
lockhound=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

# shellcheck disable=SC1090
source "$script"
complete -p lockhound | grep -q -- '-F _lockhound' || fail "sourcing $script registers no completion for lockhound"

# complete WORD...: the words of the line (the last is the one completed); prints the candidates.
complete_line() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _lockhound lockhound "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort
}
# expect WANT... -- WORD...: the candidates are exactly WANT (sorted).
expect() {
  local want=() got
  while [ "$1" != -- ]; do want+=("$1"); shift; done
  shift
  got=$(complete_line "$@")
  [ "$got" = "$(printf '%s\n' "${want[@]}" | sort)" ] ||
    fail "completing '$*': got [$(echo $got)], want [${want[*]}]"
  echo "ok: '$*' -> $(echo $got)"
}
# has WANT -- WORD...: WANT is among the candidates.
has() {
  local want=$1
  shift 2
  complete_line "$@" | grep -qx -- "$want" || fail "completing '$*': no '$want' in [$(complete_line "$@" | xargs)]"
  echo "ok: '$*' offers $want"
}

commands=$("$lockhound" --help | awk '/^Subcommands:/{s=1;next} s&&/^  [a-z]/{print $1} s&&/^$/{s=0}')
[ "$(echo "$commands" | wc -w)" -ge 8 ] || fail "lockhound --help lists only: $commands"
# shellcheck disable=SC2086
expect $commands help -- lockhound ""
expect check -- lockhound ch
expect run -- lockhound ru
expect --help --version -- lockhound --
# shellcheck disable=SC2086
expect $commands -- lockhound help ""
expect --format -- lockhound run --for
expect text json sarif dot html -- lockhound check --format ""
expect json -- lockhound scan --format j
expect never -- lockhound run --color n
expect text json sarif dot html -- lockhound check --format = ""
# every option of every command is offered after '-'
for c in $commands; do
  for opt in $("$lockhound" "$c" --help | grep -oE '^  (-[a-z],)?--[a-z-]+' | grep -oE -- '--[a-z-]+'); do
    complete_line lockhound "$c" -- | grep -qx -- "$opt" || fail "lockhound $c: $opt not offered"
  done
done
echo "ok: every command's options are offered"
# options of one command are not offered for another
complete_line lockhound check -- | grep -qx -- --halt-on-error && fail "check offers run's --halt-on-error"
has --halt-on-error -- lockhound run --ha
# run: after --, the program is a command name
has bash -- lockhound run -- bas
has --exitcode -- lockhound run --format text --exit
# an option taking a file gets bash's file completion (no candidates of ours)
expect -- lockhound run -o ""
echo "PASS: bash completion"
