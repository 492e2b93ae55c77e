#!/usr/bin/env bash
# Clocks across classroom, hub and central (docs/FORMAT.md section 1.1): a
# classroom whose clock is 3 years ahead and one 3 years behind (libfaketime,
# on their cairnd and their cairn alike). What the ahead one writes reaches
# the central and is not lost; it cannot win over edits made later; no other
# node's clock moves; every node agrees; each side is told, in words.
# usage: clock_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
# libfaketime itself (not the faketime wrapper, which would stand between
# the test and cairnd's pid); the MT build, as cairnd has threads.
faketime_lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
[ -n "$faketime_lib" ] || { echo "clock_test: libfaketime is not installed (apt-get install faketime)"; exit 77; }
dir=$(mktemp -d /tmp/cairn-clock-XXXXXX)
pc=$((20000 + RANDOM % 6000))
ph=$((pc + 1))
. "$(dirname "$0")/nodes.sh"

declare -A skew=([ahead]="+3y" [behind]="-3y")
# Under AddressSanitizer the preloaded libfaketime comes before ASan's
# runtime, which ASan refuses unless told that the order is fine (libfaketime
# wraps time calls only, not memory).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
# A node's cairnd and cairn run on its own clock.
on_clock() { # on_clock NODE CMD...: CMD under the node's clock, if skewed
  local n=$1; shift
  if [ -n "${skew[$n]:-}" ]; then
    LD_PRELOAD=$faketime_lib FAKETIME="${skew[$n]}" FAKETIME_DONT_FAKE_MONOTONIC=1 "$@"
  else
    "$@"
  fi
}
C() { local n=$1; shift; on_clock "$n" "$cairn" --data "$dir/$n" "$@"; }
start() { # (env, not the function: $! must be cairnd's own pid)
  local pre=()
  [ -n "${skew[$1]:-}" ] &&
    pre=(env LD_PRELOAD="$faketime_lib" FAKETIME="${skew[$1]}" FAKETIME_DONT_FAKE_MONOTONIC=1)
  "${pre[@]}" "$cairnd" --data "$dir/$1" 2>>"$dir/$1.log" &
  pid[$1]=$!
  for _ in $(seq 200); do [ -S "$dir/$1/cairnd.sock" ] && return 0; sleep 0.05; done
  bad "cairnd $1 did not start"; return 1
}
field() { # field NODE ID FIELD: the current value of a record's field
  C "$1" show "$2" --json 2>/dev/null | jq -r ".record.fields.$3 // empty"
}
until_field() { # until_field NODE ID FIELD VALUE: waits up to 30 s
  local i
  for i in $(seq 60); do
    [ "$(field "$1" "$2" "$3")" = "$4" ] && return 0
    [ $((i % 10)) -eq 0 ] && C "$1" sync now --no-wait >/dev/null 2>&1
    sleep 0.5
  done
  return 1
}
newest_hlc_ms() { # the HLC (ms) of the newest write of a record, at NODE
  C "$1" show "$2" --json | jq '[.record.history[].hlc] | max / 65536 | floor'
}
now_ms() { echo $(($(date +%s) * 1000)); }

C central init --role central --listen 127.0.0.1:$pc --name district >/dev/null && start central
C hub init --role hub --campus north --listen 127.0.0.1:$ph --name "north hub" >/dev/null && start hub
C hub join "$(C central enroll --campus north --role hub)" >/dev/null || bad "hub join"
for n in ahead behind; do
  room=room-1
  [ $n = behind ] && room=room-2
  C $n init --campus north --classroom $room >/dev/null && start $n
  C $n join "$(C central enroll --campus north --classroom $room)" --upstream 127.0.0.1:$ph \
    >"$dir/out" 2>&1 && ok || bad "$n join: $(cat "$dir/out")"
done

C central student add --id ana-8 --name "Ana" --classroom room-1 --campus north >/dev/null
C central student add --id bo-8 --name "Bo" --classroom room-2 --campus north >/dev/null
ms_a=$(C central milestone add --student ana-8 --type academic --statement "v0" --scale 0-4 \
  --baseline 1 --target 3 --start 2026-11-02 --end 2026-12-14 --json | new_id)
ms_b=$(C central milestone add --student bo-8 --type academic --statement "v0" --scale 0-4 \
  --baseline 1 --target 3 --start 2026-11-02 --end 2026-12-14 --json | new_id)
until_field ahead "$ms_a" statement v0 && ok || bad "ahead never received the milestone"
until_field behind "$ms_b" statement v0 && ok || bad "behind never received its milestone"

