#!/usr/bin/env bash
# Runs the central office's scenario (scripts/demo_district.sh, which
# scripts/demo.sh --district runs after building) with the
# built binaries and checks what a data lead following README's "Central
# office" section would see: the classrooms' class lists from the roster,
# the evidence of both classrooms at the central, the four reports, and
# the same four reports from the PostgreSQL mirror's views.
# usage: district_demo_test.sh CAIRN CAIRND (in one build directory)
set -uo pipefail
build=$(cd "$(dirname "$1")/.." && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/cairn-district-XXXXXX)
trap 'rm -rf "$dir"' EXIT
pass=0
fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

CAIRN_BUILD_DIR=$build CAIRN_DEMO_COMPARE=$dir/cmp "$src/scripts/demo_district.sh" "$dir/d" >"$dir/out" 2>&1
rc=$?
check "the scenario runs to its end" '[ $rc -eq 0 ] && grep -q "^== stopped the three cairnd" "$dir/out"'
check "a classroom lists its class from the roster, with no typing" \
  '[ "$(sed -n "/class list, from the roster/,/^==/p" "$dir/out" | grep -c "^st-01 *Ana Lopez")" = 1 ]'
check "the central holds the evidence of both classrooms: red milestones written in each" \
  '[ "$(sed -n "/-- report red$/,/-- report reviews/p" "$dir/out" | grep -c "Ben Okafor (st-02).*claim")" = 1 ] &&
   [ "$(sed -n "/-- report red$/,/-- report reviews/p" "$dir/out" | grep -c "Gabe Silva (st-07).*seatwork")" = 1 ]'
check "report program groups both templates and ranks the missed ones" \
  'grep -q "^template ela-claim \"Claim and evidence\"" "$dir/out" && grep -q "^   1\. ela-claim" "$dir/out"'
check "report red lists the three red milestones" \
  'grep -q "^3 milestones need attention" "$dir/out" && [ "$(grep -c "light red:" "$dir/out")" = 3 ]'
check "report reviews counts the overdue reviews" 'grep -q "^5 reviews overdue" "$dir/out"'
check "report supports compares the trend before and after the support" \
  'grep -q "\"a visual timer on the desk\": 2 students, 2 phases: 1 better, 0 same, 1 worse, 0 unknown" "$dir/out"'
check "report red --csv has its header and one row per red milestone" \
  '[ "$(sed -n "/report red --csv/,/^==/p" "$dir/out" | grep -c "^sch-n,")" = 3 ]'
# The mirror's report views hold the same rows, in the same order, with the
# same values as `cairn report KIND --json` (the views add as_of; supports
# adds the group's text).
same_as_report() {
  python3 - "$dir/cmp/$1.report.json" "$dir/cmp/$1.sql.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))["rows"]
view = json.load(open(sys.argv[2]))
bad = []
if not report or len(report) != len(view):
    bad.append("rows: report %d, view %d" % (len(report), len(view)))
for i, (a, b) in enumerate(zip(report, view)):
    for k, v in a.items():
        w = b.get(k, "(missing)")
        same = v == w or (isinstance(v, (int, float)) and isinstance(w, (int, float))
                          and abs(v - w) < 1e-9)
        if not same:
            bad.append("row %d %s: report %r, view %r" % (i, k, v, w))
print("\n".join(bad[:5]))
sys.exit(1 if bad else 0)
PY
}
check "the mirror applied every entry and wrote the milestone status" \
  'grep -q "status covers every entry applied *yes" "$dir/out" && grep -q "milestones in the status *5" "$dir/out"'
check "psql answers the program view: both templates ranked by missed" \
  '[ "$(sed -n "/FROM report_program$/,/ rows)$/p" "$dir/out" | grep -c "| all .* |  *[12]$")" = 2 ]'
check "psql lists the three red milestones" \
  '[ "$(sed -n "/FROM report_red$/,/ rows)$/p" "$dir/out" | grep -c "| red  *|")" = 3 ]'
for kind in program red reviews supports; do
  check "the view report_$kind holds what cairn report $kind says" "same_as_report $kind"
done
[ $fail -eq 0 ] || tail -40 "$dir/out"
echo "district_demo_test.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]
