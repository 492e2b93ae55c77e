#!/usr/bin/env bash
# The PostgreSQL mirror (docs/REPORTING.md), against a real PostgreSQL 15
# made for the test in a temporary directory (initdb, pg_ctl; a Unix socket
# there, no TCP), run as the user postgres when the test runs as root, and
# removed at the end. A central with a mirror and a classroom that syncs to
# it: rows appear for evidence recorded at the central and synced from the
# classroom; after kill -9 of cairnd mid-stream, and after PostgreSQL is
# stopped mid-stream (mirror status says how far behind meanwhile), the
# mirror catches up with no row lost or doubled (its rows are compared to
# the writes of the store's export); a second cairnd on a copy of the store
# delivering the same entries at the same time doubles nothing; each
# milestone's status in PostgreSQL is the one `cairn status` shows, also
# after a catch-up; mirror rebuild gives the same rows as the streamed
# mirror; and an erasure at the central deletes the student's rows (their
# name is then in no table file of the database).
# usage: mirror_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
pgbin=/usr/lib/postgresql/15/bin
for t in jq python3 "$pgbin/initdb" "$pgbin/pg_ctl" psql; do
  command -v "$t" >/dev/null || { echo "mirror_test.sh needs $t (scripts/deps.sh)"; exit 1; }
done
dir=$(mktemp -d /tmp/cairn-mirror-XXXXXX)
base=$((20000 + RANDOM % 12000))
pc=$base
. "$(dirname "$0")/nodes.sh"

# --- PostgreSQL, as an unprivileged user
pg=$dir/pg
mkdir "$pg"
if [ "$(id -u)" -eq 0 ]; then
  chmod 711 "$dir"
  chown postgres "$pg"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi
pg_up() { as_pg "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/log" -w -s \
  -o "-k $pg -c listen_addresses= -c fsync=off" start >/dev/null; }
pg_down() { as_pg "$pgbin/pg_ctl" -D "$pg/data" -w -s -m "${1:-fast}" stop >/dev/null 2>&1; }
trap 'pg_down immediate; cleanup' EXIT
as_pg "$pgbin/initdb" -D "$pg/data" -A trust -U cairn --no-sync >"$pg/initdb.log" 2>&1 ||
  { cat "$pg/initdb.log"; bad "initdb"; exit 1; }
pg_up || { cat "$pg/log"; bad "PostgreSQL did not start"; exit 1; }
Q() { psql -h "$pg" -U cairn -d cairn -X -A -t -q -c "$1"; }
psql -h "$pg" -U cairn -d postgres -X -q -c "CREATE DATABASE cairn" || bad "createdb"

