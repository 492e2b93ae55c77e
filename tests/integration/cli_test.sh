#!/usr/bin/env bash
# Integration test of the cairn CLI against a real cairnd on a temp dir:
# the documented command forms, --json, canonical export, and bad input
# refused with one line naming the field, exit != 0, and nothing written.
# usage: cli_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
dir=$(mktemp -d /tmp/cairn-cli-XXXXXX)
export CAIRN_DATA=$dir/data # node "data" of nodes.sh: its log is $dir/data.log
. "$(dirname "$0")/nodes.sh"

check() { # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1; shift
  if "$@" >"$dir/out" 2>"$dir/err"; then ok; else bad "$what: $(cat "$dir/err")"; fi
}
refused() { # refused DESCRIPTION FIELD COMMAND...: fails, one stderr line naming FIELD, nothing written
  local what=$1 field=$2; shift 2
  "$cairn" export --json >"$dir/before" 2>/dev/null
  if "$@" >"$dir/out" 2>"$dir/err"; then bad "$what: accepted"; return; fi
  [ "$(wc -l <"$dir/err")" -eq 1 ] || { bad "$what: error is not one line: $(cat "$dir/err")"; return; }
  grep -q -- "$field" "$dir/err" || { bad "$what: error does not name '$field': $(cat "$dir/err")"; return; }
  "$cairn" export --json >"$dir/after" 2>/dev/null
  cmp -s "$dir/before" "$dir/after" || { bad "$what: something was written"; return; }
  ok
}
id_of() { sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' "$dir/out"; }

# --- set-up through the documented forms
check "init" "$cairn" init --data "$CAIRN_DATA" --campus north --classroom r12 --name "test laptop"
grep -Eq '^[0-9a-f]{64}$' "$dir/out" && ok || bad "init prints a 64-hex device id: $(cat "$dir/out")"
[ "$(stat -c %a "$CAIRN_DATA/device.key")" = 600 ] && ok || bad "device.key is not 0600"
"$cairn" init --data "$CAIRN_DATA" >/dev/null 2>&1 && bad "second init accepted" || ok
for bad_init in "--campus=$(printf 'n\033[2J')" "--classroom=$(printf 'r\302\233')" \
  "--name=$(printf 'lap\007top')"; do
  rm -rf "$dir/bad-init"
  "$cairn" init --data "$dir/bad-init" "$bad_init" >"$dir/out" 2>"$dir/err"; rc=$?
  [ $rc -eq 2 ] && grep -q "contains a control character" "$dir/err" && [ ! -e "$dir/bad-init/device.key" ] \
    && ok || bad "init $bad_init: rc=$rc, $(cat "$dir/err"), key: $(ls "$dir/bad-init" 2>&1)"
done

"$cairn" status >/dev/null 2>"$dir/err"; rc=$?
[ $rc -eq 3 ] && grep -q "not running" "$dir/err" && ok || bad "status without daemon: rc=$rc $(cat "$dir/err")"

start data
[ "$(stat -c %a "$CAIRN_DATA/cairnd.sock")" = 660 ] && ok || bad "socket mode is not 0660"

check "student add" "$cairn" student add --id ana-8 --name "Ana Lopez" --grade 8 --campus north \
  --classroom r12 --accommodation "extended time" --accommodation "sentence stems"
check "student add --json" "$cairn" student add --id ben-6 --name "Ben Okafor" --grade 6 --json
[ "$(id_of)" = ben-6 ] && ok || bad "student add --json prints {\"id\": \"ben-6\"}: $(cat "$dir/out")"
check "milestone add" "$cairn" --data "$CAIRN_DATA" milestone add --student ana-8 --type academic \
  --statement "I will include a clear claim and 2 pieces of evidence." --scale 0-4 --baseline 1.5 \
  --target 3 --rule "4 of 5" --start 2026-10-05 --end 2026-11-16 --method "rubric check" \
  --source "teacher rubric" --support "small-group workshop" \
  --if-then "If a student scores below the target on the next check-in, then add a 20-minute small-group session twice weekly." \
  --cadence weekly --json
ela=$(id_of)
[ -n "$ela" ] && ok || bad "milestone add --json gives an id"
check "milestone add (down)" "$cairn" milestone add --student ben-6 --type behavior \
  --statement "I will start seatwork within 5 minutes." --scale count --baseline 7 --target 2 \
  --direction down --start 2026-10-05 --end 2026-11-02 --json
tally=$(id_of)

first=
for day in 2026-10-12 2026-10-19 2026-10-26 2026-11-02; do
  check "evidence add" "$cairn" evidence add "$ela" 1.5 --observed $day --by "Ms R" --json
  [ -n "$first" ] || first=$(id_of)
done
check "status --json" "$cairn" status --student ana-8 --as-of 2026-11-10 --json
grep -q '"light": "red"' "$dir/out" && ok || bad "flat 1.5s under a rising aimline are red: $(cat "$dir/out")"
grep -q '"level": "beginning"' "$dir/out" && ok || bad "level beginning"
grep -q 'small-group session' "$dir/out" && ok || bad "the if/then support is triggered"
check "status text" "$cairn" status --as-of 2026-11-10
grep -q "Ana Lopez" "$dir/out" && grep -qi "red" "$dir/out" && ok || bad "status text shows the student and light"

# --- a readable status: why each light is what it is, with numbers
check "status text (one student)" "$cairn" status --student ana-8 --as-of 2026-11-10
grep -q "accommodations: extended time; sentence stems" "$dir/out" && ok || bad "status shows the accommodations: $(cat "$dir/out")"
grep -q "target 3 or more in 4 of the last 5 points" "$dir/out" && ok || bad "status shows the target and rule: $(cat "$dir/out")"
grep -q "baseline 1.5" "$dir/out" && ok || bad "status shows the baseline"
grep -q "met the target in 0 of the last 4 points" "$dir/out" && ok || bad "status shows how many points meet the rule: $(cat "$dir/out")"
grep -q "red: the last 4 points are below the aimline" "$dir/out" && ok || bad "status says why the light is red: $(cat "$dir/out")"
grep -q "the aimline needs +0.25/week" "$dir/out" && ok || bad "status compares the trend with the aimline: $(cat "$dir/out")"
grep -q "support in place: small-group workshop" "$dir/out" && ok || bad "status shows the support in place"
check "status --json carries the reasons" "$cairn" status --student ana-8 --as-of 2026-11-10 --json
grep -q '"why": "the last 4 points are below the aimline' "$dir/out" && ok || bad "--json why has the numbers: $(cat "$dir/out")"
grep -q '"met": 0' "$dir/out" && grep -q '"window": 4' "$dir/out" && ok || bad "--json has met and window"
# "as of" a day: a later point is not known yet
check "status --as-of before the last point" "$cairn" status --student ana-8 --as-of 2026-10-20 --json
grep -q '"points": 2' "$dir/out" && grep -q '"last_observed": "2026-10-19"' "$dir/out" && ok ||
  bad "--as-of counts only the points observed by then: $(cat "$dir/out")"

# a tally to lower: its falling trend is good news
for day in 2026-10-06 2026-10-13 2026-10-20; do
  check "tally" "$cairn" evidence add "$tally" $((7 - ${day: -2} / 7)) --observed $day
done
check "status of a falling tally" "$cairn" status --student ben-6 --as-of 2026-10-21
grep -q "improving" "$dir/out" && ok || bad "a falling tally shows an improving trend: $(cat "$dir/out")"

# yes/no points print as yes/no
check "yes/no milestone" "$cairn" milestone add --student ben-6 --type social-emotional \
  --statement "I will use a coping strategy when stress hits." --scale yesno --baseline pending \
  --target 1 --rule "3 of 4" --start 2026-10-05 --end 2026-11-09 --json
coping=$(id_of)
check "yes" "$cairn" evidence add "$coping" yes --observed 2026-10-07
check "status of a yes/no milestone" "$cairn" status --student ben-6 --as-of 2026-10-08
grep -q "last yes on 2026-10-07" "$dir/out" && ok || bad "a yes/no point prints as yes: $(cat "$dir/out")"
grep -q "target yes in 3 of the last 4 points" "$dir/out" && ok || bad "a yes/no target prints as yes: $(cat "$dir/out")"

check "amend" "$cairn" evidence amend "$first" 3 --reason "scored the wrong row"
check "show" "$cairn" show "$first" --json
grep -q "scored the wrong row" "$dir/out" && grep -q '1.5' "$dir/out" && ok || bad "history keeps the original and the reason"
check "retract" "$cairn" evidence retract "$first" --reason "wrong student"
check "review" "$cairn" review add "$ela" --kind weekly --decision adjust-supports --note "added stems"
check "support" "$cairn" support add "$ela" --support "sentence stems on desk"
check "celebrate" "$cairn" celebrate "$ela" --text "first 3 on the rubric"

# values written as a percent, or yes/no, on a scale of that kind
check "milestone add (percent)" "$cairn" milestone add --student ana-8 --type academic \
  --statement "I will be at school." --scale percent --baseline 80% --target 95% \
  --start 2026-10-05 --end 2026-11-16 --json
pct=$(id_of)
check "75% on a percent scale" "$cairn" evidence add "$pct" 75% --observed 2026-10-12 --json
check "show the 75%" "$cairn" show "$(id_of)" --json
grep -q '"value": 75' "$dir/out" && ok || bad "75% is stored as 75: $(cat "$dir/out")"
check "milestone add (yes/no)" "$cairn" milestone add --student ana-8 --type social-emotional \
  --statement "I will use a coping strategy." --scale yesno --baseline 0 --target 1 \
  --start 2026-10-05 --end 2026-11-16 --json
yn=$(id_of)
check "yes on a yes/no scale" "$cairn" evidence add "$yn" yes --observed 2026-10-12
check "a tally" "$cairn" evidence add "$tally" 6 --observed 2026-10-12 --json
tally_point=$(id_of)

# --- canonical export: identical bytes on repeat
"$cairn" export --json >"$dir/e1"; "$cairn" export --json >"$dir/e2"
cmp -s "$dir/e1" "$dir/e2" && [ -s "$dir/e1" ] && ok || bad "export is not stable"

# --- bad input: one line naming the field, non-zero exit, nothing written
refused "unknown student" student "$cairn" milestone add --student nobody --type academic \
  --statement "x" --scale 0-4 --baseline 1 --target 3 --start 2026-10-05 --end 2026-11-16
refused "unknown milestone" milestone "$cairn" evidence add 0badc0de-1 2
refused "off the scale" value "$cairn" evidence add "$ela" 5
refused "negative tally" value "$cairn" evidence add "$tally" -1
refused "half a tally" "value: a count is a whole number (0, 1, 2 ...), not 2.5" \
  "$cairn" evidence add "$tally" 2.5
refused "a percent on a 0-4 scale" "value: 75% is a percent, but milestone $ela is on the scale 0-4" \
  "$cairn" evidence add "$ela" 75%
refused "yes on a count" "value: 'yes' is for a yes/no milestone; milestone $tally is on the scale count" \
  "$cairn" evidence add "$tally" yes
refused "a percent target on a 0-4 scale" "target: 75% is a percent, but the scale is 0-4" \
  "$cairn" milestone add --student ana-8 --type academic --statement "x" --scale 0-4 \
  --baseline 1 --target 75% --start 2026-10-05 --end 2026-11-16
refused "an amendment in percent on a count" "value: 50% is a percent, but milestone $tally is on the scale count" \
  "$cairn" evidence amend "$tally_point" 50% --reason "typo"
refused "not a percent" "value: '75%%' is not a number" "$cairn" evidence add "$pct" 75%%
refused "NaN" value "$cairn" evidence add "$ela" nan
refused "inf" value "$cairn" evidence add "$ela" inf
refused "not a number" value "$cairn" evidence add "$ela" abc
refused "impossible date" observed "$cairn" evidence add "$ela" 2 --observed 2026-02-30
refused "end before start" end "$cairn" milestone add --student ana-8 --type academic \
  --statement "x" --scale 0-4 --baseline 1 --target 3 --start 2026-10-05 --end 2026-09-01
refused "empty statement" statement "$cairn" milestone add --student ana-8 --type academic \
  --statement "  " --scale 0-4 --baseline 1 --target 3 --start 2026-10-05 --end 2026-11-16
refused "oversized note" note "$cairn" evidence add "$ela" 2 --note "$(head -c 5000 /dev/zero | tr '\0' x)"
refused "invalid UTF-8" note "$cairn" evidence add "$ela" 2 --note "$(printf 'bad \xff\xfe bytes')"
refused "overlong UTF-8" note "$cairn" evidence add "$ela" 2 --note "$(printf 'over\xc0\xaflong')"
refused "100 KB note" note "$cairn" evidence add "$ela" 2 --note "$(head -c 100000 /dev/zero | tr '\0' x)"
refused "month 13" observed "$cairn" evidence add "$ela" 2 --observed 2026-13-01
refused "day zero" observed "$cairn" evidence add "$ela" 2 --observed 0000-00-00
refused "not a leap year" observed "$cairn" evidence add "$ela" 2 --observed 2025-02-29
refused "overflows to inf" value "$cairn" evidence add "$ela" 1e999
# implausible dates: after tomorrow, or long before the milestone ($ela: 2026-10-05 to 11-16)
refused "evidence in 2030" "observed: 2030-01-01 is after tomorrow" \
  "$cairn" evidence add "$ela" 2 --observed 2030-01-01
refused "evidence on 9999-12-31" "observed: 9999-12-31 is after tomorrow" \
  "$cairn" evidence add "$ela" 2 --observed 9999-12-31 --force
refused "the day after tomorrow" "is after tomorrow" \
  "$cairn" evidence add "$ela" 2 --observed "$(date -d '+2 days' +%F)"
refused "evidence in 1999" "observed: 1999-01-01 is more than" \
  "$cairn" evidence add "$ela" 2 --observed 1999-01-01
grep -q -- "--force" "$dir/err" && ok || bad "the back-entry refusal tells of --force: $(cat "$dir/err")"
refused "a year before 1900" "observed: 1899-12-31: the year must be from 1900 to 9999" \
  "$cairn" evidence add "$ela" 2 --observed 1899-12-31
refused "a year after 9999" "observed: must be a date YYYY-MM-DD" \
  "$cairn" evidence add "$ela" 2 --observed 10000-01-01
check "evidence dated tomorrow" "$cairn" evidence add "$ela" 2 --observed "$(date -d tomorrow +%F)"
check "evidence one timeframe before the start" "$cairn" evidence add "$ela" 2 --observed 2026-08-24
check "back-entry with --force" "$cairn" evidence add "$ela" 2 --observed 1999-01-01 --force
refused "target off scale" target "$cairn" milestone add --student ana-8 --type academic \
  --statement "x" --scale 0-4 --baseline 1 --target 9 --start 2026-10-05 --end 2026-11-16
refused "duplicate student" ana-8 "$cairn" student add --id ana-8 --name "Other"
# text: no control characters (terminal escapes, bells); notes keep lines and tabs
refused "escape in a name" "name: contains a control character (U+001B)" \
  "$cairn" student add --id cy-1 --name "$(printf 'Cy\033[2J')"
refused "OSC 8 link in a note" "note: contains a control character (U+001B)" \
  "$cairn" evidence add "$ela" 2 --note "$(printf '\033]8;;http://x\007click\033]8;;\007')"
refused "C1 in a statement" "statement: contains a control character (U+009B)" \
  "$cairn" milestone set "$ela" --statement "$(printf 'a\302\2332J')"
refused "line break in a reason" "reason: must be one line" \
  "$cairn" milestone set "$ela" --statement "new words" --reason "$(printf 'one\ntwo')"
check "a note of two lines" "$cairn" evidence add "$ela" 2 --note "$(printf 'claim clear\n\tone piece')"
# a table lines up whatever the script of a name: the grade column starts
# at the same terminal column ("é" takes one, each of "王小明" two)
check "a name with an accent" "$cairn" student add --id chl-9 --name "Chloé Dubois" --grade 9
check "a name in Chinese" "$cairn" student add --id wang-9 --name "王小明" --grade 9
"$cairn" student list >"$dir/list" 2>&1
cols=$(grep -E '^(chl-9|wang-9|ana-8) ' "$dir/list" | while IFS= read -r line; do
  pre=${line%%  9  *}; [ "$pre" = "$line" ] && pre=${line%%  8  *}
  printf '%s' "$pre" | python3 -c 'import sys, unicodedata as u; t = sys.stdin.read(); print(sum(2 if u.east_asian_width(c) in "WF" else 1 for c in t))'
done | sort -u)
[ "$(printf '%s\n' "$cols" | wc -l)" = 1 ] && [ -n "$cols" ] && ok ||
  bad "student list: the grade column is at one terminal column for every name: $(cat "$dir/list")"
# ids: letters, digits, - _ . and never a path or an option
refused "id -rf" "id: '-rf' is not an id" "$cairn" student add --id -rf --name "Other"
refused "id ." "id: '.' is not an id" "$cairn" student add --id . --name "Other"
refused "id .." "id: '..' is not an id" "$cairn" student add --id .. --name "Other"
refused "student ref .." "student: '..' is not an id" "$cairn" milestone add --student .. \
  --type academic --statement "x" --scale 0-4 --baseline 1 --target 3 --start 2026-10-05 \
  --end 2026-11-16
refused "show .." "id: '..' is not an id" "$cairn" show ..
refused "unreadable if/then" if_then "$cairn" milestone add --student ana-8 --type academic \
  --statement "x" --scale 0-4 --baseline 1 --target 3 --start 2026-10-05 --end 2026-11-16 \
  --if-then "when it rains, bring umbrellas"

ms_args=(--student ana-8 --type academic --statement "x" --scale 0-4 --baseline 1 --target 3
  --start 2026-10-05 --end 2026-11-16)
refused "--developing-at 5" developing_at "$cairn" milestone add "${ms_args[@]}" --developing-at 5
refused "--exceed-margin -1" exceed_margin "$cairn" milestone add "${ms_args[@]}" --exceed-margin -1
refused "--trend-points 1" trend_points "$cairn" milestone add "${ms_args[@]}" --trend-points 1
refused "--developing-at on an edit" developing_at "$cairn" milestone set "$ela" --developing-at 0
refused "if/then threshold off the scale" if_then "$cairn" milestone add "${ms_args[@]}" \
  --if-then "If attendance drops below 92%, then schedule a family meeting."
refused "a parent of another student" parent "$cairn" milestone set "$tally" --parent "$ela"
refused "a target behind the baseline" at-least "$cairn" milestone add --student ana-8 --type academic \
  --statement "x" --scale 0-4 --baseline 3.5 --target 3 --start 2026-10-05 --end 2026-11-16

# a goal to maintain: stay at or above 95, from a baseline of 97
check "maintain 95%" "$cairn" milestone add --student ana-8 --type academic \
  --statement "I will be at school 95% of days." --scale percent --baseline 97 --target 95 \
  --direction at-least --start 2026-10-05 --end 2026-12-14 --check 2026-10-20 --cadence monthly --json
attend=$(id_of)
check "attendance" "$cairn" evidence add "$attend" 96 --observed 2026-10-09
check "status of a goal to maintain" "$cairn" status --student ana-8 --as-of 2026-10-10 --json
grep -q '"goal": "stay at 95% or more, judged on the last point"' "$dir/out" && ok || bad "the maintain goal in words: $(cat "$dir/out")"
grep -q '"level": "meeting"' "$dir/out" && ok || bad "holding above 95 is meeting"
# its check date, before the monthly cadence's day, is the next review
grep -q '"next_review": "2026-10-20"' "$dir/out" && grep -q '"next_is_check": true' "$dir/out" && ok ||
  bad "the check date drives the next review: $(cat "$dir/out")"
# after the end: the result, no light
check "status after the end" "$cairn" status --student ana-8 --as-of 2027-03-01
grep -q "ENDED: not met" "$dir/out" && grep -q "ended on 2026-11-16" "$dir/out" && ok || bad "an ended milestone shows its result: $(cat "$dir/out")"
grep -Eq "  (GREEN|YELLOW|RED)$|^    (green|yellow|red): " "$dir/out" && bad "an ended milestone has no light: $(cat "$dir/out")" || ok

"$cairn" frobnicate >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok || bad "unknown command exits 2 (got $rc)"
"$cairn" --help >"$dir/out" && grep -q "evidence amend" "$dir/out" && ok || bad "--help lists evidence amend"

# --- SIGTERM: clean exit, nothing personal in the info log
kill -TERM "${pid[data]}"; wait "${pid[data]}"; rc=$?; unset "pid[data]"
[ $rc -eq 0 ] && ok || bad "cairnd exit status after SIGTERM: $rc"
grep -q "Ana" "$dir/data.log" && bad "student name in the log" || ok
grep -q "wrong row" "$dir/data.log" && bad "a reason/note in the log" || ok

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
