#!/usr/bin/env bash
# An erasure's compaction does not stop cairnd from answering. The central
# erases a student; its compaction is held for a while after its copy
# (CAIRN_TEST_PAUSE_AT_COMPACT, test builds only). Meanwhile:
#   - `cairn status` and `cairn student list` answer, before the compaction
#     is done (the log says when it is) and before the erase is answered;
#   - a write made meanwhile waits, is answered after the compaction, and
#     is in the store after a restart (the copy's swap did not lose it);
#   - the erase is answered once the compaction is done, and the store is
#     clean (`cairn check`).
# usage: compact_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
dir=$(mktemp -d /tmp/cairn-compact-XXXXXX)
port=$((20000 + RANDOM % 6000))
. "$(dirname "$0")/nodes.sh"

pause=8
C central init --role central --listen 127.0.0.1:$port --name district >/dev/null || bad "init"
start central
C central student add --id ana-8 --name "Ana Example" --campus north >/dev/null ||
  bad "student ana-8"
C central student add --id ben-9 --name "Ben Example" --campus north >/dev/null ||
  bad "student ben-9"
ms=$(C central milestone add --student ben-9 --type academic --statement "I will state a claim." \
  --scale 0-4 --baseline 1 --target 3 --start 2026-01-05 --end 2026-06-26 --json | new_id)
[ -n "$ms" ] && ok || bad "milestone"
stop central

# the pause is read when cairnd opens its store
CAIRN_TEST_PAUSE_AT_COMPACT=$pause start central
C central student erase ana-8 --reason "entered for the wrong child" >"$dir/erase.out" 2>&1 &
erase_pid=$!
for _ in $(seq 400); do
  grep -q "the compaction pauses" "$dir/central.log" && break
  sleep 0.05
done
grep -q "the compaction pauses" "$dir/central.log" && ok || bad "the compaction never paused"

# reads are answered while the compaction runs
C central student list >"$dir/list.out" 2>&1 && ok || bad "student list: $(cat "$dir/list.out")"
C central status >"$dir/status.out" 2>&1 && ok || bad "status: $(cat "$dir/status.out")"
if grep -q "the store was compacted" "$dir/central.log"; then
  bad "the reads were answered only after the compaction"
else
  ok
fi
kill -0 $erase_pid 2>/dev/null && ok || bad "the erase was answered before its compaction"

# a write waits for the compaction, then is kept
C central evidence add "$ms" 2 --observed 2026-02-02 --note "written meanwhile" \
  >"$dir/write.out" 2>&1 &
write_pid=$!
wait $erase_pid && ok || bad "erase: $(cat "$dir/erase.out")"
grep -q "the store was compacted" "$dir/central.log" && ok ||
  bad "the erase was answered before the compaction was done"
wait $write_pid && ok || bad "the write made meanwhile: $(cat "$dir/write.out")"
stop central
start central
C central export >"$dir/export" || bad "export"
grep -q "written meanwhile" "$dir/export" && ok || bad "the write made during the compaction is lost"
grep -q "Ana Example" "$dir/export" && bad "the erased student is still there" || ok
C central check >"$dir/check.out" 2>&1 && ok || bad "check: $(cat "$dir/check.out")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