day() { date -d "$1 days" +%F; }
S=$(day -30)
E=$(day 30)
milestone() { # milestone NODE STUDENT -> id
  C "$1" milestone add --student "$2" --type academic --statement "I will write a clear claim." \
    --scale 0-4 --baseline 1 --target 3 --rule "3 of 4" --start "$S" --end "$E" --json | new_id
}
# many NODE MILESTONE N: N evidence entries in one batch (evidence add-many)
many() {
  local i
  for i in $(seq "$3"); do echo "$2 $((i % 5)) $(day $((-(i % 20))))"; done >"$dir/many.$1"
  C "$1" evidence add-many "$dir/many.$1" >/dev/null 2>&1
}
# Waits until NODE's mirror is connected with nothing behind (up to 90 s).
caught_up() {
  local i s
  for i in $(seq 180); do
    s=$(C "${1:-central}" mirror status --json 2>/dev/null)
    [ "$(jq -r '.mirror.connected and .mirror.behind == 0 and (.mirror.rebuilding | not)' <<<"$s")" = true ] &&
      return 0
    sleep 0.5
  done
  echo "mirror status: $s"
  return 1
}
# The writes of the store's export: one per entry, as "author seq" lines
# (export's history), sorted; and the mirror's rows the same way.
store_writes() {
  C central export | jq -r '.records[].history[] | "\(.author) \(.seq)"' | sort
}
mirror_writes() { Q "SELECT author || ' ' || seq FROM cairn_write" | sort; }
# Waits until the central's milestone status in PostgreSQL covers every
# entry applied (up to 30 s), then compares it with `cairn status`: each
# milestone's level, light, points, last value, trend and review due.
status_matches() {
  local i
  for i in $(seq 60); do
    [ "$(C central mirror status --json | jq -r '.mirror.status_current')" = true ] && break
    sleep 0.5
  done
  C central status --json | jq -r '.students[].milestones[] |
    [.id, .level, .light, .points, (.last_value // "-"), (.trend_per_week // "-"),
     (.next_review // "-"), .overdue] | map(tostring) | join(" ")' | sort >"$dir/status.cli"
  Q "SELECT concat_ws(' ', milestone, level, light, points, coalesce(last_value::text, '-'),
       coalesce(trend_per_week::text, '-'), coalesce(next_review::text, '-'), review_overdue)
     FROM cairn_milestone_status" | sed 's/ t$/ true/; s/ f$/ false/' | sort >"$dir/status.sql"
  if [ -s "$dir/status.cli" ] && cmp -s "$dir/status.cli" "$dir/status.sql"; then
    ok
  else
    bad "$1: the mirror's milestone status differs from cairn status"
    diff "$dir/status.cli" "$dir/status.sql" | head -6
  fi
}
same_rows() { # same_rows WHAT: the mirror holds each write of the store, once
  store_writes >"$dir/store.w"
  mirror_writes >"$dir/mirror.w"
  local dup
  dup=$(Q "SELECT count(*) FROM (SELECT author, seq FROM cairn_write GROUP BY 1, 2
           HAVING count(*) > 1) d")
  if [ -s "$dir/store.w" ] && cmp -s "$dir/store.w" "$dir/mirror.w" && [ "$dup" = 0 ]; then
    ok
  else
    bad "$1: store $(wc -l <"$dir/store.w") writes, mirror $(wc -l <"$dir/mirror.w") rows"
    diff "$dir/store.w" "$dir/mirror.w" | head -5
  fi
}

# --- a central with a mirror (and its web listener, for /metrics), a
# classroom syncing to it
wc=$(free_port)
# metric NAME: its value in the central's /metrics (empty when absent)
metric() {
  local i
  for i in $(seq 50); do # the page listens just after the socket
    curl -s -m 5 "http://127.0.0.1:$wc/metrics" >"$dir/metrics" 2>/dev/null && break
    sleep 0.1
  done
  awk -v n="$1" '$1 == n { print $2 }' "$dir/metrics"
}
C central init --role central --listen 127.0.0.1:$pc --name district >/dev/null
sed -i "s|^postgres =.*|postgres = postgresql:///cairn?host=$pg\&user=cairn|" "$dir/central/cairn.conf"
sed -i "s/^web =.*/web = 127.0.0.1:$wc/" "$dir/central/cairn.conf"
start central
C room init --campus north --classroom room-1 >/dev/null && start room
C room join "$(C central enroll --campus north --classroom room-1 2>/dev/null)" >/dev/null 2>&1 ||
  bad "room join"

# --- a classroom refuses a mirror; a password in cairn.conf is refused
C other init --campus north --classroom room-2 >/dev/null
sed -i "s|^postgres =.*|postgres = host=$pg user=cairn|" "$dir/other/cairn.conf"
"$cairnd" --data "$dir/other" 2>"$dir/err" && bad "a classroom started with a mirror" ||
  { grep -q "postgres: a PostgreSQL mirror runs on a central or hub" "$dir/err" && ok ||
    bad "classroom mirror refusal: $(cat "$dir/err")"; }
C other2 init --role central >/dev/null
sed -i "s|^postgres =.*|postgres = host=$pg user=cairn password=hunter2|" "$dir/other2/cairn.conf"
"$cairnd" --data "$dir/other2" 2>"$dir/err" && bad "a password in cairn.conf accepted" ||
  { grep -q "postgres: holds a password" "$dir/err" && ! grep -q hunter2 "$dir/err" && ok ||
    bad "password refusal: $(cat "$dir/err")"; }

# --- rows appear: evidence at the central, and synced from the classroom
C central student add --id ana-8 --name 'Lopez, Ana "Annie"' --grade 8 >/dev/null
m_c=$(milestone central ana-8)
C central evidence add "$m_c" 2 --observed "$(day -3)" --note $'tab\there, line\nbreak \\ back' >/dev/null
e_c=$(C central evidence add "$m_c" 3 --json | new_id)
C central evidence amend "$e_c" 4 --reason "misread the rubric" >/dev/null
C room student add --id ben-8 --name "Ben Okafor" --grade 8 >/dev/null
m_r=$(milestone room ben-8)
C room evidence add "$m_r" 1 >/dev/null
e_r=$(C room evidence add "$m_r" 2 --json | new_id)
C room evidence retract "$e_r" --reason "wrong student" >/dev/null
C room sync now >/dev/null 2>&1 || bad "room sync now"
caught_up && ok || bad "the mirror did not catch up"
[ "$(Q "SELECT count(*) FROM evidence WHERE milestone = '$m_c'")" = 2 ] && ok ||
  bad "central evidence rows: $(Q "SELECT id, value FROM evidence")"
[ "$(Q "SELECT value || ' ' || original || ' ' || amended FROM evidence WHERE id = '$e_c'")" = "4 3 true" ] &&
  ok || bad "the amended value: $(Q "SELECT * FROM evidence WHERE id = '$e_c'")"
[ "$(Q "SELECT kind || ':' || coalesce(why, '') FROM evidence_writes WHERE id = '$e_c' ORDER BY hlc" | tr '\n' ' ')" = \
  "recorded: amendment:misread the rubric " ] && ok ||
  bad "evidence_writes: $(Q "SELECT * FROM evidence_writes WHERE id = '$e_c'")"
[ "$(Q "SELECT student || ' ' || retracted FROM evidence WHERE id = '$e_r'")" = "ben-8 true" ] && ok ||
  bad "the synced, retracted evidence: $(Q "SELECT * FROM evidence WHERE id = '$e_r'")"
[ "$(Q "SELECT note FROM evidence WHERE milestone = '$m_c' AND note IS NOT NULL")" = \
  "$(printf 'tab\there, line\nbreak \\ back')" ] && ok || bad "a note with tab, newline, backslash"
[ "$(Q "SELECT name || '|' || array_to_string(classrooms, ',') FROM students WHERE id = 'ben-8'")" = \
  "Ben Okafor|room-1" ] && ok || bad "students: $(Q "SELECT * FROM students")"
[ "$(Q "SELECT count(*) FROM cairn_mirror_position")" -ge 2 ] && ok || bad "positions per author"
same_rows "after recording and syncing"
status_matches "after recording and syncing"

# --- kill -9 of cairnd mid-stream, then a restart: nothing lost or doubled
jobs_=
for i in 1 2 3; do many central "$m_c" 1500 & jobs_="$jobs_ $!"; done
sleep 0.7
kill -9 "${pid[central]}"
wait "${pid[central]}" $jobs_ 2>/dev/null
unset "pid[central]"
start central
many central "$m_c" 500 || bad "add-many after the restart"
caught_up && ok || bad "no catch-up after kill -9"
same_rows "after kill -9 mid-stream"

# --- PostgreSQL stopped mid-stream: cairnd serves and syncs; status says behind
many central "$m_c" 3000 &
w=$!
sleep 0.2
pg_down immediate
wait $w || bad "writes while PostgreSQL stops"
many central "$m_c" 200 || bad "writes while PostgreSQL is down"
C room evidence add "$m_r" 3 >/dev/null && C room sync now >/dev/null 2>&1 || bad "sync while PostgreSQL is down"
s=$(C central mirror status --json)
[ "$(jq -r '(.mirror.connected | not) and .mirror.behind >= 201 and (.mirror.last_error | length > 0)' <<<"$s")" = true ] &&
  ok || bad "mirror status while PostgreSQL is down: $s"
C central mirror status >"$dir/out"
grep -q "^mirror: not connected to PostgreSQL" "$dir/out" && grep -q "entries behind  *[1-9]" "$dir/out" &&
  ok || bad "mirror status text: $(cat "$dir/out")"
[ "$(metric cairn_mirror_connected)" = 0 ] && [ "$(metric cairn_mirror_lag_entries)" -ge 201 ] && ok ||
  bad "/metrics while PostgreSQL is down: $(grep mirror "$dir/metrics")"
pg_up || bad "PostgreSQL did not restart"
caught_up && ok || bad "no catch-up after PostgreSQL returned"
[ "$(metric cairn_mirror_connected)" = 1 ] && [ "$(metric cairn_mirror_lag_entries)" = 0 ] &&
  [ "$(metric cairn_mirror_applied_entries_total)" -ge 201 ] && ok ||
  bad "/metrics after the catch-up: $(grep mirror "$dir/metrics")"
same_rows "after PostgreSQL stopped mid-stream"
status_matches "after PostgreSQL stopped mid-stream"

# --- a duplicate delivery: a second cairnd on a copy of the store mirrors the
# same entries into the same database at the same time as the central
C central backup --to "$dir/central.bak" >/dev/null || bad "backup"
C central mirror status --json >/dev/null
"$cairn" restore --data "$dir/twin" "$dir/central.bak" >/dev/null 2>&1 || bad "restore"
sed -i "s|^listen =.*|listen = 127.0.0.1:$((pc + 1))|" "$dir/twin/cairn.conf"
sed -i "s|^web =.*|web = off|" "$dir/twin/cairn.conf" # the central serves its page on that port
C central mirror rebuild >/dev/null || bad "mirror rebuild"
start twin
caught_up central && caught_up twin && ok || bad "two mirrors at once did not catch up"
same_rows "two deliveries of the same entries"
[ "$(C twin mirror status --json | jq -r '.mirror.last_error')" = null ] && ok ||
  bad "the second delivery failed: $(C twin mirror status --json)"
stop twin

# --- rebuild gives the rows the streamed mirror has
many central "$m_c" 100
C room evidence add "$m_r" 4 >/dev/null && C room sync now >/dev/null 2>&1
caught_up || bad "catch up before the rebuild"
tables="cairn_write campuses classrooms students milestones evidence evidence_writes reviews
  support_changes celebrations templates standards cairn_mirror_position"
dump() { for t in $tables; do echo "== $t"; Q "SELECT * FROM $t" | sort; done; }
dump | sed 's/|[0-9-]* [0-9:.+]*$//' >"$dir/streamed.sql" # positions' applied_at aside
[ "$(Q "SELECT count(*) FROM cairn_write")" -gt 3000 ] && ok || bad "rows before the rebuild"
C central mirror rebuild >"$dir/out" || bad "mirror rebuild: $(cat "$dir/out")"
grep -q "^rebuilding" "$dir/out" && ok || bad "rebuild's answer: $(cat "$dir/out")"
caught_up && ok || bad "rebuild did not catch up"
dump | sed 's/|[0-9-]* [0-9:.+]*$//' >"$dir/rebuilt.sql"
cmp -s "$dir/streamed.sql" "$dir/rebuilt.sql" && ok ||
  { bad "rebuild differs from the streamed mirror"; diff "$dir/streamed.sql" "$dir/rebuilt.sql" | head; }
same_rows "after the rebuild"

# --- an erasure: the student's rows leave the mirror in the batch's
# transaction, with their status; the tables are rewritten, so no table
# file of the database holds their name any more
C central student erase ana-8 --reason "the family's request, policy 5.2" >/dev/null ||
  bad "student erase at the central"
caught_up || bad "no catch-up after the erasure"
status_matches "after the erasure"
[ "$(Q "SELECT count(*) FROM cairn_write WHERE student = 'ana-8' OR fields::text LIKE '%Lopez%'
        OR fields::text LIKE '%line%break%' OR why LIKE '%rubric%'")" = 0 ] && ok ||
  bad "the erased student's rows stay: $(Q "SELECT record_type, record_id FROM cairn_write
        WHERE student = 'ana-8' LIMIT 5")"
[ "$(Q "SELECT count(*) FROM cairn_milestone_status WHERE student = 'ana-8'")" = 0 ] &&
  [ "$(Q "SELECT count(*) FROM students WHERE id = 'ana-8'")" = 0 ] && ok ||
  bad "the erased student is still in the status or the students view"
[ "$(Q "SELECT count(*) FROM cairn_write WHERE record_type = 'erasure' AND record_id = 'ana-8'")" = 1 ] &&
  ok || bad "the erasure's own row (who, when, why) is not in the mirror"
[ "$(Q "SELECT count(*) FROM evidence WHERE student = 'ben-8'")" -ge 3 ] && ok ||
  bad "another student's rows went with the erasure"
for _ in $(seq 50); do # the rewrite follows the batch's commit
  Q "CHECKPOINT" # what PostgreSQL holds in memory, to its files
  grep -rlaF "Lopez" "$pg/data/base" >"$dir/found" 2>/dev/null || break
  sleep 0.2
done
[ ! -s "$dir/found" ] && ok || bad "table files still hold the erased name: $(head -3 "$dir/found")"
same_rows "after the erasure"

# --- without a mirror
C room mirror status >"$dir/out" && grep -q "^no PostgreSQL mirror" "$dir/out" && ok ||
  bad "mirror status without a mirror: $(cat "$dir/out")"
C room mirror rebuild >/dev/null 2>"$dir/err" && bad "rebuild without a mirror succeeded" ||
  { grep -q "no PostgreSQL mirror" "$dir/err" && ok || bad "rebuild refusal: $(cat "$dir/err")"; }

echo "mirror_test: $pass passed, $fail failed"
[ $fail -eq 0 ]
