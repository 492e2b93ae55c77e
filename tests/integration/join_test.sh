#!/usr/bin/env bash
# A join whose answer is lost can be retried (docs/PROTOCOL.md section 5):
# the link between a classroom and the central is cut after N bytes (both
# directions counted), for N across every step of the join (handshake,
# JOIN, the central's commit, WELCOME, the first HELLO); after each cut the
# same device retries with the same token, and at the end it is joined,
# once, and syncs. A new token for the joined device gets its answer again;
# another device cannot use a used token.
# usage: join_test.sh CAIRN CAIRND FAULTPROXY
set -uo pipefail
cairn=$1
cairnd=$2
faultproxy=$3
dir=$(mktemp -d /tmp/cairn-join-XXXXXX)
pc=$((20000 + RANDOM % 6000))
. "$(dirname "$0")/nodes.sh"

C central init --role central --listen 127.0.0.1:$pc --name district >/dev/null
start central

mkfifo "$dir/ctl"
"$faultproxy" --listen 127.0.0.1:0 --connect 127.0.0.1:$pc <"$dir/ctl" >"$dir/proxy.out" \
  2>"$dir/proxy.log" &
extra_pids=$!
exec 3>"$dir/ctl"
for _ in $(seq 100); do grep -q '^listening' "$dir/proxy.out" && break; sleep 0.05; done
pp=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/proxy.out")
[ -n "$pp" ] && ok || bad "faultproxy did not start"
# tokens point devices at the proxy
stop central
sed -i "s/^advertise =.*/advertise = 127.0.0.1:$pp/" "$dir/central/cairn.conf"
start central

C room init --campus north --classroom room-1 >/dev/null && start room
tok=$(C central enroll --campus north --classroom room-1)
[[ $tok == cairn1.* ]] && ok || bad "enroll: $tok"

joined=0 cut=0 lost_answers=0
for n in $(seq 40 23 1400); do
  echo "set cut-after $n" >&3
  sleep 0.05
  if C room join "$tok" >"$dir/out" 2>&1; then
    joined=$((joined + 1))
  else
    cut=$((cut + 1))
    # a retry (this one, after an earlier lost answer) must never be told
    # the token is used or the device enrolled
    grep -q "token already used\|already exists\|already enrolled" "$dir/out" &&
      bad "cut after $n bytes: the retry was refused: $(cat "$dir/out")"
    # the central recorded the join but the answer was lost
    C central devices --json | jq -e '.devices | length == 1' >/dev/null 2>&1 &&
      lost_answers=$((lost_answers + 1))
  fi
done
echo "join sweep: $joined joined, $cut cut ($lost_answers after the central had recorded it)"
echo "set cut-after 0" >&3
C room join "$tok" >"$dir/out" 2>&1 && ok || bad "the last retry: $(cat "$dir/out")"
grep -q "joined campus 'north', classroom room-1" "$dir/out" && ok || bad "says joined: $(cat "$dir/out")"
[ $cut -gt 0 ] && [ $lost_answers -gt 0 ] && ok ||
  bad "the sweep never cut a join after the central recorded it ($cut cut, $lost_answers recorded)"
C central devices --json | jq -e '.devices | length == 1' >/dev/null && ok ||
  bad "the device is enrolled more than once, or not at all"

# it syncs: a student reaches the central
C room student add --id ana-8 --name Ana >/dev/null
for _ in $(seq 60); do grep -q '"ana-8"' <(C central export) && break; C room sync now --no-wait >/dev/null 2>&1; sleep 0.5; done
grep -q '"ana-8"' <(C central export) && ok || bad "the joined device does not sync"

# a new token for the joined device: its answer again, not "already enrolled"
tok2=$(C central enroll --campus south --classroom room-9)
C room join "$tok2" >"$dir/out" 2>&1 && ok || bad "a new token for the joined device: $(cat "$dir/out")"
grep -q "joined campus 'north', classroom room-1" "$dir/out" && ok ||
  bad "the new token's answer is not the device's scope: $(cat "$dir/out")"
C central devices --json | jq -e '.devices | length == 1' >/dev/null && ok || bad "enrolled twice"

# another device cannot use a used token
C other init --campus north --classroom room-2 >/dev/null && start other
C other join "$tok" >"$dir/out" 2>&1 && bad "another device joined with a used token" || ok
grep -q "token already used" "$dir/out" && ok || bad "says the token is used: $(cat "$dir/out")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
