#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts cairnd on a fresh
# data directory, walks through a classroom scenario with the cairn CLI
# (three students, milestones of every type including the seed article's
# worked examples, several weeks of evidence, an amendment, a retraction, a
# review, a celebration), shows statuses, traffic lights and due reviews,
# stops the daemon cleanly, then starts it again in the background and ends
# by printing a one-time sign-in link to the web page showing that data.
#
# usage: scripts/demo.sh [DATA_DIR]      (default: ./demo-data, recreated)
#        scripts/demo.sh --district [DIR] the central office's scenario instead:
#                                         scripts/demo_district.sh (default: ./demo-district)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
data=${1:-$root/demo-data}

scripts/deps.sh
echo "== building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
if [ "${1:-}" = --district ]; then
  shift
  CAIRN_BUILD_DIR=$root/build exec scripts/demo_district.sh "$@"
fi
cairn=$root/build/client/cairn
cairnd=$root/build/daemon/cairnd

rm -rf "$data"
echo "== cairn init --data $data"
$cairn init --data "$data" --role classroom --campus north-ms --classroom room-12 --name "Room 12 laptop"
export CAIRN_DATA=$data

echo "== starting cairnd"
$cairnd --data "$data" 2>"$data/cairnd.log" &
pid=$!
stop() { kill -TERM "$pid" 2>/dev/null && wait "$pid" || true; }
trap stop EXIT
for _ in $(seq 100); do
  [ -S "$data/cairnd.sock" ] && break
  sleep 0.05
done

