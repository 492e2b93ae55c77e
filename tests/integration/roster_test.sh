#!/usr/bin/env bash
# Rosters in, with real cairnd processes on loopback: the central imports
# the fixture OneRoster 1.2 export (tests/fixtures/oneroster/bulk: 2
# schools, 4 classes, 30 students) and classroom m1 (sch-n/cls-n-math)
# receives its class list by sync. The same export again writes nothing;
# --dry-run writes nothing; a missing required column and a repeated
# sourcedId are refused naming file and line, writing nothing; a month
# later the same export withdraws the student whose enrollments ended, and
# the classroom learns it. A classroom may not import. Names and ids never
# reach cairnd's log.
# usage: roster_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
command -v jq >/dev/null || { echo "roster_test.sh needs jq"; exit 1; }
fixtures=$(cd "$(dirname "$0")/../fixtures/oneroster" && pwd)
dir=$(mktemp -d /tmp/cairn-roster-XXXXXX)
pc=$((20000 + RANDOM % 12000))
. "$(dirname "$0")/nodes.sh"

C central init --role central --listen 127.0.0.1:$pc >/dev/null
start central
C m1 init --campus sch-n --classroom cls-n-math >/dev/null && start m1
C m1 join "$(C central enroll --campus sch-n --classroom cls-n-math 2>/dev/null)" >/dev/null 2>&1 ||
  bad "m1 join"

# --- a dry run writes nothing, and says what would be added
C central export >"$dir/before"
C central roster import "$fixtures/bulk" --as-of 2026-01-15 --dry-run >"$dir/out" 2>"$dir/err" &&
  grep -q "^added 36$" "$dir/out" && grep -q "^  student st-12$" "$dir/out" &&
  grep -q "^dry run: nothing written" "$dir/out" && ok || bad "dry run: $(cat "$dir/out" "$dir/err")"
C central export >"$dir/after"
cmp -s "$dir/before" "$dir/after" && ok || bad "the dry run wrote something"

# --- the import: 2 campuses, 4 classrooms, 30 students, in one batch
C central roster import "$fixtures/bulk" --as-of 2026-01-15 >"$dir/out" 2>"$dir/err" &&
  grep -q "^added 36$" "$dir/out" && grep -q "^  campus sch-n$" "$dir/out" &&
  grep -q "^  classroom cls-s-read$" "$dir/out" && grep -q "^written in one batch (36 records)" "$dir/out" &&
  ok || bad "import: $(cat "$dir/out" "$dir/err")"
C central student list --json | jq -e '.students | length == 30' >/dev/null && ok ||
  bad "the central has the 30 students"
C central student list --json >"$dir/students.json"
[ "$(jq -r '.students[] | select(.id == "st-12") | [.name, .grade, .campus, (.classrooms | join(";"))] | join("|")' \
  "$dir/students.json")" = "Lulu Berg|06|sch-n|cls-n-math;cls-n-ela" ] && ok ||
  bad "st-12's record: $(jq -c '.students[] | select(.id == "st-12")' "$dir/students.json")"

# --- the classroom receives its class list, its classroom and campus, nothing else
converge m1 sch-n/cls-n-math && ok || bad "m1 receives its roster"
C m1 student list --json >"$dir/m1.json"
[ "$(jq -r '[.students[].id] | join(" ")' "$dir/m1.json")" = \
  "st-01 st-02 st-03 st-04 st-05 st-06 st-07 st-08 st-09 st-10 st-11 st-12 st-13 st-14 st-15" ] && ok ||
  bad "m1's class list: $(jq -c '[.students[].id]' "$dir/m1.json")"
C m1 export >"$dir/m1.export"
grep -q '"id":"cls-n-math","type":"classroom"' "$dir/m1.export" &&
  grep -q '"id":"sch-n","type":"campus"' "$dir/m1.export" && ok ||
  bad "m1 holds its classroom and campus records: $(grep -c classroom "$dir/m1.export")"
grep -q '"id":"cls-n-ela"' "$dir/m1.export" || grep -q '"id":"st-16"' "$dir/m1.export" &&
  bad "m1 holds another classroom's records" || ok

# --- the same export again: nothing written
C central export >"$dir/before"
C central roster import "$fixtures/bulk" --as-of 2026-01-15 >"$dir/out" 2>"$dir/err" &&
  grep -q "^nothing to change" "$dir/out" && ok || bad "re-import: $(cat "$dir/out" "$dir/err")"
C central export >"$dir/after"
cmp -s "$dir/before" "$dir/after" && ok || bad "the re-import wrote entries"

