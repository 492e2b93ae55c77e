#!/usr/bin/env bash
# The central office, with real cairnd processes on loopback: the central
# publishes a standard and two milestone templates; a hub for campus north
# relays to classroom a1 (north/room-1); classroom b1 (south/room-9) syncs
# straight to the central. The classrooms receive the catalog, make
# milestones from it and record evidence; after syncing, the central runs
# the four reports as text, JSON and CSV (the hub its campus's), and
# exports CSV tables with the export's scope rules. Last, with the
# central's clock set three days back, evidence observed today is dated
# after its tomorrow: counted and listed, never a point.
# Checks CSV with Python's csv module (an independent RFC 4180 reader) and
# JSON with jq.
# usage: central_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
command -v jq >/dev/null || { echo "central_test.sh needs jq"; exit 1; }
command -v python3 >/dev/null || { echo "central_test.sh needs python3"; exit 1; }
dir=$(mktemp -d /tmp/cairn-central-XXXXXX)
base=$((20000 + RANDOM % 12000))
pc=$base
ph=$((base + 1))
. "$(dirname "$0")/nodes.sh"

day() { date -d "$1 days" +%F; } # day N: today + N (local time)
S=$(day -35)
E=$(day 35)
jqf() { jq -r "$@"; }
# csv FILE PYTHON: runs PYTHON with rows = the parsed CSV rows of FILE (a
# list of dicts by the header) and header; exit status from it
csv() {
  python3 - "$1" "$2" <<'EOF'
import csv, io, sys
with open(sys.argv[1], newline='', encoding='utf-8') as f:
    data = f.read()
assert data.endswith('\r\n'), 'rows end with CRLF'
r = list(csv.reader(io.StringIO(data, newline=''), strict=True))
header, body = r[0], r[1:]
rows = [dict(zip(header, x)) for x in body]
assert all(len(x) == len(header) for x in body), 'every row has every column'
ok = eval(sys.argv[2], {'rows': rows, 'header': header})
sys.exit(0 if ok else 1)
EOF
}

# --- the central, a hub for north, two classrooms
C central init --role central --listen 127.0.0.1:$pc --name "district" >/dev/null
start central
C hub init --role hub --campus north --listen 127.0.0.1:$ph >/dev/null
start hub
C hub join "$(C central enroll --campus north --role hub 2>/dev/null)" >/dev/null 2>&1 || bad "hub join"
C a1 init --campus north --classroom room-1 >/dev/null && start a1
C b1 init --campus south --classroom room-9 >/dev/null && start b1
C a1 join "$(C central enroll --campus north --classroom room-1 2>/dev/null)" --upstream 127.0.0.1:$ph \
  >/dev/null 2>&1 || bad "a1 join"
C b1 join "$(C central enroll --campus south --classroom room-9 2>/dev/null)" >/dev/null 2>&1 || bad "b1 join"

# --- the catalog: only the central publishes it; every classroom receives it
C central standard add --code W.8.1 --text "Write arguments to support claims" \
  --guid 0b4d5b8c-d7cc-11d4-8b1e-0e5b4a4e0c01 >/dev/null && ok || bad "standard add"
C central template add --id ela-claim --title "Claim and evidence" --type academic \
  --statement "I will use {number} pieces of evidence in a claim." --scale 0-4 --target 3 \
  --rule "3 of 4" --cadence weekly --standard W.8.1 >/dev/null && ok || bad "template add ela-claim"
C central template add --id on-task --title "Starting seatwork" --type behavior \
  --statement "{name} will start seatwork within {minutes} minutes." --scale count --target 2 \
  --direction down --cadence weekly >/dev/null && ok || bad "template add on-task"
C central template add --id bad --title t --type academic --statement "I will {read" --scale 0-4 \
  >/dev/null 2>"$dir/err" && bad "a pattern with an open brace accepted" ||
  { grep -q "^cairn: statement: a '{' with no '}'" "$dir/err" && ok || bad "pattern refusal: $(cat "$dir/err")"; }
C a1 template add --id mine --title t --type academic --statement "I will." --scale 0-4 \
  >/dev/null 2>"$dir/err"; rc=$?
[ $rc -eq 1 ] && grep -q "templates are published by the central" "$dir/err" && ok ||
  bad "a classroom's template add: rc=$rc $(cat "$dir/err")"
