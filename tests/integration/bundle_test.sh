#!/usr/bin/env bash
# Offline bundle integration test: real cairnd processes on loopback.
#   A classroom joins the central once over the network, then loses it for
#   good (its upstream is pointed at a closed port). It keeps writing, and
#   carries its entries over in a bundle file: the central applies them as
#   a sync would, a second import is harmless, and a truncated or altered
#   file is refused with one clear line, nothing of it applied.
# usage: bundle_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
dir=$(mktemp -d /tmp/cairn-bundle-XXXXXX)
pc=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
. "$(dirname "$0")/nodes.sh"

# Checks that importing FILE on the central fails with exit 1 and one line
# matching PATTERN, and that the central's export did not change.
refused() { # refused WHAT FILE PATTERN
  local rc
  C central bundle import "$2" >"$dir/out" 2>"$dir/err"
  rc=$?
  [ $rc -eq 1 ] && ok || bad "$1: exit $rc, not 1"
  [ "$(wc -l <"$dir/err")" -eq 1 ] && grep -q -E "$3" "$dir/err" && ok ||
    bad "$1: one clear line matching '$3': $(cat "$dir/err")"
  [ ! -s "$dir/out" ] && ok || bad "$1: printed on stdout: $(cat "$dir/out")"
  C central export >"$dir/central.after" 2>/dev/null
  cmp -s "$dir/central.after" "$dir/central.before" && ok || bad "$1: the central's export changed"
}

# --- the central, and a classroom that joins it once over the network
C central init --role central --listen 127.0.0.1:$pc --name "district office" >/dev/null ||
  bad "central init"
start central
C room init --campus north --classroom room-1 >/dev/null || bad "room init"
start room
tok=$(C central enroll --campus north --classroom room-1 2>/dev/null)
C room join "$tok" >"$dir/out" 2>&1 && ok || bad "room join: $(cat "$dir/out")"
C room student add --id s-1 --name "Ada" --grade 6 >/dev/null || bad "student s-1"
m=$(C room milestone add --student s-1 --type academic --statement "I will write a clear claim." \
  --scale 0-4 --baseline 1.5 --target 3 --start 2026-10-05 --end 2026-11-16 --json | new_id)
[ -n "$m" ] && ok || bad "milestone"
converge room north/room-1 && ok || bad "room converges over the network"
for _ in $(seq 100); do # wait for the central's receipt of everything so far
  grep -q '"seq"' <(C room sync status --json 2>/dev/null) && break
  sleep 0.1
done

# --- the network is gone: the upstream points at a closed port
stop room
sed -i "s/^upstream = .*/upstream = 127.0.0.1:1/" "$dir/room/cairn.conf"
start room
C room student add --id s-2 --name "Grace" --grade 6 >/dev/null || bad "offline student"
C room evidence add "$m" 2 --observed 2026-10-07 >/dev/null || bad "offline evidence 1"
C room evidence add "$m" 3 --observed 2026-10-14 --note "offline" >/dev/null ||
  bad "offline evidence 2"
C room export >"$dir/room.export"
C central export --scope north/room-1 >"$dir/central.room.export"
cmp -s "$dir/room.export" "$dir/central.room.export" && bad "the central has the offline writes" || ok

# --- export: refused where it makes no sense, else one line
C central bundle export --to "$dir/c.bundle" >/dev/null 2>"$dir/err" && bad "the central exports" ||
  grep -q "central does not export" "$dir/err" && ok || bad "central export message: $(cat "$dir/err")"
(cd "$dir" && "$cairn" --data "$dir/room" bundle export --to offline.bundle) >"$dir/out" 2>&1 ||
  bad "bundle export: $(cat "$dir/out")"
grep -q -E "^wrote $dir/offline.bundle: [0-9]+ entries \(#[0-9]+ to #[0-9]+\), [0-9]+ bytes, for the central$" \
  "$dir/out" && ok || bad "export line: $(cat "$dir/out")"
n=$(sed -n 's/.*: \([0-9]*\) entries.*/\1/p' "$dir/out")
[ "${n:-0}" -ge 3 ] && ok || bad "exported at least the 3 offline writes: $n"
[ "$(stat -c %a "$dir/offline.bundle")" = 600 ] && ok || bad "bundle mode $(stat -c %a "$dir/offline.bundle")"
head -c 13 "$dir/offline.bundle" | grep -q CAIRNBUNDLE1 && ok || bad "magic"
grep -q -F "Grace" "$dir/offline.bundle" && bad "the bundle is not encrypted" || ok
C room bundle export --to "$dir/offline.bundle" >/dev/null 2>"$dir/err" && bad "export replaced a file" ||
  grep -q "exists; choose another name" "$dir/err" && ok || bad "exists message: $(cat "$dir/err")"
