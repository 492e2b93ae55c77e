#!/usr/bin/env bash
# A student's history follows them to the classroom that newly teaches
# them, with real cairnd processes on loopback. Campus north: classrooms
# a1 and b1 sync straight to the central; classrooms c1 and d1 through a
# hub. A classroom records a student's milestone, evidence (with a note),
# an amendment, a review and a support change; the student moves to the
# other classroom (written by the old one, or at the central); the new
# classroom then holds their whole history, as the central does, and
# writes for them; the old classroom keeps what it had and receives
# nothing new about them. A student taught in two classrooms: what each
# writes about them reaches the other.
# usage: move_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
command -v jq >/dev/null || { echo "move_test.sh needs jq"; exit 1; }
dir=$(mktemp -d /tmp/cairn-move-XXXXXX)
base=$((20000 + RANDOM % 12000))
pc=$base
ph=$((base + 1))
. "$(dirname "$0")/nodes.sh"

day() { date -d "$1 days" +%F; }
S=$(day -30)
E=$(day 30)

C central init --role central --listen 127.0.0.1:$pc --name "district" >/dev/null
start central
C hub init --role hub --campus north --listen 127.0.0.1:$ph >/dev/null
start hub
C hub join "$(C central enroll --campus north --role hub 2>/dev/null)" >/dev/null 2>&1 || bad "hub join"
for n in a1 b1 c1 d1; do
  C $n init --campus north --classroom "room-$n" >/dev/null && start $n
done
for n in a1 b1; do
  C $n join "$(C central enroll --campus north --classroom "room-$n" 2>/dev/null)" >/dev/null 2>&1 ||
    bad "$n join"
done
for n in c1 d1; do
  C $n join "$(C central enroll --campus north --classroom "room-$n" 2>/dev/null)" \
    --upstream 127.0.0.1:$ph >/dev/null 2>&1 || bad "$n join"
done

C central devices >"$dir/devices" 2>&1
[ "$(awk '$2 == "hub" {print $4}' "$dir/devices")" = "-" ] && ok ||
  bad "devices: a hub's classroom shows as -: $(cat "$dir/devices")"

# history NODE ROOM STUDENT: a student of ROOM with a year's worth in small:
# a milestone, 3 points (one amended), a review and a support change.
history() {
  local n=$1 room=$2 st=$3 ms ev
  C $n student add --id "$st" --name "Student $st" --grade 6 --campus north --classroom "$room" \
    >/dev/null || bad "$n: student add $st"
  ms=$(C $n milestone add --student "$st" --type academic --statement "Claims for $st." \
    --scale 0-4 --baseline 1 --target 3 --start "$S" --end "$E" --json | new_id)
  ev=$(C $n evidence add "$ms" 2 --observed "$(day -20)" --note "NOTE-$st-ONE" --json | new_id)
  C $n evidence add "$ms" 2.5 --observed "$(day -13)" --note "NOTE-$st-TWO" >/dev/null
  C $n evidence add "$ms" 3 --observed "$(day -6)" >/dev/null
  C $n evidence amend "$ev" 1.5 --reason "rescored" >/dev/null || bad "$n: amend"
  C $n review add "$ms" --kind weekly --decision continue --date "$(day -5)" >/dev/null || bad "$n: review"
  C $n support add "$ms" --support "sentence stems" --date "$(day -4)" >/dev/null || bad "$n: support"
  echo "$ms"
}

# about NODE STUDENT: NODE's export, only the records about STUDENT (the
# student, their milestones and what hangs under them), sorted
about() {
  C "$1" export | jq -S --arg st "$2" '
    [.records[] | select(.type == "milestone" and .fields.student == $st) | .id] as $ms |
    [.records[] | select((.type == "student" and .id == $st) or
      (.type == "milestone" and .fields.student == $st) or
      (.fields.milestone != null and ([.fields.milestone] | inside($ms))))]'
}

# has NODE TEXT: NODE's export holds TEXT (read whole first: grep -q would
# close the pipe early, and pipefail would see cairn's EPIPE)
has() { C "$1" export >"$dir/has.$1" 2>&1 && grep -q -- "$2" "$dir/has.$1"; }

# until_same NODE STUDENT: waits (syncing) until NODE holds what the central
# holds about STUDENT, up to 30 s
until_same() {
  local i
  for i in $(seq 60); do
    about central "$2" >"$dir/central.$2"
    about "$1" "$2" >"$dir/$1.$2"
    cmp -s "$dir/central.$2" "$dir/$1.$2" && [ "$(jq length "$dir/$1.$2")" -gt 1 ] && return 0
    [ $((i % 6)) -eq 0 ] && C "$1" sync now --no-wait >/dev/null 2>&1
    sleep 0.5
  done
  diff "$dir/central.$2" "$dir/$1.$2" | head -20
  return 1
}

