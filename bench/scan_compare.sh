#!/usr/bin/env bash
# lockhound scan against plain `clang-14 -fsyntax-only` on the same files with the same flags, in
# the same run (docs/performance.md, "lockhound scan against clang -fsyntax-only").
#
#   bench/scan_compare.sh [build/src/cli/lockhound] [kernel dir, default drivers/net/ethernet/intel/e1000]
#
# Builds the driver directory from Debian's linux-source-6.1 as an out-of-tree module with bear
# (compile_commands.json), then measures, each with /usr/bin/time -v (user+sys CPU, wall, peak
# RSS) and best of $REPS runs:
#   parse      clang-14 -fsyntax-only over every file, sequentially, with lockhound's own flags
#              (`lockhound scan --print-commands`: the Kbuild command minus the gcc-only flags)
#   cold       lockhound scan -j 1 with an empty cache (parse + facts + cache write + analysis)
#   incr       lockhound scan -j 1 after editing one file (one parse, the rest from the cache)
#   one        clang-14 -fsyntax-only of that one file
# and prints a Markdown table with files/s, lines/s and the ratios cold/parse and incr/one.
set -euo pipefail
LH=$(realpath "${1:-build/src/cli/lockhound}")
REL=${2:-drivers/net/ethernet/intel/e1000}
REPS=${REPS:-3}
TARBALL=/usr/src/linux-source-6.1.tar.xz
HEADERS=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort | tail -1)
[ -x "$LH" ] || { echo "no lockhound at $LH" >&2; exit 2; }
[ -f "$TARBALL" ] && [ -n "$HEADERS" ] || { echo "needs linux-source-6.1 and linux-headers-amd64" >&2; exit 2; }
command -v bear >/dev/null && command -v clang-14 >/dev/null || { echo "needs bear and clang-14" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lockhound-scanbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
tar -C "$WORK" -xf "$TARBALL" "linux-source-6.1/$REL"
cp -r "$WORK/linux-source-6.1/$REL" "$WORK/mod"
(cd "$WORK/mod" && bear --output compile_commands.json -- make -C "$HEADERS" M="$WORK/mod" modules -j2 >build.log 2>&1)
DB="$WORK/mod/compile_commands.json"
"$LH" scan -p "$DB" --print-commands >"$WORK/commands.tsv"
FILES=$(wc -l <"$WORK/commands.tsv")
LINES=$(cut -f2 "$WORK/commands.tsv" | xargs cat | wc -l)
ONE=$(cut -f2 "$WORK/commands.tsv" | grep -v '\.mod\.c$' | xargs wc -l | grep -v ' total$' | sort -n | tail -1 | awk '{print $2}')
ONE_LINES=$(wc -l <"$ONE")

# parse_all FILTER: clang-14 -fsyntax-only on every command (or those whose file matches FILTER).
cat >"$WORK/parse.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
while IFS=$'\t' read -r -a cmd; do
  dir=${cmd[0]}; file=${cmd[1]}
  [ -z "${FILTER:-}" ] || [ "$file" = "$FILTER" ] || continue
  (cd "$dir" && clang-14 "${cmd[@]:3}" -fsyntax-only)
done <"$1"
EOF
chmod +x "$WORK/parse.sh"

# measure NAME CMD...: best (lowest CPU) of $REPS runs; prints "cpu wall rss_kb".
measure() {
  local name=$1; shift
  local best=""
  for _ in $(seq "$REPS"); do
    [ -z "${BEFORE:-}" ] || eval "$BEFORE"
    /usr/bin/time -v -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/err.txt" || true
    local u s w r
    u=$(awk -F': ' '/User time/ {print $2}' "$WORK/time.txt")
    s=$(awk -F': ' '/System time/ {print $2}' "$WORK/time.txt")
    w=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
    local cpu
    cpu=$(echo "$u + $s" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$cpu < ${best%% *}" | bc -l)" = 1 ]; then best="$cpu $w $r"; fi
  done
  echo "$best" >"$WORK/$name.res"
}

measure parse "$WORK/parse.sh" "$WORK/commands.tsv"
BEFORE="rm -rf '$WORK/cache'" measure cold "$LH" scan -j 1 --cache "$WORK/cache" -p "$DB" --format json
"$LH" scan -j 1 --cache "$WORK/cache" -p "$DB" --format json >/dev/null || true
cp "$ONE" "$WORK/one.orig"
# Each incremental run edits the file anew (a comment appended), so exactly one file re-parses.
BEFORE="cp '$WORK/one.orig' '$ONE'; echo '/* edit '\$RANDOM' */' >>'$ONE'" measure incr "$LH" scan -j 1 --cache "$WORK/cache" -p "$DB" --format json
cp "$WORK/one.orig" "$ONE"; echo '/* edit: check */' >>"$ONE"
"$LH" scan -j 1 --cache "$WORK/cache" -p "$DB" --format json | grep -o '"files \(parsed\|from cache\)": *[0-9]*' | tr '\n' ' ' >"$WORK/incr_parsed.txt" || true
cp "$WORK/one.orig" "$ONE"
FILTER="$ONE" measure one env FILTER="$ONE" "$WORK/parse.sh" "$WORK/commands.tsv"

read -r pc pw pr <"$WORK/parse.res"; read -r cc cw cr <"$WORK/cold.res"
read -r ic iw ir <"$WORK/incr.res"; read -r oc ow or_ <"$WORK/one.res"
f() { printf '%.2f' "$1"; }
echo "| run | files | lines | CPU s (user+sys) | wall s | files/s (CPU) | lines/s (CPU) | peak RSS MB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for row in "clang-14 -fsyntax-only, all files:$FILES:$LINES:$pc:$pw:$pr" \
           "lockhound scan, cold (-j 1):$FILES:$LINES:$cc:$cw:$cr" \
           "lockhound scan, after editing $(basename "$ONE") (-j 1):$FILES:$LINES:$ic:$iw:$ir" \
           "clang-14 -fsyntax-only, $(basename "$ONE") only:1:$ONE_LINES:$oc:$ow:$or_"; do
  IFS=: read -r name n l c w r <<<"$row"
  echo "| $name | $n | $l | $(f "$c") | $(f "$w") | $(f "$(echo "$n / $c" | bc -l)") | $(printf '%.0f' "$(echo "$l / $c" | bc -l)") | $(( r / 1024 )) |"
done
echo
echo "cold / parse = $(f "$(echo "$cc / $pc" | bc -l)")x (target <= 2x); incremental / one file's parse = $(f "$(echo "$ic / $oc" | bc -l)")x (target <= 1.2x)"
echo "an incremental run after one edit: $(cat "$WORK/incr_parsed.txt")"