# --- bad exports (a missing column, a repeated sourcedId, a sourcedId that
# is no id, a name that is not UTF-8): refused with file and line, nothing written
cp -r "$fixtures/bulk" "$dir/nogiven"
sed -i '1s/givenName/given/' "$dir/nogiven/users.csv"
C central roster import "$dir/nogiven" >"$dir/out" 2>"$dir/err"; rc=$?
[ $rc -eq 1 ] && grep -q "^cairn: roster: users.csv:1: the header has no column 'givenName'" "$dir/err" &&
  grep -q "nothing written$" "$dir/err" && ok || bad "a missing column: rc=$rc $(cat "$dir/err")"
cp -r "$fixtures/bulk" "$dir/twice"
sed -n 3p "$fixtures/bulk/users.csv" >>"$dir/twice/users.csv"
C central roster import "$dir/twice" >"$dir/out" 2>"$dir/err"; rc=$?
[ $rc -eq 1 ] && grep -q "^cairn: roster: users.csv:38: sourcedId 'st-02' repeats line 3" "$dir/err" && ok ||
  bad "a repeated sourcedId: rc=$rc $(cat "$dir/err")"
cp -r "$fixtures/bulk" "$dir/badid"
sed -i 's/^st-07,/st 07,/; s/,st-07,student,/,st 07,student,/' "$dir/badid/users.csv" "$dir/badid/enrollments.csv" \
  "$dir/badid/roles.csv"
sed -i 's/,st-07,primary,/,st 07,primary,/' "$dir/badid/roles.csv"
C central roster import "$dir/badid" >"$dir/out" 2>"$dir/err"; rc=$?
[ $rc -eq 1 ] && grep -q "^cairn: roster: users.csv:8: sourcedId 'st 07' cannot be a cairn id" "$dir/err" && ok ||
  bad "a sourcedId that is no id: rc=$rc $(cat "$dir/err")"
cp -r "$fixtures/bulk" "$dir/latin1"
sed -i 's/^st-04,\(.*\),Dmitri,/st-04,\1,Dmitr\xef,/' "$dir/latin1/users.csv"
C central roster import "$dir/latin1" >"$dir/out" 2>"$dir/err"; rc=$?
[ $rc -eq 1 ] && grep -q "^cairn: roster: users.csv:5: givenName: not UTF-8" "$dir/err" && ok ||
  bad "a name that is not UTF-8: rc=$rc $(cat "$dir/err")"
C central export >"$dir/after"
cmp -s "$dir/before" "$dir/after" && ok || bad "a refused import wrote entries"

# --- a classroom may not import
C m1 roster import "$fixtures/bulk" >"$dir/out" 2>"$dir/err"; rc=$?
[ $rc -eq 1 ] && grep -q "campuses are written by the central" "$dir/err" && ok ||
  bad "a classroom's import: rc=$rc $(cat "$dir/err")"

# --- a month later: st-05's enrollments ended on 2026-02-02 (withdrawn);
# st-06 moved to the south campus on 2026-01-20
C central roster import "$fixtures/bulk" --as-of 2026-02-15 --dry-run --json >"$dir/plan.json" &&
  [ "$(jq -r '[(.withdrawn[] | .id), (.moved[] | .id), (.added | length), .dry_run] | join(" ")' "$dir/plan.json")" = \
    "st-05 st-06 0 true" ] && ok || bad "the dry run of a month later: $(cat "$dir/plan.json")"
C central roster import "$fixtures/bulk" --as-of 2026-02-15 >"$dir/out" 2>"$dir/err" &&
  grep -q "^withdrawn 1$" "$dir/out" && grep -q "^  student st-05$" "$dir/out" && ok ||
  bad "a month later: $(cat "$dir/out" "$dir/err")"
for _ in $(seq 60); do
  C m1 student list --withdrawn --json >"$dir/m1.json" 2>/dev/null
  [ "$(jq -r '.students[] | select(.id == "st-05") | .withdrawn_on' "$dir/m1.json")" = 2026-02-02 ] && break
  C m1 sync now --no-wait >/dev/null 2>&1
  sleep 0.5
done
[ "$(jq -r '.students[] | select(.id == "st-05") | [.withdrawn, .withdrawn_on] | join(" ")' "$dir/m1.json")" = \
  "true 2026-02-02" ] && ok || bad "m1 learns st-05 was withdrawn: $(jq -c '.students[] | select(.id == "st-05")' "$dir/m1.json")"
C m1 student list --json | jq -e '[.students[].id] | index("st-05") == null' >/dev/null && ok ||
  bad "st-05 is left out of m1's list"

# --- nothing of the roster in cairnd's log
grep -E "st-[0-9]|Lopez|Lulu|Berg" "$dir/central.log" "$dir/m1.log" &&
  bad "names or ids in a log" || ok

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
