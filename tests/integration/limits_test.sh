#!/usr/bin/env bash
# Out of descriptors, loudly and briefly (docs/PROTOCOL.md section 6,
# "Connection limits"): a central with a descriptor limit of 512 (so 256
# sync connections) takes 25,000 connection attempts from 40 addresses
# that never say a word. Every one is counted, the log stays under 1 MB, the
# central keeps serving, and an enrolled classroom that restarts in the
# middle of it reconnects within 2 s.
# usage: limits_test.sh CAIRN CAIRND HOSTILE
set -uo pipefail
cairn=$1
cairnd=$2
hostile=$3
dir=$(mktemp -d /tmp/cairn-limits-XXXXXX)
pc=$((20000 + RANDOM % 6000))
. "$(dirname "$0")/nodes.sh"

counter() { C central sync status --json | jq ".refusals.$1"; }
connected() { C room sync status --json 2>/dev/null | jq -e '.peers[0].connected' >/dev/null 2>&1; }

C central init --role central --listen 127.0.0.1:$pc --name district >/dev/null
(ulimit -n 512 && exec "$cairnd" --data "$dir/central" 2>>"$dir/central.log") &
pid[central]=$!
for _ in $(seq 200); do [ -S "$dir/central/cairnd.sock" ] && break; sleep 0.05; done
C room init --campus north --classroom room-1 >/dev/null && start room
C room join "$(C central enroll --campus north --classroom room-1)" >/dev/null || bad "join"
for _ in $(seq 40); do connected && break; sleep 0.25; done
connected && ok || bad "the classroom never connected"

net=$(sed -n 's/^network = //p' "$dir/central/cairn.conf")
key=$(C central ping --json | jq -r .device)
log0=$(wc -c <"$dir/central.log")
refused0=$(counter connections_refused)
timeouts0=$(counter handshake_timeouts)
abandoned0=$(counter handshakes_abandoned)
"$hostile" flood 25000 --connect 127.0.0.1:$pc --network "$net" --central "$key" \
  >"$dir/flood.out" 2>>"$dir/hostile.log" &
fp=$!
sleep 0.5
# the classroom restarts while the flood holds every slot: its connection
# is not one of the flood's, and gets in at once
stop room
t0=$(date +%s%N)
start room
for _ in $(seq 100); do connected && break; sleep 0.05; done
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
connected && [ $ms -le 2000 ] && ok || bad "the classroom reconnected after $ms ms (or not at all)"
kill -0 $fp 2>/dev/null && ok || bad "the flood was over before the classroom restarted"
wait $fp
attempts=$(cat "$dir/flood.out")
[ "${attempts:-0}" -ge 24000 ] && ok || bad "only ${attempts:-0} of 25000 attempts connected"
sleep 11 # what the flood left open times out

refused=$(($(counter connections_refused) - refused0))
timeouts=$(($(counter handshake_timeouts) - timeouts0))
abandoned=$(($(counter handshakes_abandoned) - abandoned0))
echo "flood: $attempts connected: $refused closed at once (connections_refused), $timeouts timed" \
  "out (handshake_timeouts), $abandoned closed by the flood first (handshakes_abandoned)"
# every attempt is one of the three
[ $((refused + timeouts + abandoned)) -eq "$attempts" ] && [ $refused -gt 0 ] && ok ||
  bad "the counters do not account for the flood: $refused + $timeouts + $abandoned of $attempts"
grown=$(($(wc -c <"$dir/central.log") - log0))
[ $grown -lt 1048576 ] && ok || bad "the central wrote $grown bytes of log for the flood"
grep -q "more lines about connections_refused left out" "$dir/central.log" && ok ||
  bad "the log does not say how many lines it left out"
kill -0 "${pid[central]}" 2>/dev/null && ok || bad "the central died"

# and it still syncs
C room student add --id ana-8 --name Ana >/dev/null
for _ in $(seq 40); do grep -q '"ana-8"' <(C central export) && break; sleep 0.25; done
grep -q '"ana-8"' <(C central export) && ok || bad "the classroom does not sync after the flood"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