converge a1 north/room-1 && ok || bad "a1 receives the catalog"
converge b1 south/room-9 && ok || bad "b1 receives the catalog"
C a1 template list >"$dir/out"
grep -q "^ela-claim  *Claim and evidence  *academic" "$dir/out" && grep -q "^on-task " "$dir/out" && ok ||
  bad "a1 lists the templates: $(cat "$dir/out")"
C b1 standard list >"$dir/out"
grep -q "^W.8.1  *Write arguments to support claims  *0b4d5b8c-d7cc" "$dir/out" && ok ||
  bad "b1 lists the standards: $(cat "$dir/out")"
C b1 template show on-task --json | jqf '.record.fields.statement' >"$dir/out"
grep -qx "{name} will start seatwork within {minutes} minutes." "$dir/out" && ok ||
  bad "template show: $(cat "$dir/out")"

# --- classrooms write milestones from the templates, and their own
C a1 student add --id ana-8 --name 'Lopez, Ana "Annie"' --grade 8 >/dev/null
C a1 student add --id ben-8 --name "Ben Okafor" --grade 8 >/dev/null
C b1 student add --id cy-7 --name "Cy Park" --grade 7 >/dev/null
C b1 student add --id dee-6 --name "=SUM(A1) Dee" --grade 6 >/dev/null
tpl() { # tpl NODE STUDENT TEMPLATE BASELINE [ARGS...] -> id
  local n=$1 s=$2 t=$3 b=$4; shift 4
  C "$n" milestone add --template "$t" --student "$s" --baseline "$b" --start "$S" --end "$E" "$@" \
    --json | new_id
}
"$cairn" --data "$dir/a1" milestone add --template ela-claim --student ana-8 --baseline 1 \
  --start "$S" --end "$E" >/dev/null 2>"$dir/err"; rc=$?
[ $rc -eq 2 ] && grep -q "1 blank to complete ({number}); give one --fill for each" "$dir/err" && ok ||
  bad "a template's blank left open: rc=$rc $(cat "$dir/err")"
C a1 milestone add --template nope --student ana-8 --baseline 1 --start "$S" --end "$E" \
  >/dev/null 2>"$dir/err" && bad "an unknown template accepted" ||
  { grep -q "no template with id nope" "$dir/err" && ok || bad "unknown template: $(cat "$dir/err")"; }
ana_ela=$(tpl a1 ana-8 ela-claim 1 --fill 2)
ben_ela=$(tpl a1 ben-8 ela-claim 1 --fill 2 --if-then "If red, then meet with the family")
ana_task=$(tpl a1 ana-8 on-task 7 --fill 5)
cy_ela=$(tpl b1 cy-7 ela-claim 1 --fill 3)
dee_own=$(C b1 milestone add --student dee-6 --type academic --statement "I will write a paragraph." \
  --scale 0-4 --baseline 1 --target 3 --start "$S" --end "$E" --standard W.8.1 --json | new_id)
for m in "$ana_ela" "$ben_ela" "$ana_task" "$cy_ela" "$dee_own"; do
  [ -n "$m" ] && ok || bad "a milestone was not added"
done
C a1 show "$ana_task" --json >"$dir/out"
jqf '.record.fields.statement' "$dir/out" | grep -qx 'Lopez, Ana "Annie" will start seatwork within 5 minutes.' &&
  [ "$(jqf '.record.fields.template' "$dir/out")" = on-task ] &&
  [ "$(jqf '.record.fields.direction' "$dir/out")" = down ] && ok ||
  bad "the milestone takes the template's fields and keeps its id: $(cat "$dir/out")"
C a1 show "$ana_ela" --json >"$dir/out"
[ "$(jqf '.record.fields.standard' "$dir/out")" = W.8.1 ] && [ "$(jqf '.record.fields.rule' "$dir/out")" = "3 of 4" ] && ok ||
  bad "the template's standard and rule: $(cat "$dir/out")"

ev() { # ev NODE MILESTONE VALUE DAYS [ARGS...]
  local n=$1 m=$2 v=$3 d=$4; shift 4
  C "$n" evidence add "$m" "$v" --observed "$(day "$d")" "$@" >/dev/null || bad "evidence $m $v"
}
for d in -28 -21 -14 -7; do
  ev a1 "$ana_ela" 3 $d
  ev a1 "$ben_ela" 1 $d
