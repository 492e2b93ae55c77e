#!/usr/bin/env bash
# Backups that restore (docs/FORMAT.md section 6, README "Backups"): a
# backup taken while cairnd runs restores into a new directory that checks
# clean and exports the same records; a bad file or a non-empty directory
# restores nothing; kill -9 during a backup leaves no file under its name;
# and a classroom restored from a backup older than what the central holds
# of its log does not fork it: it refuses local writes until the central
# has sent that log back, then writes on, and nothing is lost or refused.
# cairn health says when the upstream link has not succeeded.
# usage: backup_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
dir=$(mktemp -d /tmp/cairn-backup-XXXXXX)
pc=$((20000 + RANDOM % 6000))
. "$(dirname "$0")/nodes.sh"

C central init --role central --listen 127.0.0.1:$pc --name district >/dev/null && start central
C room init --campus north --classroom room-1 >/dev/null && start room
C room join "$(C central enroll --campus north --classroom room-1)" >"$dir/out" 2>&1 ||
  bad "room join: $(cat "$dir/out")"
C room student add --id s-1 --name "Ada" >/dev/null || bad "student"
ms=$(C room milestone add --student s-1 --type academic --statement "I will write a clear claim." \
  --scale 0-4 --baseline 1 --target 3 --start 2026-10-05 --end 2026-12-14 --json | new_id)
for d in 05 06 07 08 09; do
  C room evidence add "$ms" 2 --observed 2026-10-$d >/dev/null || bad "evidence"
done
C room sync now >/dev/null 2>&1 || bad "first sync"

# A backup while cairnd runs; it restores into a new directory, checks
# clean and exports the same records.
C room backup --to "$dir/old.bak" >"$dir/out" 2>&1 && ok || bad "backup: $(cat "$dir/out")"
[ "$(stat -c %a "$dir/old.bak")" = 600 ] && ok || bad "the backup is not mode 0600"
C room backup --to "$dir/old.bak" >/dev/null 2>&1 && bad "a second backup overwrote the first" || ok
C room export >"$dir/room.export.old"
"$cairn" restore "$dir/old.bak" --data "$dir/copy" >"$dir/out" 2>&1 && ok ||
  bad "restore: $(cat "$dir/out")"
grep -q "clean" "$dir/out" && ok || bad "restore did not check the copy: $(cat "$dir/out")"
sed -i "s/^upstream = .*/upstream = 127.0.0.1:1/" "$dir/copy/cairn.conf" # it must not sync
start copy
C copy export >"$dir/copy.export"
cmp -s "$dir/room.export.old" "$dir/copy.export" && ok || bad "the restored copy exports other records"
C copy check >/dev/null 2>&1 && ok || bad "the restored copy does not check clean"
stop copy

# Bad input restores nothing, and says why.
head -c 2000 "$dir/old.bak" >"$dir/short.bak"
"$cairn" restore "$dir/short.bak" --data "$dir/r2" >"$dir/out" 2>&1 && bad "a truncated backup restored" || ok
[ -e "$dir/r2" ] && bad "a refused restore left $dir/r2 behind" || ok
cp "$dir/old.bak" "$dir/flipped.bak"
printf '\xff' | dd of="$dir/flipped.bak" bs=1 seek=5000 conv=notrunc 2>/dev/null
"$cairn" restore "$dir/flipped.bak" --data "$dir/r3" >"$dir/out" 2>&1 && bad "an altered backup restored" || ok
grep -q "altered or damaged" "$dir/out" && ok || bad "no reason for the altered backup: $(cat "$dir/out")"
mkdir -p "$dir/full" && touch "$dir/full/x"
"$cairn" restore "$dir/old.bak" --data "$dir/full" >"$dir/out" 2>&1 && bad "restored into a non-empty directory" || ok
grep -q "not empty" "$dir/out" && ok || bad "no reason for the non-empty directory: $(cat "$dir/out")"

# kill -9 in the middle of backups: never a file under the final name that
# is not a whole backup.
for i in 1 2 3 4 5; do
  C room backup --to "$dir/k$i.bak" >/dev/null 2>&1 &
  cli=$!
  sleep 0.0$i
  kill -9 "${pid[room]}" 2>/dev/null
  wait "${pid[room]}" 2>/dev/null
  wait "$cli" 2>/dev/null
  unset "pid[room]"
  rm -f "$dir/room/cairnd.sock" # a killed cairnd leaves it: start waits for the new one
  start room
  if [ -e "$dir/k$i.bak" ]; then
    "$cairn" restore "$dir/k$i.bak" --data "$dir/k$i" >/dev/null 2>&1 && ok ||
      bad "kill -9 during backup $i left a file that does not restore"
  else
    ok
  fi
