#!/usr/bin/env bash
# A tiny LMDB map grows on demand, and a full disk refuses writes with a
# clear "disk full" while the daemon stays up and serves reads; when space
# returns, writes resume with no restart; nothing acknowledged is lost.
# Needs root for a small tmpfs; exits 77 (ctest: skipped) otherwise.
# usage: disk_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root to mount a tmpfs"; exit 77; }
dir=$(mktemp -d /tmp/cairn-disk-XXXXXX)
mnt=$dir/mnt
mkdir "$mnt"
mount -t tmpfs -o size=6m tmpfs "$mnt" 2>/dev/null || { rmdir "$mnt" "$dir"; echo "skipped: cannot mount tmpfs"; exit 77; }
export CAIRN_DATA=$mnt/data
pid=
pass=0
fail=0
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  umount "$mnt" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# random text: the store compresses a long value (FORMAT.md section 8), and
# this hardly compresses, so each write still takes about 3 KiB
note=$(head -c 1425 /dev/urandom | base64 -w0)

"$cairn" init --data "$CAIRN_DATA" >/dev/null || exit 1
sed -i 's/^map_size_mb = .*/map_size_mb = 1/' "$CAIRN_DATA/cairn.conf"
"$cairnd" --data "$CAIRN_DATA" 2>"$dir/cairnd.log" &
pid=$!
for _ in $(seq 200); do [ -S "$CAIRN_DATA/cairnd.sock" ] && break; sleep 0.05; done

"$cairn" student add --id s1 --name "Student One" >/dev/null || bad "student add"
mid=$("$cairn" milestone add --student s1 --type academic --statement "x" --scale 0-4 \
  --baseline 1 --target 3 --start 2026-10-05 --end 2026-11-16 --json | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')

# 1. 400 entries of ~2 KiB: well past a 1 MiB map, which must grow.
acked=()
for i in $(seq 400); do
  id=$("$cairn" evidence add "$mid" 2 --note "$note" --json 2>"$dir/err" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
  [ -n "$id" ] || { bad "write $i with a full map: $(cat "$dir/err")"; break; }
  acked+=("$id")
done
[ ${#acked[@]} -eq 400 ] && ok
grep -q "map full: grown" "$dir/cairnd.log" && ok || bad "the daemon log does not show the map growing"

# 2. Fill the disk: writes are refused with "disk full", nothing half-written.
head -c 8M /dev/zero >"$mnt/filler" 2>/dev/null
refused=0
for i in $(seq 200); do
  out=$("$cairn" evidence add "$mid" 2 --note "$note" --json 2>"$dir/err")
  id=$(echo "$out" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
  if [ -n "$id" ]; then acked+=("$id"); continue; fi
  refused=1
  break
done
[ $refused -eq 1 ] && ok || bad "no write was refused on a full disk"
grep -qi "disk full" "$dir/err" && [ "$(wc -l <"$dir/err")" -eq 1 ] && ok ||
  bad "the refusal does not say 'disk full' in one line: $(cat "$dir/err")"
kill -0 "$pid" 2>/dev/null && ok || bad "cairnd died on a full disk"
"$cairn" status >/dev/null 2>"$dir/err" && ok || bad "reads fail on a full disk: $(cat "$dir/err")"

# 3. Space returns: writing resumes with no restart.
rm -f "$mnt/filler"
id=$("$cairn" evidence add "$mid" 3 --json 2>"$dir/err" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
[ -n "$id" ] && acked+=("$id") && ok || bad "writes do not resume after space returns: $(cat "$dir/err")"

# 4. Every acknowledged entry is there after a restart.
kill -TERM "$pid"; wait "$pid"; pid=
"$cairnd" --data "$CAIRN_DATA" 2>>"$dir/cairnd.log" &
pid=$!
for _ in $(seq 200); do [ -S "$CAIRN_DATA/cairnd.sock" ] && break; sleep 0.05; done
"$cairn" export >"$dir/export" || bad "export after restart"
missing=0
for id in "${acked[@]}"; do grep -q "\"$id\"" "$dir/export" || missing=$((missing + 1)); done
[ $missing -eq 0 ] && ok || bad "$missing acknowledged entries missing after restart"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
