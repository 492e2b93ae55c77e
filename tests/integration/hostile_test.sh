#!/usr/bin/env bash
# Hostile-client integration test: a real cairnd central and an honest
# enrolled classroom, attacked by `hostile` (tests/hostile/hostile.c), which
# speaks the real protocol with real keys. For each attack: the daemon must
# refuse it (hostile exits 0), nothing of it may be applied, the central's
# log must say why, and the honest classroom must keep syncing.
# usage: hostile_test.sh CAIRN CAIRND HOSTILE LOADGEN
set -uo pipefail
cairn=$1
cairnd=$2
hostile=$3
loadgen=$4
dir=$(mktemp -d /tmp/cairn-hostile-XXXXXX)
pc=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
. "$(dirname "$0")/nodes.sh"

device_of() { C "$1" ping --json | sed -n 's/.*"device": *"\([0-9a-f]*\)".*/\1/p'; }

# Waits until the classroom's upstream shows pending_out 0 (up to $2 s).
synced() { # synced NODE SECONDS
  local i
  for i in $(seq $(($2 * 2))); do
    C "$1" sync status --json >"$dir/status" 2>/dev/null
    grep -q '"pending_out": *0[,}]' "$dir/status" && return 0
    sleep 0.5
  done
  cat "$dir/status"
  return 1
}

# Log lines the central wrote since the mark.
mark() { wc -c <"$dir/central.log"; }
log_since() { tail -c +$(($1 + 1)) "$dir/central.log"; }

# --- a central, an honest classroom a1 and a second enrolled classroom
# (evil) whose key the attacker holds; evil's daemon is stopped after join.
C central init --role central --listen 127.0.0.1:$pc --name "district office" >/dev/null ||
  bad "central init"
start central
net=$(sed -n 's/^network = \([0-9a-f]\{64\}\)$/\1/p' "$dir/central/cairn.conf")
central_key=$(device_of central)
[ ${#net} -eq 64 ] && [ ${#central_key} -eq 64 ] && ok || bad "network id and central key"
for n in a1 evil; do
  C $n init --campus north --classroom room-1 >/dev/null && start $n
  tok=$(C central enroll --campus north --classroom room-1)
  C $n join "$tok" >"$dir/out" 2>&1 && ok || bad "$n join: $(cat "$dir/out")"
done
stop evil
a1_key=$(device_of a1)
C a1 student add --id s-a1 --name "Honest Student" --grade 6 >/dev/null || bad "a1 student"
m_a1=$(C a1 milestone add --student s-a1 --type academic --statement "I will write a clear claim." \
  --scale 0-4 --baseline 1.5 --target 3 --rule "4 of 5" --start 2026-10-05 --end 2026-11-16 \
  --json | new_id)
"$loadgen" "$dir/a1" "$m_a1" 20 >/dev/null || bad "loadgen a1"
synced a1 20 && ok || bad "a1 syncs before the attacks"
sleep 1
C central export >"$dir/before" || bad "central export"

H() { # H ATTACK [ARGS...]: runs hostile against the central
  local a=$1; shift
  "$hostile" "$a" --connect 127.0.0.1:$pc --network "$net" --central "$central_key" "$@" \
    2>>"$dir/hostile.log"
}
expect_refused() { # expect_refused NAME LOG_REGEX ATTACK [ARGS...]
  local name=$1 re=$2 m rc; shift 2
  m=$(mark)
  H "$@"; rc=$?
  [ $rc -eq 0 ] && ok || bad "$name: hostile exit $rc (1 = the attack was accepted)"
  sleep 0.5
  log_since "$m" | grep -qE "$re" && ok || bad "$name: the central's log gives no reason /$re/"
}
evil=(--key "$dir/evil" --campus north --classroom room-1)

# --- handshake attacks
expect_refused unknown-device "not enrolled" unknown-device
expect_refused wrong-network "handshake failed" wrong-network --key "$dir/evil"
expect_refused garbage "not a cairn sync handshake|handshake failed|malformed record" garbage
expect_refused oversize "cannot read an encrypted message \\(too large\\)" oversize --key "$dir/evil"

# --- entry attacks: each is refused and nothing of it is applied
expect_refused forged-signature "refused: .*signature does not verify" forged-signature "${evil[@]}" --student x-forged
expect_refused broken-chain "refused: .*prev does not match" broken-chain "${evil[@]}" --student x-chain
expect_refused gap "refused: .*seq does not follow" gap "${evil[@]}" --student x-gap
expect_refused other-author "refused: author ${a1_key:0:8}.*signature does not verify" other-author "${evil[@]}" --student x-other --other "$a1_key"
C central export >"$dir/after"
for id in x-forged x-chain x-gap x-other; do
  grep -q "\"$id\"" "$dir/after" && bad "the central holds $id from a refused attack" || ok
done
cmp -s "$dir/before" "$dir/after" && ok || bad "the central's export changed during the attacks"
C central check >"$dir/out" 2>&1 && ok || bad "cairn check on the central: $(head -3 "$dir/out")"

# --- control: the same client with an honest entry is accepted, so the
# refusals above come from the checks, not from a broken client
H valid "${evil[@]}" --student x-valid
rc=$?
[ $rc -eq 1 ] && ok || bad "control: an honest entry from hostile was not accepted (exit $rc)"
C central export >"$dir/valid"
grep -q '"x-valid"' "$dir/valid" && ok || bad "control: x-valid is not at the central"

# --- half-open connections: an honest classroom keeps syncing
H half-open 1000 --hold 2 &
hp=$!
sleep 0.3
"$loadgen" "$dir/a1" "$m_a1" 50 >"$dir/acked.half" || bad "loadgen during half-open"
wait $hp; rc=$?
[ $rc -eq 0 ] && ok || bad "half-open: hostile exit $rc"
synced a1 20 && ok || bad "a1 syncs during and after 1000 half-open connections"
kill -0 "${pid[central]}" 2>/dev/null && ok || bad "the central died under half-open connections"

# --- slowloris: closed within ~12 s, and the honest classroom keeps syncing
m=$(mark)
H slowloris &
sp=$!
sleep 1
"$loadgen" "$dir/a1" "$m_a1" 50 >"$dir/acked.slow" || bad "loadgen during slowloris"
synced a1 20 && ok || bad "a1 syncs during slowloris"
wait $sp; rc=$?
[ $rc -eq 0 ] && ok || bad "slowloris: hostile exit $rc (still open after 15 s)"
log_since "$m" | grep -q "handshake timed out" && ok || bad "slowloris: no 'handshake timed out' in the log"

# every honest entry acknowledged to a1 is at the central
sleep 1
C central export >"$dir/final"
missing=0
for f in "$dir"/acked.*; do
  while read -r id; do grep -q "\"$id\"" "$dir/final" || missing=$((missing + 1)); done <"$f"
done
[ $missing -eq 0 ] && ok || bad "$missing honest entries are missing at the central"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
