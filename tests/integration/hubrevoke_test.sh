#!/usr/bin/env bash
# A hub keeps nothing its central refuses (docs/PROTOCOL.md section 1,
# revocation): a classroom's bundle is imported at its hub while the hub
# cannot reach the central, and meanwhile the central revokes that
# classroom. When the hub syncs, the central keeps those entries out of its
# records, and so does the hub once the revocation reaches it: their records
# for the campus are the same, and the hub's status says what it keeps out
# and why.
# usage: hubrevoke_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
dir=$(mktemp -d /tmp/cairn-hubrevoke-XXXXXX)
pc=$((20000 + RANDOM % 6000))
ph=$((pc + 1))
. "$(dirname "$0")/nodes.sh"

C central init --role central --listen 127.0.0.1:$pc --name district >/dev/null && start central
C hub init --role hub --campus north --listen 127.0.0.1:$ph >/dev/null && start hub
C hub join "$(C central enroll --campus north --role hub)" >/dev/null || bad "hub join"
C room init --campus north --classroom room-1 >/dev/null && start room
C room join "$(C central enroll --campus north --classroom room-1)" --upstream 127.0.0.1:$ph \
  >"$dir/out" 2>&1 || bad "room join: $(cat "$dir/out")"
C room student add --id s-1 --name "Ada" --campus north --classroom room-1 >/dev/null
converge room north/room-1 && ok || bad "room converges"
room_key=$(C room ping --json | jq -r .device)
for _ in $(seq 100); do # the central's receipt of the room's log, relayed by the hub
  grep -q '"seq"' <(C room sync status --json 2>/dev/null) && break
  sleep 0.1
done

# the room loses its network and writes on; the hub loses the central
stop room
sed -i "s/^upstream = .*/upstream = 127.0.0.1:1/" "$dir/room/cairn.conf"
start room
C room student add --id s-2 --name "Grace" --campus north --classroom room-1 >/dev/null
C room student add --id s-3 --name "Hedy" --campus north --classroom room-1 >/dev/null
C room bundle export --to "$dir/room.bundle" >/dev/null || bad "bundle export"
stop hub
stop central

# the hub imports the bundle: it does not know of any revocation yet
start hub
C hub bundle import "$dir/room.bundle" >"$dir/out" 2>&1 && ok || bad "hub import: $(cat "$dir/out")"
grep -q '"s-2"' <(C hub export) && ok || bad "the hub did not apply the bundle"

# meanwhile the central revokes the room (holding none of those entries)
stop hub
start central
C central revoke "$room_key" >/dev/null && ok || bad "revoke"
start hub
for _ in $(seq 120); do
  grep -q '"s-2"' <(C hub export) || break
  sleep 0.5
done
grep -q '"s-2"' <(C hub export) && bad "the hub still shows what the central refused" || ok
grep -q '"s-2"' <(C central export) && bad "the central took the revoked room's entries" || ok
converge hub north && ok || bad "the hub's records for north differ from the central's"
C hub sync status >"$dir/out" 2>&1
grep -q "quarantined: the author's device is revoked" "$dir/out" && ok ||
  bad "the hub's status does not say what it keeps out: $(cat "$dir/out")"
C hub sync status --json | jq -e '[.kept_out.quarantined[] | select(.reason == "the author'"'"'s device is revoked") | .entries] | add == 2' >/dev/null && ok ||
  bad "the hub does not count the 2 entries it keeps out"
for n in central hub; do
  C $n check >"$dir/out" 2>&1 && ok || bad "$n check: $(cat "$dir/out")"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
