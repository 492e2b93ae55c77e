#!/usr/bin/env bash
# cairnd --check: clean on a good store, a changed byte is found and named,
# and the check never modifies the data directory.
# usage: check_test.sh CAIRN CAIRND LOADGEN
set -uo pipefail
cairn=$1
cairnd=$2
loadgen=$3
dir=$(mktemp -d /tmp/cairn-check-XXXXXX)
export CAIRN_DATA=$dir/data # node "data" of nodes.sh
. "$(dirname "$0")/nodes.sh"

"$cairn" init --data "$CAIRN_DATA" >/dev/null
# a 1 MiB map: the writes grow it, and the check's rebuild must grow it too
sed -i 's/^map_size_mb = .*/map_size_mb = 1/' "$CAIRN_DATA/cairn.conf"
start data
"$cairn" student add --id s1 --name "Student One" >/dev/null
m=$("$cairn" milestone add --student s1 --type academic --statement "x" --scale 0-4 \
  --baseline 1 --target 3 --start 2026-10-01 --end 2026-12-01 --json |
  sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
"$loadgen" "$CAIRN_DATA" "$m" 3000 >/dev/null || bad "loadgen"
"$cairnd" --check --data "$CAIRN_DATA" >"$dir/out" 2>&1 && bad "check ran beside a live daemon" || ok
grep -q "cairn check" "$dir/out" && ok || bad "check points at cairn check: $(cat "$dir/out")"
stop data

"$cairnd" --check --data "$CAIRN_DATA" >"$dir/out" 2>&1 && ok || bad "clean store: $(cat "$dir/out")"
grep -q "clean" "$dir/out" && ok || bad "says clean"
sum=$(md5sum <"$CAIRN_DATA/store/data.mdb")
"$cairnd" --check --data "$CAIRN_DATA" >/dev/null 2>&1
[ "$sum" = "$(md5sum <"$CAIRN_DATA/store/data.mdb")" ] && ok || bad "check modified data.mdb"

# notes are sealed at rest (FORMAT.md section 8): none is in clear
n=$(grep -c -a "loadgen: a note" "$CAIRN_DATA/store/data.mdb")
[ "${n:-0}" -eq 0 ] && ok || bad "a note is in clear in data.mdb ($n)"
# change one byte inside every sealed log entry (past its mark, its tag and
# 200 bytes: in its header, which the chain covers, or in its sealed body,
# which no longer opens): check names the problems
n=$(LC_ALL=C grep -c -a $'\xc1E' "$CAIRN_DATA/store/data.mdb")
if [ "${n:-0}" -gt 0 ]; then
  # one process for every copy (perl-base is in every Debian)
  perl -0777 -pi -e 's/(\xc1E.{216})(.)/$1.chr(ord($2)^1)/gse' "$CAIRN_DATA/store/data.mdb"
  "$cairnd" --check --data "$CAIRN_DATA" >"$dir/out" 2>&1 && bad "a changed byte went unnoticed" || ok
  grep -q "^problem: " "$dir/out" && ok || bad "problems are named: $(head -3 "$dir/out")"
else
  bad "could not find a sealed entry in data.mdb to change"
fi
"$cairnd" --check --data "$dir/nowhere" >"$dir/out" 2>&1 && bad "check of a missing dir" || ok

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