done
ev a1 "$ana_task" 6 -21 --note "$(printf 'started late, then "on it",\nafter a prompt')"
ev a1 "$ana_task" 5 -14
ev a1 "$ana_task" 4 -7
ev b1 "$cy_ela" 2 -14
ev b1 "$cy_ela" 2.5 -7
ev b1 "$dee_own" 2 0
C a1 review add "$ana_ela" --kind weekly --decision continue >/dev/null || bad "review"
C a1 support add "$ben_ela" --support "Small group, twice weekly" --date "$(day -17)" >/dev/null || bad "support"
converge a1 north/room-1 && ok || bad "a1 converges"
converge b1 south/room-9 && ok || bad "b1 converges"

# --- report program
C central report program --json >"$dir/program.json" || bad "report program --json"
ela=$(jq -c '.rows[] | select(.template == "ela-claim" and .place == "all")' "$dir/program.json")
[ "$(jq -r '[.students, .milestones, .meeting, .developing, .beginning, .not_started, .red, .green, .missed] | @csv' <<<"$ela")" = "3,3,1,1,1,0,1,2,2" ] &&
  [ "$(jq -r '.title + "|" + .standard + "|" + .standard_text + "|" + (.missed_rank|tostring)' <<<"$ela")" = "Claim and evidence|W.8.1|Write arguments to support claims|1" ] &&
  [ "$(jq -r '[.share_meeting, .share_developing, .share_red, .share_missed] | @csv' <<<"$ela")" = "0.3333,0.3333,0.3333,0.6667" ] && ok ||
  bad "program: the ela-claim row: $ela"
[ "$(jq -r '[.rows[] | select(.template == "ela-claim") | .place + ":" + (.campus // "") + "/" + (.classroom // "") + ":" + (.students|tostring)] | join(" ")' "$dir/program.json")" = \
  "all:/:3 campus:north/:2 classroom:north/room-1:2 campus:south/:1 classroom:south/room-9:1" ] && ok ||
  bad "program: ela-claim by campus and classroom: $(jq -c '.rows' "$dir/program.json")"
[ "$(jq -r '[.summary.missed[] | (.template // .standard) + "=" + (.missed_rank|tostring)] | join(" ")' "$dir/program.json")" = \
  "ela-claim=1 on-task=2 W.8.1=3" ] && ok || bad "program: most missed: $(jq -c '.summary' "$dir/program.json")"
[ "$(jq -r '[.total.students, .total.milestones, .total.future] | @csv' "$dir/program.json")" = "4,5,0" ] && ok ||
  bad "program: totals: $(jq -c '.total' "$dir/program.json")"
C central report program >"$dir/out"
grep -q '^template ela-claim "Claim and evidence": academic; standard W.8.1$' "$dir/out" &&
  grep -Eq '^  all +3 +3 +33% +33% +33% +0% +33% +2$' "$dir/out" &&
  grep -q '^   1. ela-claim "Claim and evidence" (academic): 2 of 3 milestones missed (67%), 3 students$' "$dir/out" && ok ||
  bad "program text: $(cat "$dir/out")"
C central report program --csv >"$dir/program.csv"
csv "$dir/program.csv" "header[:6] == ['template','title','standard','standard_text','type','place'] and [(r['students'], r['share_meeting']) for r in rows if r['template'] == 'ela-claim' and r['place'] == 'all'] == [('3', '0.3333')]" &&
  ok || bad "program csv: $(cat "$dir/program.csv")"
C central report program --campus south --json | jq -r '.total.students' | grep -qx 2 && ok || bad "--campus south"
C central report program --template on-task --json | jq -r '[.rows[].template] | unique | join(",")' | grep -qx on-task &&
  ok || bad "--template on-task"
C central report program --standard W.8.1 --json | jq -r '.total.milestones' | grep -qx 4 && ok || bad "--standard W.8.1"
C central report program --type behavior --grade 8 --classroom room-1 --json | jq -r '.total.milestones' | grep -qx 1 &&
  ok || bad "--type --grade --classroom"
C central report program --type reading >/dev/null 2>"$dir/err"; rc=$?
[ $rc -eq 1 ] && grep -q "^cairn: type: must be one of academic" "$dir/err" && ok || bad "--type reading: rc=$rc $(cat "$dir/err")"
C central report red --as-of "$(day 5)" >/dev/null 2>"$dir/err"; rc=$?
[ $rc -eq 1 ] && grep -q "^cairn: as-of: .* is after tomorrow" "$dir/err" && ok || bad "--as-of in 5 days: rc=$rc $(cat "$dir/err")"