# --- 1. direct to the central: a1 writes, then moves the student to b1
ms=$(history a1 room-a1 ana)
C a1 sync now >/dev/null 2>&1 || bad "a1 sync now"
C b1 sync now >/dev/null 2>&1 || bad "b1 sync now"
[ "$(about b1 ana | jq length)" = 0 ] && ok || bad "b1 holds ana before she moves"
C a1 student move ana --classroom room-b1 --reason "schedule change" >/dev/null || bad "a1: move"
C a1 sync now >/dev/null 2>&1
C b1 sync now >/dev/null 2>&1
until_same b1 ana && ok || bad "b1 holds ana's whole history after the move, as the central does"
C b1 status --student ana >"$dir/b1.status" 2>&1
grep -q "Claims for ana" "$dir/b1.status" && ok || bad "b1's status shows ana's milestone: $(cat "$dir/b1.status")"
C b1 show "$ms" >"$dir/b1.show" 2>&1
grep -q "sentence stems" "$dir/b1.show" && grep -q "NOTE-ana-ONE" "$dir/b1.show" 2>/dev/null ||
  has b1 "NOTE-ana-ONE" && ok || bad "b1 sees ana's notes and support: $(cat "$dir/b1.show")"
C b1 evidence add "$ms" 3.5 --observed "$(day -1)" --note "NOTE-ana-B1" >/dev/null && ok ||
  bad "b1 writes for ana after the move"
C a1 evidence add "$ms" 1 --observed "$(day -1)" >/dev/null 2>&1 && bad "a1 still writes for ana" || ok
C b1 sync now >/dev/null 2>&1
C a1 sync now >/dev/null 2>&1
has central "NOTE-ana-B1" && ok || bad "the central holds b1's new evidence for ana"
has a1 "NOTE-ana-B1" && bad "a1 received b1's new evidence for ana" || ok
has a1 "NOTE-ana-ONE" && ok || bad "a1 lost what it held of ana"
C b1 check >"$dir/check" 2>&1 && ok || bad "b1 check: $(cat "$dir/check")"
# b1 asked once; after a restart it does not ask again, and holds the same
stop b1
start b1
C b1 sync now >/dev/null 2>&1
until_same b1 ana && ok || bad "b1 after a restart"
[ "$(grep -c "of a student's history filled in" "$dir/b1.log")" -le 1 ] && ok ||
  bad "b1 was sent ana's history again after it had it all: $(grep "history" "$dir/b1.log")"

# --- 2. through the hub, moved at the central: c1 writes, d1 gets it
ms2=$(history c1 room-c1 ben)
C c1 sync now >/dev/null 2>&1 || bad "c1 sync now"
C hub sync now >/dev/null 2>&1
C d1 sync now >/dev/null 2>&1
[ "$(about d1 ben | jq length)" = 0 ] && ok || bad "d1 holds ben before he moves"
until_same hub ben >/dev/null || true
C central student move ben --classroom room-d1 --reason "changed class" >/dev/null || bad "central: move"
C hub sync now >/dev/null 2>&1
C d1 sync now >/dev/null 2>&1
until_same d1 ben && ok || bad "d1 holds ben's whole history through the hub"
C d1 evidence add "$ms2" 3 --observed "$(day -1)" >/dev/null && ok || bad "d1 writes for ben"
C d1 check >"$dir/check" 2>&1 && ok || bad "d1 check: $(cat "$dir/check")"

# --- 3. a student taught in two classrooms: each classroom's entries about
# them reach the other, and nothing else of either classroom does
C central student add --id cy --name "Cy" --grade 6 --campus north --classroom room-a1 \
  --classroom room-b1 >/dev/null || bad "central: student add cy"
C a1 sync now >/dev/null 2>&1
C b1 sync now >/dev/null 2>&1
for n in a1 b1; do
  m=$(C $n milestone add --student cy --type academic --statement "Claims for cy in $n." \
    --scale 0-4 --baseline 1 --target 3 --start "$S" --end "$E" --json | new_id)
  C $n evidence add "$m" 2 --observed "$(day -3)" --note "NOTE-cy-$n" >/dev/null || bad "$n: cy evidence"
  C $n sync now >/dev/null 2>&1
done
C a1 sync now >/dev/null 2>&1
until_same b1 cy && ok || bad "b1 holds what a1 wrote about cy, as the central does"
until_same a1 cy && ok || bad "a1 holds what b1 wrote about cy, as the central does"
has b1 "NOTE-ana-ONE" && ok || bad "b1 lost ana"
C b1 student add --id dee --name "Dee" --grade 6 >/dev/null || bad "b1: student add dee"
m=$(C b1 milestone add --student dee --type academic --statement "Claims for dee." --scale 0-4 \
  --baseline 1 --target 3 --start "$S" --end "$E" --json | new_id)
C b1 evidence add "$m" 2 --observed "$(day -2)" --note "NOTE-dee-B1" >/dev/null || bad "b1: dee evidence ($m)"
C b1 sync now >/dev/null 2>&1
C a1 sync now >/dev/null 2>&1
has central "NOTE-dee-B1" && ok || bad "the central holds b1's own student"
has a1 "NOTE-dee-B1" && bad "a1 received b1's own student" || ok
C a1 check >"$dir/check" 2>&1 && ok || bad "a1 check: $(cat "$dir/check")"

# --- 4. a classroom that asks for a student outside its scope gets nothing
has a1 "NOTE-ben-ONE" && bad "a1 holds ben's notes" || ok

echo "move_test.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]