done

# The classroom writes on and syncs: the central now holds more of its log
# than the old backup.
for i in $(seq 1 20); do
  C room evidence add "$ms" 3 --observed 2026-10-19 --note "after the backup $i" \
    >/dev/null || bad "evidence after the backup"
done
C room sync now >/dev/null 2>&1 || bad "second sync"
head_before=$(C room sync status --json | jq '[.peers[] | select(.direction == "upstream") | .receipt.seq] | max')
stop room

# The laptop dies; the old backup is restored in its place.
mv "$dir/room" "$dir/room.dead"
"$cairn" restore "$dir/old.bak" --data "$dir/room" >"$dir/out" 2>&1 && ok ||
  bad "restore over the dead room: $(cat "$dir/out")"
grep -q "refuses local writes" "$dir/out" && ok || bad "restore did not say writes wait: $(cat "$dir/out")"
sed -i "s/^upstream = .*/upstream = 127.0.0.1:1/" "$dir/room/cairn.conf" # offline at first
start room
C room evidence add "$ms" 3 --observed 2026-10-20 >"$dir/out" 2>&1 &&
  bad "a restored classroom wrote before its log came back" || ok
grep -q "restored from a backup" "$dir/out" && ok || bad "the refusal does not say why: $(cat "$dir/out")"
C room status >"$dir/out" 2>&1
grep -q "restored from a backup" "$dir/out" && ok || bad "status does not say it waits: $(cat "$dir/out")"
# cairn health: an upstream that never answered is a reason to page someone
C room health >"$dir/out" 2>&1 && bad "health passed with no upstream link: $(cat "$dir/out")" || ok
grep -q "unhealthy: the upstream link has never succeeded" "$dir/out" && ok ||
  bad "health does not say why: $(cat "$dir/out")"
stop room
sed -i "s/^upstream = .*/upstream = 127.0.0.1:$pc/" "$dir/room/cairn.conf"
start room
C room sync now >"$dir/out" 2>&1 || bad "sync after the restore: $(cat "$dir/out")"
for _ in $(seq 100); do
  C room evidence add "$ms" 4 --observed 2026-10-20 --note "after the restore" \
    >"$dir/out" 2>&1 && break
  sleep 0.1
done
grep -q "^added" "$dir/out" && ok || bad "the restored classroom still cannot write: $(cat "$dir/out")"
C room sync now >"$dir/out" 2>&1 && ok || bad "sync of the new entry: $(cat "$dir/out")"
after=$(C room sync status --json | jq '[.peers[] | select(.direction == "upstream") | .receipt.seq] | max')
[ "$after" -gt "$head_before" ] && ok || bad "the central's receipt did not pass $head_before: $after"
C central export >"$dir/central.export"
[ "$(grep -c 'after the backup' "$dir/central.export")" -ge 20 ] && ok || bad "entries written after the backup were lost"
grep -q 'after the restore' "$dir/central.export" && ok || bad "the entry written after the restore did not arrive"
# (handshakes cut by the kill -9 above may count as abandoned: not entries)
C central sync status --json |
  jq -e '.refusals | .batches_refused + .entries_refused + .entries_quarantined + .out_of_turn == 0' \
    >/dev/null && ok || bad "the central refused entries: $(C central sync status 2>&1 | tail -16)"
converge room north/room-1 && ok || bad "the restored room and the central differ"
C room health --within 600 >"$dir/out" 2>&1 && ok || bad "room health: $(cat "$dir/out")"
grep -q "^healthy: cairnd serves; .* MiB free on its disk; the upstream link succeeded" "$dir/out" && ok ||
  bad "room health says: $(cat "$dir/out")"
C central health >"$dir/out" 2>&1 && ok || bad "central health: $(cat "$dir/out")"
stop central
C central health >/dev/null 2>&1
[ $? -eq 3 ] && ok || bad "health of a stopped cairnd did not exit 3"
start central
for n in central room; do
  C $n check >"$dir/out" 2>&1 && ok || bad "$n check: $(cat "$dir/out")"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