# --- report red
C central report red --json >"$dir/red.json" || bad "report red --json"
[ "$(jq -r '[.rows[] | .student + ":" + (.red|tostring) + ":" + (.days_since_evidence|tostring) + ":" + (.days_overdue|tostring) + ":" + ([.triggered[].action] | join(";"))] | join(" ")' "$dir/red.json")" = \
  "ben-8:true:7:28:meet with the family" ] && ok || bad "red rows: $(jq -c '.rows' "$dir/red.json")"
C central report red >"$dir/out"
grep -q "^campus north: 1 student; 1 red, 1 with an if/then support that fires" "$dir/out" &&
  grep -q "^    planned: meet with the family$" "$dir/out" &&
  grep -q "^    last evidence $(day -7) (7 days ago); review due $(day -28): 28 days overdue$" "$dir/out" && ok ||
  bad "red text: $(cat "$dir/out")"
C central report red --as-of "$(day -20)" --json | jq -r '.rows | length' | grep -qx 0 && ok ||
  bad "red as of 20 days ago: ben was yellow then"
C central report red --csv >"$dir/red.csv"
csv "$dir/red.csv" "[r['name'] for r in rows] == ['Ben Okafor'] and rows[0]['triggered'] == 'meet with the family'" && ok ||
  bad "red csv: $(cat "$dir/red.csv")"

# --- report reviews
C central report reviews --json >"$dir/reviews.json" || bad "report reviews --json"
[ "$(jq -r '[.rows[] | .classroom + ":" + .student + ":" + (.days_overdue|tostring)] | join(" ")' "$dir/reviews.json")" = \
  "room-1:ana-8:28 room-1:ben-8:28 room-9:cy-7:28 room-9:dee-6:5" ] && ok ||
  bad "reviews rows: $(jq -c '.rows' "$dir/reviews.json")"
[ "$(jq -r '[.summary.classrooms[] | .classroom + "=" + (.overdue|tostring) + "/" + (.milestones|tostring)] | join(" ")' "$dir/reviews.json")" = \
  "room-1=2/3 room-9=2/2" ] && ok || bad "reviews by classroom: $(jq -c '.summary' "$dir/reviews.json")"
C central report reviews >"$dir/out"
grep -q "^north/room-1: 2 of 3 milestones overdue$" "$dir/out" && ok || bad "reviews text: $(cat "$dir/out")"
C central report reviews --csv | head -1 | grep -q "^campus,classroom,student,name,milestone,statement,cadence" && ok ||
  bad "reviews csv header"

# --- report supports
C central report supports --json >"$dir/supports.json" || bad "report supports --json"
[ "$(jq -r '[.rows[] | .support + ":" + .student + ":" + .since] | join(" ")' "$dir/supports.json")" = \
  "Small group, twice weekly:ben-8:$(day -17)" ] && ok || bad "supports rows: $(jq -c '.rows' "$dir/supports.json")"
C central report supports >"$dir/out"
grep -q '^"Small group, twice weekly": 1 student, 1 phase: ' "$dir/out" && grep -q "Ben Okafor (ben-8)" "$dir/out" && ok ||
  bad "supports text: $(cat "$dir/out")"
C central report supports --csv >"$dir/supports.csv"
csv "$dir/supports.csv" "[r['support'] for r in rows] == ['Small group, twice weekly'] and rows[0]['points_before'] == '2'" &&
  ok || bad "supports csv: $(cat "$dir/supports.csv")"

# --- a hub reports its campus
C hub report program --json | jq -r '.total.students' | grep -qx 2 && ok || bad "the hub's report holds north only"

# --- CSV export: RFC 4180, formulas disarmed, the export's scope rules
C central export --csv students >"$dir/students.csv" || bad "export --csv students"
csv "$dir/students.csv" "sorted(r['name'] for r in rows) == [\"'=SUM(A1) Dee\", 'Ben Okafor', 'Cy Park', 'Lopez, Ana \"Annie\"']" &&
  ok || bad "students.csv: names with a comma and quotes round-trip; a formula is disarmed: $(cat "$dir/students.csv")"