d() { date -d "$1" +%F; }          # a date relative to today
new_id() { sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'; }   # the id from an add --json
start=$(d "-35 days")

echo "== students"
$cairn student add --id ana-8 --name "Ana Lopez" --grade 8 --campus north-ms --classroom room-12 \
  --accommodation "extended time on written responses"
$cairn student add --id ben-6 --name "Ben Okafor" --grade 6 --campus north-ms --classroom room-12 \
  --accommodation "preferential seating"
$cairn student add --id cai-10 --name "Cai Nguyen" --grade 10 --campus north-ms --classroom room-12 \
  --accommodation "break card" --accommodation "extended time"

echo "== milestones"
ela=$($cairn milestone add --student ana-8 --type academic --json \
  --statement "I will include a clear claim and at least 2 pieces of evidence in a 3-paragraph response." \
  --scale 0-4 --baseline 1.5 --target 3 --rule "4 of 5" --start "$start" --end "$(d "$start + 42 days")" \
  --method "rubric check per assignment + quick conferencing notes" \
  --source "teacher rubric, student drafts in the LMS" \
  --support "small-group writing workshop twice weekly + sentence stems for claim/evidence" \
  --if-then "If a student scores below the target on the next check-in, then add a 20-minute small-group session twice weekly." \
  --cadence weekly --alignment "W.8.1 claim and evidence" \
  --at-home "Ask to see one paragraph and find the claim and the two pieces of evidence together." | new_id)
offtask=$($cairn milestone add --student ben-6 --type behavior --json \
  --statement "I will start seatwork within 5 minutes and stay on task for 80% of class time." \
  --scale count --baseline 7 --target 2 --direction down --rule "4 of 5" \
  --start "$start" --end "$(d "$start + 28 days")" \
  --method "10-minute interval checks (2 intervals per class block)" \
  --source "teacher behavior log + seating chart notes" \
  --support "visual checklist, preferential seating, 2-minute reset routine after transitions" \
  --if-then "If behavior targets aren't met for two consecutive weeks, then revise the classroom supports (visual cues, transition routines, reinforcement schedule)." \
  --cadence weekly --at-home "Use a short checklist for homework time, the same way as in class." | new_id)
attend=$($cairn milestone add --student ben-6 --type academic --json \
  --statement "I will be at school 95% of days this grading period." \
  --scale percent --baseline 88 --target 95 --start "$start" --end "$(d "$start + 63 days")" \
  --method "weekly attendance rate" --source "student information system" \
  --if-then "If attendance drops below 92%, then schedule a family meeting and coordinate a support plan." \
  --cadence monthly | new_id)
coping=$($cairn milestone add --student cai-10 --type social-emotional --json \
  --statement "I will use a coping strategy (breathing, break card, or help request) when stress hits." \
  --scale yesno --baseline pending --target 1 --rule "3 of 4" \
  --start "$start" --end "$(d "$start + 35 days")" \
  --method "student self-check + staff observation checklist" \
  --source "short reflection form + brief teacher notes" \
  --support "pre-teach coping steps, provide a break card, teach a help request sentence" \
  --cadence biweekly | new_id)
career=$($cairn milestone add --student cai-10 --type future-readiness --json \
  --statement "I will finish a career interest inventory and name two pathways I want to explore." \
  --scale 0-2 --baseline 0 --target 2 --horizon long --start "$start" --end "$(d "$start + 120 days")" \
  --method "counselor checklist" --cadence monthly | new_id)
echo "ELA writing $ela; off-task $offtask; attendance $attend; coping $coping; career $career"

echo "== five weeks of evidence"
i=0
for v in 1.5 2 2 2.5 3 3; do
  $cairn evidence add "$ela" "$v" --observed "$(d "$start + $((i * 6 + 2)) days")" --by "Ms. Rivera" \
    --source "teacher rubric" >/dev/null
  i=$((i + 1))
done
i=0
for v in 7 8 6 6 5 5 4 4 3 3 3 2 2 3; do
  $cairn evidence add "$offtask" "$v" --observed "$(d "$start + $((i * 2 + 1)) days")" --by "Mr. Hale" >/dev/null
  i=$((i + 1))
done
i=0
for v in 89 93 90 91; do
  $cairn evidence add "$attend" "$v" --observed "$(d "$start + $((i * 7 + 6)) days")" >/dev/null
  i=$((i + 1))
done
i=0
for v in no no yes no yes yes yes; do
  $cairn evidence add "$coping" "$v" --observed "$(d "$start + $((i * 4 + 2)) days")" \
    --note "self-check matched staff observation" >/dev/null
  i=$((i + 1))
done
$cairn evidence add "$career" 1 --observed "$(d "$start + 20 days")" >/dev/null

echo "== a mistaken entry is amended, another retracted; history stays"
typo=$($cairn evidence add "$ela" 0.5 --observed "$(d "-2 days")" --json | new_id)
$cairn evidence amend "$typo" 3.5 --reason "typed 0.5 for 3.5"
dup=$($cairn evidence add "$offtask" 9 --observed "$(d "-1 days")" --json | new_id)
$cairn evidence retract "$dup" --reason "recorded for the wrong student"
$cairn show "$typo"

echo "== a weekly review, a support change, a celebration"
$cairn review add "$ela" --kind weekly --decision continue --note "claims are clear; evidence still thin"
$cairn support add "$offtask" --support "move reset routine to before independent work"
$cairn celebrate "$coping" --text "used the break card on her own 3 times in a row"

echo "== a bad entry is refused with a clear error, and nothing is written"
$cairn evidence add "$ela" 7 && exit 1 || true

echo "== status: levels, traffic lights, trends, due reviews, triggered if/then"
$cairn status

echo "== the coping milestone's baseline is pending: its first point stands in"
$cairn status --student cai-10 | grep -E "baseline pending" || true

echo "== a review dated back two weeks: what the data showed then, not now"
early=$($cairn review add "$ela" --kind weekly --decision adjust-supports \
  --date "$(d "$start + 14 days")" --note "entered late, from the paper log" --json | new_id)
$cairn show "$early" | grep -E "^  (date|showed):"

echo "== a letter grade for Ana's essays, and the class's quick check at once"
essay=$($cairn milestone add --student ana-8 --type academic --json \
  --statement "I will raise my essay grade to a B." --scale letter --baseline C --target B \
  --rule "2 of 3" --start "$start" --end "$(d "$start + 63 days")" --cadence monthly | new_id)
{
  echo "# today's quick check: MILESTONE-OR-STUDENT VALUE [DATE] [NOTE]"
  echo "$essay B"
  echo "$offtask 2 $(d "-1 days") settled after the reset routine"
  echo "$coping yes"
  echo "ana-8 3"
} >"$data/quick-check.txt"
echo "-- one line names a student with two open milestones: nothing is written"
$cairn evidence add-many "$data/quick-check.txt" --by "Ms. Rivera" && exit 1 || true
sed -i 's/^ana-8 3$/'"$ela"' 3/' "$data/quick-check.txt"
$cairn evidence add-many "$data/quick-check.txt" --by "Ms. Rivera"

echo "== Ana met the ELA goal: it is closed as met and carried forward with a higher target"
$cairn milestone close "$ela" --result met --reason "4 of the last 5 responses at 3 or above"
next=$($cairn milestone carry-forward "$ela" --start "$(d "+1 days")" --end "$(d "+43 days")" \
  --target 3.5 --statement "I will support my claim with 3 pieces of evidence and explain each." \
  --json | new_id)
$cairn show "$next" | sed -n '/^history:/q;p'

echo "== Ben moves to room 14: on this room-12 node it is a change of his record"
$cairn student move ben-6 --classroom room-14 --reason "schedule change"
$cairn student list
echo "-- room 12 no longer writes for him:"
$cairn evidence add "$offtask" 2 && exit 1 || true

echo "== room 12's status after the school-year changes"
$cairn status

stop
trap - EXIT
echo "== cairnd stopped cleanly; its log:"
cat "$data/cairnd.log"

echo "== the web page: cairnd again, in the background, on the same data"
# 127.0.0.1:7421 unless something listens there already: then the next free port
for port in $(seq 7421 7460); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
sed -i "s/^web =.*/web = 127.0.0.1:$port/" "$data/cairn.conf"
setsid "$cairnd" --data "$data" 2>>"$data/cairnd.log" </dev/null >/dev/null &
pid=$!
for _ in $(seq 100); do
  [ -S "$data/cairnd.sock" ] && break
  sleep 0.05
done
if link=$($cairn web --as "Ms. Rivera" 2>"$data/web-signin.err"); then
  echo "cairnd is running (pid $pid). Open this link in a browser on this computer; it works"
  echo "once, within 5 minutes (for another: $cairn --data $data web):"
  echo
  echo "  $link"
  echo
  echo "Stop cairnd with: kill $pid"
else
  cat "$data/web-signin.err"
  echo "the web page is not served (see $data/cairnd.log); stopping cairnd"
  kill -TERM "$pid"
fi
