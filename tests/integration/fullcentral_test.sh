#!/usr/bin/env bash
# A classroom is told, in words, that its central's disk is full (docs/
# PROTOCOL.md section 4, close codes): the central's data directory is on a
# small tmpfs that fills; the classroom's sync status and status say "its
# disk is full" instead of "connection closed by peer"; when space returns
# the entries arrive and nothing is lost. Needs root for the tmpfs; exits 77
# (ctest: skipped) otherwise.
# usage: fullcentral_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root to mount a tmpfs"; exit 77; }
dir=$(mktemp -d /tmp/cairn-fullcentral-XXXXXX)
pc=$((20000 + RANDOM % 6000))
mkdir "$dir/mnt"
mount -t tmpfs -o size=12m tmpfs "$dir/mnt" 2>/dev/null ||
  { rmdir "$dir/mnt" "$dir"; echo "skipped: cannot mount tmpfs"; exit 77; }
. "$(dirname "$0")/nodes.sh"
trap 'cleanup; umount "$dir/mnt" 2>/dev/null' EXIT
C() { local n=$1; shift; if [ "$n" = central ]; then "$cairn" --data "$dir/mnt/central" "$@"; else "$cairn" --data "$dir/$n" "$@"; fi; }
start_central() {
  "$cairnd" --data "$dir/mnt/central" 2>>"$dir/central.log" &
  pid[central]=$!
  for _ in $(seq 200); do [ -S "$dir/mnt/central/cairnd.sock" ] && return 0; sleep 0.05; done
  bad "the central did not start"
}

"$cairn" init --data "$dir/mnt/central" --role central --listen 127.0.0.1:$pc >/dev/null
sed -i 's/^map_size_mb = .*/map_size_mb = 1/' "$dir/mnt/central/cairn.conf"
start_central
C room init --campus north --classroom room-1 >/dev/null && start room
C room join "$(C central enroll --campus north --classroom room-1)" >/dev/null || bad "join"
C room student add --id s1 --name "Student One" --campus north --classroom room-1 >/dev/null
mid=$(C room milestone add --student s1 --type academic --statement x --scale 0-4 --baseline 1 \
  --target 3 --start 2026-10-05 --end 2026-12-16 --json | new_id)

# fill the central's disk, leaving it 300 KiB
free_kb=$(df -k --output=avail "$dir/mnt" | tail -1)
head -c $(((free_kb - 300) * 1024)) /dev/zero >"$dir/mnt/ballast" 2>/dev/null
# notes that do not compress to nothing (a long value is compressed at rest)
for i in $(seq 400); do
  note=$(head -c 1425 /dev/urandom | base64 -w0)
  C room evidence add "$mid" 2 --observed 2026-11-02 --note "$note $i" >/dev/null || bad "add $i"
done
told=0
for _ in $(seq 60); do
  C room sync status --json >"$dir/st" 2>/dev/null
  jq -e '.peers[0].last_error_code == "disk_full"' "$dir/st" >/dev/null && { told=1; break; }
  C room sync now --no-wait >/dev/null 2>&1
  sleep 0.5
done
[ $told = 1 ] && ok || bad "the classroom was not told the central's disk is full: $(jq .peers "$dir/st")"
C room sync status >"$dir/out" 2>&1
grep -q "its disk is full" "$dir/out" && ok || bad "sync status does not say it in words: $(cat "$dir/out")"
grep -q "connection closed by peer" "$dir/out" && bad "sync status says 'connection closed by peer'" || ok
C room status >"$dir/out" 2>&1
grep -q "its disk is full" "$dir/out" && ok || bad "status does not say it: $(head -3 "$dir/out")"
grep -q "disk is full: batch .* was not stored" "$dir/central.log" && ok || bad "the central's log"

# space returns: everything arrives
rm -f "$dir/mnt/ballast"
for _ in $(seq 120); do
  [ "$(C central export | grep -c '"evidence"')" -ge 400 ] && break
  C room sync now --no-wait >/dev/null 2>&1
  sleep 0.5
done
[ "$(C central export | grep -c '"evidence"')" -ge 400 ] && ok || bad "not every entry arrived"
C room sync status --json | jq -e '.peers[0].last_error_code == null' >/dev/null && ok ||
  bad "the refusal is still shown once synced"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