# --- each side is told
C ahead status >"$dir/out" 2>&1
grep -q "this machine's clock is 3 years ahead of the central's" "$dir/out" && ok ||
  bad "ahead's status does not say its clock is ahead: $(head -3 "$dir/out")"
C ahead sync status >"$dir/out" 2>&1
grep -q "clock is 3 years ahead of the central's" "$dir/out" && ok || bad "ahead's sync status"
C behind status >"$dir/out" 2>&1
grep -q "this machine's clock is 3 years behind the central's" "$dir/out" && ok ||
  bad "behind's status does not say its clock is behind: $(head -3 "$dir/out")"
grep -q "this machine's clock is 3 years ahead of the central's" "$dir/ahead.log" && ok ||
  bad "ahead's log does not say it at connect"
C hub sync status >"$dir/out" 2>&1
grep -q "its clock is 3 years ahead of the central's" "$dir/out" && ok ||
  bad "the hub does not show the ahead classroom's clock: $(cat "$dir/out")"
grep -q "its clock is 3 years behind the central's" "$dir/out" && ok ||
  bad "the hub does not show the behind classroom's clock"
C central status >"$dir/out" 2>&1
grep -q "clock is" "$dir/out" && bad "the central's own status speaks of its clock" || ok

# --- the date a teacher's machine fills in is refused, with the reason
C ahead evidence add "$ms_a" 3 >"$dir/out" 2>&1 && bad "ahead recorded evidence dated 2029" || ok
grep -q "this machine's clock is 3 years ahead of the central's" "$dir/out" && ok ||
  bad "the refusal does not say why: $(cat "$dir/out")"

# --- what the ahead classroom writes is not lost, and cannot win
ev=$(C ahead evidence add "$ms_a" 3 --observed 2026-12-01 --json | new_id)
C ahead milestone set "$ms_a" --statement "from the fast clock" --reason "its words" >/dev/null ||
  bad "ahead edits"
until_field central "$ms_a" statement "from the fast clock" && ok ||
  bad "the ahead classroom's edit never reached the central"
until_field central "$ev" value 3 && ok || bad "the ahead classroom's evidence is lost"
[ "$(newest_hlc_ms central "$ms_a")" -le $(($(now_ms) + 600000)) ] && ok ||
  bad "the central kept the date of the ahead classroom's edit"
C central sync status --json >"$dir/out"
jq -e '.refusals.entries_clock_ahead >= 2' "$dir/out" >/dev/null && ok ||
  bad "the central did not count entries_clock_ahead: $(jq .refusals "$dir/out")"
C hub sync status --json >"$dir/out"
jq -e '.refusals.entries_clock_ahead >= 2' "$dir/out" >/dev/null && ok ||
  bad "the hub did not count entries_clock_ahead"
C central milestone set "$ms_a" --statement "made later at the central" --reason later >/dev/null
for n in hub ahead; do
  until_field $n "$ms_a" statement "made later at the central" && ok ||
    bad "$n: the edit made later does not win: $(field $n "$ms_a" statement)"
done
C ahead sync status >"$dir/out" 2>&1
grep -q "the central orders such entries at their arrival" "$dir/out" && ok ||
  bad "ahead is not told its entries were re-dated: $(cat "$dir/out")"

# --- no other node's clock moved: the central and the hub date by real time
C central student add --id cy-8 --name "Cy" --classroom room-1 --campus north >/dev/null
[ "$(newest_hlc_ms central cy-8)" -le $(($(now_ms) + 600000)) ] && ok ||
  bad "the central's clock moved"

# --- the behind classroom: holds nothing for long, and its later edit wins
C behind milestone set "$ms_b" --statement "from the slow clock" --reason "its words" >/dev/null
until_field central "$ms_b" statement "from the slow clock" && ok ||
  bad "the behind classroom's edit made after it received v0 lost: $(field central "$ms_b" statement)"
C central milestone set "$ms_b" --statement "central, later" --reason later >/dev/null
until_field behind "$ms_b" statement "central, later" && ok || bad "behind did not follow"

# --- every node agrees, and checks clean
converge hub north && ok || bad "the hub and the central disagree"
converge ahead north/room-1 && ok || bad "ahead and the central disagree"
converge behind north/room-2 && ok || bad "behind and the central disagree"
for n in central hub ahead behind; do
  C $n check >"$dir/out" 2>&1 && ok || bad "$n check: $(cat "$dir/out")"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