C central export --csv students --scope north >"$dir/north.csv"
csv "$dir/north.csv" "sorted(r['id'] for r in rows) == ['ana-8', 'ben-8']" && ok || bad "--scope north: $(cat "$dir/north.csv")"
C b1 export --csv students >"$dir/b1.csv"
csv "$dir/b1.csv" "sorted(r['id'] for r in rows) == ['cy-7', 'dee-6']" && ok || bad "b1 exports its own: $(cat "$dir/b1.csv")"
C central export --csv evidence >"$dir/evidence.csv"
csv "$dir/evidence.csv" "[r['note'] for r in rows if r['note']] == ['started late, then \"on it\",\nafter a prompt'] and all(r['student'] for r in rows) and len(rows) == 14" &&
  ok || bad "evidence.csv: a note with a newline, a comma and quotes round-trips: $(cat "$dir/evidence.csv")"
mkdir "$dir/tables"
C central export --csv all --to "$dir/tables" 2>"$dir/err" && ok || bad "export --csv all --to: $(cat "$dir/err")"
[ "$(ls "$dir/tables" | tr '\n' ' ')" = "evidence.csv milestones.csv reviews.csv status.csv students.csv " ] &&
  [ "$(stat -c %a "$dir/tables"/*.csv | sort -u)" = 600 ] && ok || bad "the five tables, mode 0600: $(ls -la "$dir/tables")"
csv "$dir/tables/status.csv" "sorted((r['student'], r['level'], r['light']) for r in rows if r['template'] == 'ela-claim') == [('ana-8', 'meeting', 'green'), ('ben-8', 'beginning', 'red'), ('cy-7', 'developing', 'green')]" &&
  ok || bad "status.csv: $(cat "$dir/tables/status.csv")"
csv "$dir/tables/milestones.csv" "sorted(r['template'] for r in rows) == ['', 'ela-claim', 'ela-claim', 'ela-claim', 'on-task']" && ok ||
  bad "milestones.csv: $(cat "$dir/tables/milestones.csv")"
cmp -s "$dir/tables/students.csv" "$dir/students.csv" && ok || bad "the file and stdout hold the same table"
C central export --csv students --csv evidence >/dev/null 2>"$dir/err"; rc=$?
[ $rc -eq 2 ] && grep -q "give --to DIR" "$dir/err" && ok || bad "two tables to stdout: rc=$rc $(cat "$dir/err")"
C central export --csv students --to "$dir/none" >/dev/null 2>"$dir/err"; rc=$?
[ $rc -eq 1 ] && grep -q "$dir/none/.students.csv" "$dir/err" && ok || bad "a missing --to dir: rc=$rc $(cat "$dir/err")"
C central export --csv pupils >/dev/null 2>"$dir/err"; rc=$?
[ $rc -eq 2 ] && grep -q "'pupils' is not a table" "$dir/err" && ok || bad "an unknown table: rc=$rc $(cat "$dir/err")"

for n in central hub a1 b1; do
  C "$n" check >"$dir/out" 2>&1 && ok || bad "cairn check on $n: $(head -3 "$dir/out")"
done

# --- the central's clock three days back: today's evidence is after its tomorrow
stop central
sed -i 's/^clock_offset_ms = .*/clock_offset_ms = -259200000/' "$dir/central/cairn.conf"
start central
C central report red --json >"$dir/red.json"
[ "$(jq -r '[.rows[] | .student + ":" + (.future_points|tostring)] | join(" ")' "$dir/red.json")" = "ben-8:0 dee-6:1" ] &&
  [ "$(jq -r '.future[0].student + ":" + .future[0].evidence[0].observed' "$dir/red.json")" = "dee-6:$(day 0)" ] && ok ||
  bad "red lists the milestone with evidence after tomorrow: $(jq -c '{rows, future}' "$dir/red.json")"
C central report program --json >"$dir/program.json"
[ "$(jq -r '.total.future' "$dir/program.json")" = 1 ] &&
  [ "$(jq -r '.rows[] | select(.standard == "W.8.1" and .template == null and .place == "all") | [.future, .not_started] | @csv' "$dir/program.json")" = "1,1" ] && ok ||
  bad "program counts it, and leaves it out: $(jq -c '.rows' "$dir/program.json")"
C central report program >"$dir/out"
grep -q "^! 1 evidence entry is dated after tomorrow" "$dir/out" && grep -q "dee-6" "$dir/out" && ok ||
  bad "program text lists it: $(cat "$dir/out")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
