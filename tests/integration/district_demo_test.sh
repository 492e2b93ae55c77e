#!/usr/bin/env bash
# Runs the central office's scenario (scripts/demo_district.sh, which
# scripts/demo.sh --district runs after building) with the
# built binaries and checks what a data lead following README's "Central
# office" section would see: the classrooms' class lists from the roster,
# the evidence of both classrooms at the central, and the four reports.
# usage: district_demo_test.sh CAIRN CAIRND (in one build directory)
set -uo pipefail
build=$(cd "$(dirname "$1")/.." && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/cairn-district-XXXXXX)
trap 'rm -rf "$dir"' EXIT
pass=0
fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

CAIRN_BUILD_DIR=$build "$src/scripts/demo_district.sh" "$dir/d" >"$dir/out" 2>&1
rc=$?
check "the scenario runs to its end" '[ $rc -eq 0 ] && grep -q "^== stopped the three cairnd" "$dir/out"'
check "a classroom lists its class from the roster, with no typing" \
  'sed -n "/class list, from the roster/,/^==/p" "$dir/out" | grep -q "^st-01 *Ana Lopez"'
check "the central holds the evidence of both classrooms: red milestones written in each" \
  'sed -n "/-- report red$/,/-- report reviews/p" "$dir/out" | grep -q "Ben Okafor (st-02).*Claim\\|Ben Okafor (st-02).*claim" &&
   sed -n "/-- report red$/,/-- report reviews/p" "$dir/out" | grep -q "Gabe Silva (st-07).*seatwork"'
check "report program groups both templates and ranks the missed ones" \
  'grep -q "^template ela-claim \"Claim and evidence\"" "$dir/out" && grep -q "^   1\. ela-claim" "$dir/out"'
check "report red lists the three red milestones" \
  'grep -q "^3 milestones need attention" "$dir/out" && [ "$(grep -c "light red:" "$dir/out")" = 3 ]'
check "report reviews counts the overdue reviews" 'grep -q "^5 reviews overdue" "$dir/out"'
check "report supports compares the trend before and after the support" \
  'grep -q "\"a visual timer on the desk\": 2 students, 2 phases: 1 better, 0 same, 1 worse, 0 unknown" "$dir/out"'
check "report red --csv has its header and one row per red milestone" \
  '[ "$(sed -n "/report red --csv/,/^==/p" "$dir/out" | grep -c "^sch-n,")" = 3 ]'
[ $fail -eq 0 ] || tail -40 "$dir/out"
echo "district_demo_test.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]
