#!/usr/bin/env bash
# Backups that restore (docs/FORMAT.md section 6, README "Backups"): a
# backup taken while cairnd runs restores into a new directory that checks
# clean and exports the same records; a bad file or a non-empty directory
# restores nothing; kill -9 during a backup leaves no file under its name;
# and a classroom restored from a backup older than what the central holds
# of its log does not fork it: it refuses local writes until the central
# has sent that log back, then writes on, and nothing is lost or refused.
# cairn health says when the upstream link has not succeeded. An encrypted
# backup opens only with its key file, and a wrong key or an altered file
# restores nothing.
# usage: backup_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
dir=$(mktemp -d /tmp/cairn-backup-XXXXXX)
pc=$((20000 + RANDOM % 6000))
. "$(dirname "$0")/nodes.sh"

# flip FILE OFFSET: inverts the byte at OFFSET (writing a fixed byte would
# change nothing when the file already holds it there)
flip() {
  local b
  [ "$(stat -c %s "$1")" -gt "$2" ] || { bad "$1 is too short to alter at $2"; return; }
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf %03o $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

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
flip "$dir/flipped.bak" 5000
"$cairn" restore "$dir/flipped.bak" --data "$dir/r3" >"$dir/out" 2>&1 && bad "an altered backup restored" || ok
grep -q "altered or damaged" "$dir/out" && ok || bad "no reason for the altered backup: $(cat "$dir/out")"
mkdir -p "$dir/full" && touch "$dir/full/x"
"$cairn" restore "$dir/old.bak" --data "$dir/full" >"$dir/out" 2>&1 && bad "restored into a non-empty directory" || ok
grep -q "not empty" "$dir/out" && ok || bad "no reason for the non-empty directory: $(cat "$dir/out")"

# Encrypted backups: sealed to backup_public_key, opened only with its
# secret key file; a wrong key, no key, or an altered or cut file restores
# nothing and leaves no directory; the plain path still works beside it.
"$cairn" backup-key new --to "$dir/backup.key" >"$dir/pub" 2>"$dir/err" && ok ||
  bad "backup-key new: $(cat "$dir/err")"
[ "$(stat -c %a "$dir/backup.key")" = 600 ] && ok || bad "the backup key file is not mode 0600"
grep -qE '^backup_public_key = [A-Za-z0-9+/]{43}=$' "$dir/pub" && ok || bad "backup-key new printed: $(cat "$dir/pub")"
"$cairn" backup-key new --to "$dir/backup.key" >/dev/null 2>&1 && bad "backup-key new overwrote a key" || ok
"$cairn" backup-key new --to "$dir/other.key" >"$dir/other.pub" 2>/dev/null || bad "a second key pair"
C room backup --to "$dir/enc.bak" --encrypt >"$dir/out" 2>&1 && bad "--encrypt without a public key" || ok
grep -q "backup_public_key" "$dir/out" && ok || bad "--encrypt without a key does not say which setting: $(cat "$dir/out")"
[ -e "$dir/enc.bak" ] && bad "a refused --encrypt left a file" || ok
grep -q '^backup_public_key =' "$dir/room/cairn.conf" && ok || bad "cairn.conf has no backup_public_key line"
sed -i "s|^backup_public_key =.*|$(cat "$dir/pub")|" "$dir/room/cairn.conf" # read at backup time
C room backup --to "$dir/enc.bak" --encrypt >"$dir/out" 2>&1 && ok || bad "encrypted backup: $(cat "$dir/out")"
grep -q "encrypted" "$dir/out" && ok || bad "the backup does not say it is encrypted: $(cat "$dir/out")"
[ "$(stat -c %a "$dir/enc.bak")" = 600 ] && ok || bad "the encrypted backup is not mode 0600"
head -c 13 "$dir/enc.bak" | grep -q "CAIRNSEALED1" && ok || bad "the encrypted backup has not its magic"
grep -qa "room-1" "$dir/enc.bak" && bad "the encrypted backup holds cairn.conf in the clear" || ok
C room export >"$dir/room.export.enc"
"$cairn" restore "$dir/enc.bak" --data "$dir/e0" >"$dir/out" 2>&1 && bad "an encrypted backup restored without --key" || ok
grep -q -- "--key" "$dir/out" && ok || bad "no --key: no reason: $(cat "$dir/out")"
"$cairn" restore "$dir/enc.bak" --data "$dir/e1" --key "$dir/other.key" >"$dir/out" 2>&1 &&
  bad "an encrypted backup restored with the wrong key" || ok
grep -q "wrong key" "$dir/out" && ok || bad "the wrong key: no clear reason: $(cat "$dir/out")"
cp "$dir/enc.bak" "$dir/enc-flipped.bak"
flip "$dir/enc-flipped.bak" 5000
head -c $(($(stat -c %s "$dir/enc.bak") - 100)) "$dir/enc.bak" >"$dir/enc-short.bak"
cp "$dir/enc.bak" "$dir/enc-long.bak" && echo more >>"$dir/enc-long.bak"
for f in flipped short long; do
  "$cairn" restore "$dir/enc-$f.bak" --data "$dir/e-$f" --key "$dir/backup.key" >"$dir/out" 2>&1 &&
    bad "an encrypted backup restored $f" || ok
  grep -q "nothing was restored" "$dir/out" && ok || bad "encrypted, $f: no clear reason: $(cat "$dir/out")"
done
for d in e0 e1 e-flipped e-short e-long; do
  [ -e "$dir/$d" ] && bad "a refused encrypted restore left $dir/$d behind" || ok
done
mkdir "$dir/e2" # an empty directory stays empty when refused
"$cairn" restore "$dir/enc-flipped.bak" --data "$dir/e2" --key "$dir/backup.key" >/dev/null 2>&1
[ -z "$(ls -A "$dir/e2")" ] && ok || bad "a refused encrypted restore wrote into $dir/e2: $(ls -A "$dir/e2")"
rmdir "$dir/e2"
"$cairn" restore "$dir/enc.bak" --data "$dir/e2" --key "$dir/backup.key" >"$dir/out" 2>&1 && ok ||
  bad "encrypted restore: $(cat "$dir/out")"
grep -q "clean" "$dir/out" && ok || bad "the encrypted restore did not check the copy: $(cat "$dir/out")"
sed -i "s/^upstream = .*/upstream = 127.0.0.1:1/" "$dir/e2/cairn.conf"
start e2
C e2 export >"$dir/e2.export"
cmp -s "$dir/room.export.enc" "$dir/e2.export" && ok || bad "the encrypted backup restores other records"
stop e2
C room backup --to "$dir/plain2.bak" >/dev/null 2>&1 && ok || bad "a plain backup beside backup_public_key"
"$cairn" restore "$dir/plain2.bak" --data "$dir/p2" >/dev/null 2>&1 && ok || bad "the plain backup does not restore"

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
