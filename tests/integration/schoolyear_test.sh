#!/usr/bin/env bash
# The school year through the cairn CLI against a real cairnd on a temp dir:
# students listed, changed as sets, moved, withdrawn and re-enrolled;
# milestones closed, reopened, archived and carried forward; letter and
# levels scales given by their labels; a class's evidence at once (lines
# and CSV), all or nothing. Every refusal names the field and writes
# nothing.
# usage: schoolyear_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
dir=$(mktemp -d /tmp/cairn-year-XXXXXX)
export CAIRN_DATA=$dir/data
. "$(dirname "$0")/nodes.sh"

check() { # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1; shift
  if "$@" >"$dir/out" 2>"$dir/err"; then ok; else bad "$what: $(cat "$dir/err")"; fi
}
has() { # has DESCRIPTION PATTERN: the last output holds PATTERN
  grep -q -- "$2" "$dir/out" && ok || bad "$1: no '$2' in: $(cat "$dir/out")"
}
lacks() { # lacks DESCRIPTION PATTERN
  grep -q -- "$2" "$dir/out" && bad "$1: '$2' in: $(cat "$dir/out")" || ok
}
refused() { # refused DESCRIPTION TEXT COMMAND...: fails, stderr names TEXT, nothing written
  local what=$1 text=$2; shift 2
  "$cairn" export >"$dir/before" 2>/dev/null
  if "$@" >"$dir/out" 2>"$dir/err"; then bad "$what: accepted"; return; fi
  grep -q -- "$text" "$dir/err" || { bad "$what: error does not say '$text': $(cat "$dir/err")"; return; }
  "$cairn" export >"$dir/after" 2>/dev/null
  cmp -s "$dir/before" "$dir/after" || { bad "$what: something was written"; return; }
  ok
}

check "init" "$cairn" init --data "$CAIRN_DATA" --campus north --classroom r12
start data

# --- students: sets, a list
check "student add" "$cairn" student add --id ana-8 --name "Ana Lopez" --grade 8 \
  --accommodation "extended time"
check "student add (two classrooms)" "$cairn" student add --id ben-6 --name "Ben Okafor" --grade 6 \
  --classroom r12 --classroom r14
check "student set adds" "$cairn" student set ana-8 --add-accommodation "sentence stems" \
  --add-classroom r14
refused "removing what is not there" "accommodations: 'large print' is not one of the student's" \
  "$cairn" student set ana-8 --remove-accommodation "large print"
check "student set removes" "$cairn" student set ana-8 --remove-accommodation "extended time"
check "student list" "$cairn" student list
has "list shows the classrooms" "ana-8 .*Ana Lopez .*8 .*north .*r12; r14"
check "student list --grade" "$cairn" student list --grade 6
has "grade filter keeps ben" "ben-6"
lacks "grade filter drops ana" "ana-8"
check "student list --json" "$cairn" student list --classroom r14 --json
has "json classrooms" '"classrooms": \['
check "show the student" "$cairn" show ana-8
has "show gives the set" "accommodations: sentence stems"
refused "a classroom device writes only for its classroom" "classrooms:" \
  "$cairn" student add --id cy-1 --name Cy --classroom r20

# --- letter and levels scales, values by their labels
check "letter milestone" "$cairn" milestone add --student ana-8 --type academic \
  --statement "I will raise my essay grade." --scale letter --baseline C --target B --rule "2 of 3" \
  --start 2026-10-05 --end 2026-11-16 --json
grade=$(new_id <"$dir/out")
check "evidence by a letter" "$cairn" evidence add "$grade" b --observed 2026-10-12
check "evidence by a letter" "$cairn" evidence add "$grade" A --observed 2026-10-19
refused "a grade that is no letter" "value: 'E' is not one of the levels of $grade: F, D, C, B or A" \
  "$cairn" evidence add "$grade" E --observed 2026-10-20
check "levels milestone" "$cairn" milestone add --student ben-6 --type academic \
  --statement "I will explain my reasoning." --scale levels --level beginning --level approaching \
  --level meeting --level exceeding --baseline beginning --target meeting \
  --start 2026-10-05 --end 2026-11-16 --json
levels=$(new_id <"$dir/out")
check "evidence by a level" "$cairn" evidence add "$levels" approaching --observed 2026-10-12
check "status of ordinal scales" "$cairn" status --as-of 2026-10-20
has "the goal in labels" "target B or higher in 2 of the last 3 points; baseline C"
has "the last grade as a letter" "last A on 2026-10-19"
has "the scale's levels" "scale levels (beginning < approaching < meeting < exceeding)"
has "the last level by name" "last approaching on 2026-10-12"
check "show evidence on a levels scale" "$cairn" show "$levels"
has "show's target as its label" "target: meeting"

# --- close, reopen, archive, carry forward
refused "replaced needs what replaces it" "replaced_by: required" \
  "$cairn" milestone close "$grade" --result replaced --date 2026-10-20
refused "a result is one of three" "result: must be one of" \
  "$cairn" milestone close "$grade" --result done
check "close as met" "$cairn" milestone close "$grade" --result met --date 2026-10-20 --reason "both points at B or above"
check "status of a closed milestone" "$cairn" status --student ana-8 --as-of 2026-10-25
has "closed with its result" "CLOSED: met"
has "why: closed" "closed on 2026-10-20: met; 2 of the last 2 points meet the target"
has "nothing due" "no review due: it is closed"
grep -Eq "^    (green|yellow|red): " "$dir/out" && bad "a closed milestone has no light" || ok
check "status --json of a closed milestone" "$cairn" status --student ana-8 --as-of 2026-10-25 --json
has "json closed" '"closed": true'
has "json result" '"result": "met"'
check "carry forward" "$cairn" milestone carry-forward "$grade" --start 2026-11-02 \
  --end 2026-12-14 --target A --json