C room bundle export --to "$dir/no/such/dir/x.bundle" >/dev/null 2>&1 && bad "export to a missing directory" || ok
C room bundle export --to "$dir/offline.json" --json >"$dir/out" 2>&1 &&
  grep -q '"entries"' "$dir/out" && ok || bad "export --json: $(cat "$dir/out")"
C room bundle import "$dir/offline.bundle" >/dev/null 2>"$dir/err" && bad "room imports its own bundle" ||
  grep -q "not addressed to this node" "$dir/err" && ok || bad "not addressed: $(cat "$dir/err")"

# --- damaged copies are refused, nothing applied
C central export >"$dir/central.before"
size=$(stat -c %s "$dir/offline.bundle")
head -c $((size - 100)) "$dir/offline.bundle" >"$dir/truncated.bundle"
refused "a truncated bundle" "$dir/truncated.bundle" "damaged|truncated"
head -c 30 "$dir/offline.bundle" >"$dir/short.bundle"
refused "a bundle cut in its header" "$dir/short.bundle" "truncated"
cp "$dir/offline.bundle" "$dir/tampered.bundle"
off=$((size / 2))
b=$(od -An -tu1 -j $off -N1 "$dir/offline.bundle" | tr -d ' ')
printf "\\$(printf %03o $((b ^ 1)))" | dd of="$dir/tampered.bundle" bs=1 seek=$off conv=notrunc 2>/dev/null
cmp -s "$dir/tampered.bundle" "$dir/offline.bundle" && bad "the byte was not flipped" || ok
refused "a tampered bundle" "$dir/tampered.bundle" "damaged or tampered"
refused "a file that is not a bundle" "$dir/room/cairn.conf" "not a cairn bundle"
refused "a missing file" "$dir/nothing.bundle" "nothing.bundle"

# --- the import, twice
C central bundle import "$dir/offline.bundle" >"$dir/out" 2>&1 || bad "import: $(cat "$dir/out")"
grep -q -E "^applied [1-9][0-9]* entr(y|ies)$" "$dir/out" && ok || bad "import line: $(cat "$dir/out")"
C central bundle import "$dir/offline.bundle" >"$dir/out" 2>&1 || bad "import again: $(cat "$dir/out")"
grep -q -x "applied 0 entries" "$dir/out" && ok || bad "second import applies nothing: $(cat "$dir/out")"
C central bundle import "$dir/offline.bundle" --json >"$dir/out" 2>&1 &&
  grep -q '"applied": 0' "$dir/out" && ok || bad "import --json: $(cat "$dir/out")"
C room export >"$dir/room.export"
C central export --scope north/room-1 >"$dir/central.room.export"
cmp -s "$dir/room.export" "$dir/central.room.export" && ok ||
  bad "the central's export of room-1 equals the classroom's after the import"
grep -q '"Grace"' "$dir/central.room.export" && ok || bad "the offline student reached the central"
C central show s-2 >/dev/null 2>&1 && ok || bad "central shows s-2"

# --- back on the network: the central acknowledges what the import brought
# at the next HELLO, so the classroom's receipt reaches its head and its next
# bundle would carry nothing already held
# (3 offline entries: s-2 and two pieces of evidence)
r0=$(C room sync status --json | grep -o '"seq": *[0-9]*' | head -1 | grep -o '[0-9]*$')
head=$((${r0:-0} + 3))
stop room
sed -i "s/^upstream = .*/upstream = 127.0.0.1:$pc/" "$dir/room/cairn.conf"
start room
got=0
for _ in $(seq 100); do
  got=$(C room sync status --json 2>/dev/null | grep -o '"seq": *[0-9]*' | head -1 | grep -o '[0-9]*$')
  [ "${got:-0}" -ge "${head:-1}" ] && break
  sleep 0.1
done
[ -n "$r0" ] && [ "${got:-0}" -ge "$head" ] && ok ||
  bad "after reconnecting, the receipt covers the imported entries: ${got:-none}, not $head"

echo "bundle integration: $pass passed, $fail failed"
[ $fail -eq 0 ]
