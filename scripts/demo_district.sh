#!/usr/bin/env bash
# The central office's scenario on one machine (scripts/demo.sh --district):
# a central and two classroom devices of one campus, each its own cairnd on
# its own data directory, syncing over 127.0.0.1. The central imports a
# OneRoster export and publishes a standard and two milestone templates;
# the classrooms receive their class lists and the templates, record
# evidence, and sync; the central runs the four reports; its PostgreSQL
# mirror (a throwaway PostgreSQL 15 cluster in a temporary directory,
# removed at the end) answers the program view and the red list in SQL.
#
# usage: scripts/demo_district.sh [DATA_DIR]   (default: ./demo-district, recreated)
# CAIRN_BUILD_DIR: the build directory holding client/cairn and
# daemon/cairnd (scripts/demo.sh --district installs what is missing,
# builds, and sets it).
# CAIRN_DEMO_COMPARE: a directory where the demo also leaves each report
# as `cairn report KIND --json` (KIND.report.json) and as its mirror view
# (KIND.sql.json), for the test that compares them.
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
pgbin=/usr/lib/postgresql/15/bin
pgdir=
stop_all() {
  for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$pgdir" ]; then
    as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -w -s -m fast stop >/dev/null 2>&1 || true
    rm -rf "$pgdir"
  fi
}
# PostgreSQL will not run as root: the cluster is the user postgres's then.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
sql() { psql -h "$pgdir" -U cairn -d cairn -X -q "$@"; }
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
if [ -x "$pgbin/initdb" ] && command -v psql >/dev/null; then
  pgdir=$(mktemp -d /tmp/cairn-demo-pg-XXXXXX)
  echo "== a PostgreSQL 15 for the central's mirror: a throwaway cluster in $pgdir"
  if [ "$(id -u)" -eq 0 ]; then chmod 711 "$pgdir" && chown postgres "$pgdir"; fi
  as_pg "$pgbin/initdb" -D "$pgdir/data" -A trust -U cairn --no-sync >"$top/postgres.log" 2>&1
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -s \
    -o "-k $pgdir -c listen_addresses=" start >>"$top/postgres.log"
  psql -h "$pgdir" -U cairn -d postgres -X -q -c "CREATE DATABASE cairn"
  # [mirror] of the central's cairn.conf: a Unix socket, no password
  sed -i "s|^postgres =.*|postgres = postgresql:///cairn?host=$pgdir\&user=cairn|" "$top/central/cairn.conf"
  grep "^postgres =" "$top/central/cairn.conf"
else
  echo "== no PostgreSQL 15 here (scripts/deps.sh installs it): the demo runs without the mirror"
fi
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

if [ -n "$pgdir" ]; then
  echo "== the same reports from SQL: the central's PostgreSQL mirror"
  for _ in $(seq 600); do # until it has applied every entry and written the status
    C central mirror status --json | grep -q '"behind": 0,.*"status_current": true' && break
    sleep 0.1
  done
  C central mirror status
  echo "-- psql: SELECT ... FROM report_program"
  sql -c "SELECT coalesce(template, standard, type) AS grp, place, campus, classroom, students,
            milestones, meeting + exceeding AS meeting, developing, beginning, red, missed,
            missed_rank FROM report_program"
  echo "-- psql: SELECT ... FROM report_red"
  sql -c "SELECT campus, classroom, name, statement, light, days_since_evidence AS days_since,
            jsonb_array_length(triggered) AS rules_firing FROM report_red"
  if [ -n "${CAIRN_DEMO_COMPARE:-}" ]; then
    mkdir -p "$CAIRN_DEMO_COMPARE"
    for kind in program red reviews supports; do
      C central report "$kind" --json >"$CAIRN_DEMO_COMPARE/$kind.report.json"
      sql -A -t -c "SELECT coalesce(json_agg(v), '[]') FROM report_$kind v" >"$CAIRN_DEMO_COMPARE/$kind.sql.json"
    done
  fi
fi

stop_all
trap - EXIT
echo "== stopped the three cairnd${pgdir:+ and PostgreSQL (its cluster is removed)}; their data is in $top (central, cls-n-math, cls-n-ela)"
