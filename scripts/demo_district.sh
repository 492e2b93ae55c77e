#!/usr/bin/env bash
# The central office's scenario on one machine (scripts/demo.sh --district):
# a central and two classroom devices of one campus, each its own cairnd on
# its own data directory, syncing over 127.0.0.1. The central imports a
# OneRoster export and publishes a standard and two milestone templates;
# the classrooms receive their class lists and the templates, record
# evidence, and sync; the central runs the four reports.
#
# usage: scripts/demo_district.sh [DATA_DIR]   (default: ./demo-district, recreated)
# CAIRN_BUILD_DIR: the build directory holding client/cairn and
# daemon/cairnd (scripts/demo.sh --district installs what is missing,
# builds, and sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
top=${1:-$(pwd)/demo-district}
if [ -z "${CAIRN_BUILD_DIR:-}" ]; then
  echo "usage: scripts/demo.sh --district [DIR] (it builds cairn first)" >&2
  exit 2
fi
cairn=$CAIRN_BUILD_DIR/client/cairn
cairnd=$CAIRN_BUILD_DIR/daemon/cairnd

rm -rf "$top"
mkdir -p "$top"
declare -A pid
stop_all() {
  for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all EXIT
C() { local n=$1; shift; "$cairn" --data "$top/$n" "$@"; }
start() {
  "$cairnd" --data "$top/$1" 2>>"$top/$1.log" &
  pid[$1]=$!
  for _ in $(seq 200); do [ -S "$top/$1/cairnd.sock" ] && return 0; sleep 0.05; done
  echo "cairnd $1 did not start; its log:" >&2
  cat "$top/$1.log" >&2
  exit 1
}
# a free port on 127.0.0.1 from 7430 up
port=
for p in $(seq 7430 7490); do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }
done
[ -n "$port" ] || { echo "no free port on 127.0.0.1 between 7430 and 7490" >&2; exit 1; }
d() { date -d "$1" +%F; }
new_id() { sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'; }

echo "== the central: cairn init --role central (listening on 127.0.0.1:$port)"
C central init --role central --listen "127.0.0.1:$port" --name "Riverside district office"
start central

echo "== rosters in: a OneRoster 1.2 export (tests/fixtures/oneroster/bulk)"
C central roster import tests/fixtures/oneroster/bulk --dry-run | tail -5
C central roster import tests/fixtures/oneroster/bulk | tail -5

echo "== shared milestones: a standard and two templates"
C central standard add --code CCSS.ELA-LITERACY.W.6.1 --text "Write arguments to support claims"
C central template add --id ela-claim --title "Claim and evidence" --type academic \
  --statement "I will include a clear claim and {number} pieces of evidence." \
  --scale 0-4 --target 3 --rule "4 of 5" --cadence weekly --standard CCSS.ELA-LITERACY.W.6.1
C central template add --id on-task --title "On task in seatwork" --type behavior \
  --statement "I will start seatwork within 2 minutes." --scale 0-100 --target 80 --direction up \
  --rule "3 of 5" --cadence weekly
C central template list

echo "== two classroom devices of North Middle School join"
for room in cls-n-math cls-n-ela; do
  C "$room" init --campus sch-n --classroom "$room" --name "$room laptop"
  start "$room"
  C "$room" join "$(C central enroll --campus sch-n --classroom "$room" 2>/dev/null)"
done
for room in cls-n-math cls-n-ela; do C "$room" sync now; done
echo "-- cls-n-math's class list, from the roster, with no typing:"
C cls-n-math student list

echo "== each classroom makes milestones from the templates and records evidence"
start_day=$(d "-28 days")
end_day=$(d "+14 days")
record() { # record ROOM STUDENT TEMPLATE BASELINE VALUES... (every 4 days, oldest first; "support": a support change from then on)
  local room=$1 st=$2 tpl=$3 base=$4 i=0
  shift 4
  if [ "$tpl" = ela-claim ]; then
    ms=$(C "$room" milestone add --template "$tpl" --student "$st" --fill 2 --baseline "$base" \
      --start "$start_day" --end "$end_day" --json | new_id)
  else
    ms=$(C "$room" milestone add --template "$tpl" --student "$st" --baseline "$base" \
      --start "$start_day" --end "$end_day" --json | new_id)
  fi
  for v in "$@"; do
    if [ "$v" = support ]; then # a support change from this week on
      C "$room" support add "$ms" --support "a visual timer on the desk" \
        --date "$(d "$start_day + $((i * 4)) days")" >/dev/null
      continue
    fi
    C "$room" evidence add "$ms" "$v" --observed "$(d "$start_day + $((i * 4 + 1)) days")" --by "teacher" >/dev/null
    i=$((i + 1))
  done
}
record cls-n-ela st-01 ela-claim 1.5 2 2.5 3 3
record cls-n-ela st-02 ela-claim 1 1 1 1 1
record cls-n-ela st-03 ela-claim 2 2 1.5 1.5 1
record cls-n-math st-04 on-task 40 40 42 38 support 55 62 70
record cls-n-math st-07 on-task 50 52 55 56 support 45 40 35
for room in cls-n-math cls-n-ela; do C "$room" sync now; done

echo "== the central's four reports"
echo "-- report program"
C central report program
echo "-- report red"
C central report red
echo "-- report reviews"
C central report reviews
echo "-- report supports"
C central report supports
echo "-- the same as CSV, for a spreadsheet: report red --csv"
C central report red --csv

stop_all
trap - EXIT
echo "== stopped the three cairnd; their data is in $top (central, cls-n-math, cls-n-ela)"