next=$(new_id <"$dir/out")
check "show the carried milestone" "$cairn" show "$next" --json
has "baseline from the last points" '"baseline": 4'
has "it names the old one" "\"carried_from\": \"$grade\""
has "how the baseline was taken" "the mean of its last 2 points"
check "reopen" "$cairn" milestone reopen "$grade"
check "status of a reopened milestone" "$cairn" status --student ana-8 --as-of 2026-10-25
lacks "no longer closed" "CLOSED"
check "archive" "$cairn" milestone archive "$grade"
check "status without the archived" "$cairn" status --student ana-8 --as-of 2026-11-03
lacks "archived hidden" "  $grade  academic"
check "status --archived" "$cairn" status --student ana-8 --as-of 2026-11-03 --archived
has "archived shown" "$grade  academic .*(archived)"

# --- a class at once
check "a count milestone" "$cairn" milestone add --student ben-6 --type behavior \
  --statement "I will start seatwork within 5 minutes." --scale count --baseline 7 --target 2 \
  --direction down --start 2026-10-05 --end 2026-11-16 --json
tally=$(new_id <"$dir/out")
cat >"$dir/lines" <<EOF
# Monday
$tally 5 2026-10-12 two prompts before lunch
ana-8 B 2026-10-13
$levels meeting
EOF
check "add-many lines" "$cairn" evidence add-many "$dir/lines" --by "Ms Rivera"
has "one batch" "added 3 evidence entries in one batch"
check "status after add-many" "$cairn" status --student ben-6 --as-of 2026-10-13
has "the tally's point" "last 5 on 2026-10-12"
cat >"$dir/bad" <<EOF
$tally 2.5 2026-10-14
ben-6 4 2026-10-14
$tally 3 2099-01-01
nobody 1
$tally 4 2026-10-15 fine
EOF
refused "add-many: bad lines" "line 1: value: a count is a whole number" \
  "$cairn" evidence add-many "$dir/bad"
grep -q "line 2: student ben-6 has 2 open milestones" "$dir/err" && ok || bad "a student with two open milestones: $(cat "$dir/err")"
grep -q "line 3: observed: 2099-01-01 is after tomorrow" "$dir/err" && ok || bad "a date after tomorrow, listed: $(cat "$dir/err")"
grep -q "line 4: nobody: no such milestone or student" "$dir/err" && ok || bad "an unknown target, listed: $(cat "$dir/err")"
grep -q "line 5" "$dir/err" && bad "a good line listed: $(cat "$dir/err")" || ok
grep -q "nothing written: 4 lines refused" "$dir/err" && ok || bad "says nothing written: $(cat "$dir/err")"
# as a spreadsheet saves it: a byte order mark, CRLF, a quoted comma and line break
printf '\xef\xbb\xbfmilestone,value,date,note\r\n%s,3,2026-10-16,"calm, then a break"\r\n%s,2,2026-10-17,"two lines\r\nof note"\r\n' \
  "$tally" "$tally" >"$dir/csv"
check "add-many CSV" "$cairn" evidence add-many "$dir/csv" --json
has "two ids" '"ids": \['
printf 'student,value\nana-8,Q\n' | "$cairn" evidence add-many - >"$dir/out" 2>"$dir/err" &&
  bad "a CSV bad label accepted" || { grep -q "stdin line 2: value: 'Q'" "$dir/err" && ok || bad "CSV line numbers: $(cat "$dir/err")"; }

# --- withdraw, re-enroll
check "withdraw" "$cairn" student withdraw ben-6 --date 2026-10-20 --reason "moved away"
check "status without the withdrawn" "$cairn" status --as-of 2026-10-21
lacks "withdrawn hidden" "Ben Okafor"
check "status --withdrawn" "$cairn" status --as-of 2026-10-21 --withdrawn
has "withdrawn shown" "Ben Okafor (ben-6), grade 6, r12; r14, WITHDRAWN on 2026-10-20"
refused "a withdrawn student is read-only" "student ben-6 was withdrawn on 2026-10-20" \
  "$cairn" evidence add "$tally" 3 --observed 2026-10-21
check "reenroll" "$cairn" student reenroll ben-6
check "writable again" "$cairn" evidence add "$tally" 3 --observed 2026-10-21

# --- move: the old classroom no longer lists or writes for the student
check "move" "$cairn" student move ben-6 --classroom r20 --reason "changed class"
check "status of r12" "$cairn" status --as-of 2026-10-22
lacks "moved away: not in r12's status" "Ben Okafor"
check "student list after the move" "$cairn" student list --classroom r20
has "in r20 now" "ben-6 .*r20"
refused "r12 no longer writes for a moved student" "milestone: its student" \
  "$cairn" evidence add "$tally" 3 --observed 2026-10-22

"$cairn" --help >"$dir/out"
for c in "student list" "student set" "student move" "student withdraw" "student reenroll" \
  "milestone close" "milestone reopen" "milestone archive" "milestone carry-forward" \
  "evidence add-many"; do
  has "--help lists $c" "cairn $c"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
