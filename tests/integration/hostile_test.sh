#!/usr/bin/env bash
# Hostile-client integration test: a real cairnd central and an honest
# enrolled classroom, attacked by `hostile` (tests/hostile/hostile.c), which
# speaks the real protocol with real keys. For each attack: the daemon must
# refuse it (hostile exits 0), nothing of it may be applied, the central's
# log must say why, the right counter of `cairn sync status --json`'s
# "refusals" must go up by the right amount (and no other), and the honest
# classroom must keep syncing.
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

# The central's refusal counters, one "name count" line each (sync status
# --json prints one key per line).
counters() {
  C central sync status --json |
    sed -n '/"refusals": {/,/}/s/^ *"\([a-z_]*\)": *\([0-9]*\),\{0,1\}$/\1 \2/p'
}
# How much counter NAME went up between $dir/counts.before and .after.
delta() {
  echo $(($(sed -n "s/^$1 //p" "$dir/counts.after") - $(sed -n "s/^$1 //p" "$dir/counts.before")))
}
# Between the counters in files BEFORE and AFTER, NAME must have gone up by
# exactly DELTA and every other counter by 0 (NAME "-": none may move).
# More NAME DELTA pairs may follow: each must move by its DELTA.
expect_counted() { # expect_counted WHAT BEFORE AFTER NAME DELTA [NAME DELTA ...]
  local what=$1 before=$2 after=$3 n x y name want found
  shift 3
  [ -s "$before" ] && [ -s "$after" ] || { bad "$what: sync status --json has no refusals"; return; }
  local -A wants=()
  while [ $# -ge 2 ]; do
    [ "$1" = - ] || grep -q "^$1 " "$before" || { bad "$what: no counter $1"; return; }
    [ "$1" = - ] || wants[$1]=$2
    shift 2
  done
  while read -r n x; do
    y=$(sed -n "s/^$n //p" "$after")
    if [ -n "${wants[$n]:-}" ]; then
      want=${wants[$n]}
      [ $((y - x)) -eq "$want" ] && ok || bad "$what: $n went up by $((y - x)), not $want"
    elif [ "${y:-x}" != "$x" ]; then
      bad "$what: $n moved too ($x -> ${y:-nothing})"
    fi
  done <"$before"
}

# --- a central, an honest classroom a1 and a second enrolled classroom
# (evil) whose key the attacker holds; evil's daemon is stopped after join.
C central init --role central --listen 127.0.0.1:$pc --name "district office" >/dev/null ||
  bad "central init"
start central
net=$(sed -n 's/^network = \([0-9a-f]\{64\}\)$/\1/p' "$dir/central/cairn.conf")
central_key=$(device_of central)
[ ${#net} -eq 64 ] && [ ${#central_key} -eq 64 ] && ok || bad "network id and central key"
for n in a1 evil gone; do
  C $n init --campus north --classroom room-1 >/dev/null && start $n
  tok=$(C central enroll --campus north --classroom room-1)
  C $n join "$tok" >"$dir/out" 2>&1 && ok || bad "$n join: $(cat "$dir/out")"
done
stop evil
a1_key=$(device_of a1)
gone_key=$(device_of gone) # stays connected until it is revoked, below
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
# expect_refused NAME LOG_REGEX COUNTER DELTA ATTACK [ARGS...]: the attack is
# refused, the log gives the reason (in $dir/since) and counts it under
# COUNTER, which goes up by DELTA ("out": the number hostile prints).
expect_refused() {
  local name=$1 re=$2 counter=$3 delta=$4 m rc i; shift 4
  m=$(mark)
  counters >"$dir/counts.before"
  H "$@" >"$dir/hostile.out"; rc=$?
  [ $rc -eq 0 ] && ok || bad "$name: hostile exit $rc (1 = the attack was accepted)"
  for i in $(seq 20); do
    log_since "$m" >"$dir/since"
    grep -qE "$re" "$dir/since" && break
    sleep 0.25
  done
  grep -qE "$re" "$dir/since" && ok || bad "$name: the central's log gives no reason /$re/"
  grep -q "(counted as $counter" "$dir/since" && ok ||
    bad "$name: the central's log does not say it counted it as $counter"
  counters >"$dir/counts.after"
  [ "$delta" = out ] && delta=$(cat "$dir/hostile.out")
  expect_counted "$name" "$dir/counts.before" "$dir/counts.after" "$counter" "${delta:-0}"
}
evil=(--key "$dir/evil" --campus north --classroom room-1)

# --- handshake and framing attacks
expect_refused unknown-device "not enrolled" handshake_refused 1 unknown-device
expect_refused wrong-network "handshake failed" handshake_refused 1 wrong-network --key "$dir/evil"
expect_refused bad-token "join of device .* refused" joins_refused 1 bad-token
expect_refused garbage "not a cairn sync handshake" malformed 1 garbage
expect_refused oversize "cannot read an encrypted message \\(too large\\)" malformed 2 oversize --key "$dir/evil"
expect_refused lying-length "malformed sync message" malformed 3 lying-length "${evil[@]}"
for re in "malformed record" "cannot read an encrypted message"; do
  grep -q "$re" "$dir/since" && ok || bad "lying-length: no '$re' in the central's log"
done
expect_refused out-of-turn "HELLO out of turn" out_of_turn 1 out-of-turn "${evil[@]}"

# --- entry attacks: each is refused and nothing of it is applied
expect_refused forged-signature "refused: .*signature does not verify" batches_refused 1 forged-signature "${evil[@]}" --student x-forged
expect_refused broken-chain "refused: .*prev does not match" batches_refused 1 broken-chain "${evil[@]}" --student x-chain
expect_refused gap "refused: .*seq does not follow" batches_refused 1 gap "${evil[@]}" --student x-gap
expect_refused other-author "refused: author ${a1_key:0:8}.*signature does not verify" batches_refused 1 other-author "${evil[@]}" --student x-other --other "$a1_key"
expect_refused unenrolled-author "entries refused .*not an enrolled device" entries_refused 1 unenrolled-author "${evil[@]}" --student x-unenrolled
expect_refused out-of-scope "quarantined.*outside the author's" entries_quarantined 1 out-of-scope "${evil[@]}" --student x-scope
# a replayed old batch is not refused: its entries are already held, so it
# applies nothing and is counted as that
expect_refused replay "already held, skipped" entries_already_held out replay "${evil[@]}"
[ "$(cat "$dir/hostile.out")" -gt 0 ] 2>/dev/null && ok || bad "replay: hostile replayed no entries"
C central export >"$dir/after"
for id in x-forged x-chain x-gap x-other x-unenrolled x-scope; do
  grep -q "\"$id\"" "$dir/after" && bad "the central holds $id from a refused attack" || ok
done
cmp -s "$dir/before" "$dir/after" && ok || bad "the central's export changed during the attacks"
C central check >"$dir/out" 2>&1 && ok || bad "cairn check on the central: $(head -3 "$dir/out")"

# --- control: the same client with an honest entry is accepted, so the
# refusals above come from the checks, not from a broken client; it counts
# nothing
counters >"$dir/counts.before"
H valid "${evil[@]}" --student x-valid
rc=$?
[ $rc -eq 1 ] && ok || bad "control: an honest entry from hostile was not accepted (exit $rc)"
C central export >"$dir/valid"
grep -q '"x-valid"' "$dir/valid" && ok || bad "control: x-valid is not at the central"
counters >"$dir/counts.after"
expect_counted "control" "$dir/counts.before" "$dir/counts.after" - 0

# --- an entry dated at the end of time (HLC 2^64 - 1) from an enrolled
# device: the central keeps it but not its date (it orders it at its
# arrival with a restamp record), counts it, and its clock does not move
expect_refused future "ahead of this node's clock, ordered at their arrival" entries_clock_ahead 1 \
  future "${evil[@]}" --student x-future
C central show x-future --json >"$dir/future.json"
now_ms=$(($(date +%s) * 1000))
hlc_ms=$(jq '.record.history[0].hlc / 65536 | floor' "$dir/future.json")
[ -n "$hlc_ms" ] && [ "$hlc_ms" -le $((now_ms + 600000)) ] && ok ||
  bad "future: the central orders it at $hlc_ms ms, not at its arrival ($now_ms)"
C central check >"$dir/out" 2>&1 && ok || bad "future: central check: $(cat "$dir/out")"
C central student add --id x-after --name "After" >/dev/null
C central show x-after --json >"$dir/after.json"
hlc_ms=$(jq '.record.history[0].hlc / 65536 | floor' "$dir/after.json")
[ "$hlc_ms" -le $((now_ms + 600000)) ] && ok || bad "future: the central's clock moved to $hlc_ms"

# --- revocation: the live link of a revoked device is dropped, and the
# device is refused at the handshake from then on
m=$(mark)
counters >"$dir/counts.before"
C central revoke "$gone_key" >/dev/null && ok || bad "revoke gone"
for i in $(seq 20); do
  log_since "$m" >"$dir/since"
  grep -q "device revoked (counted as revoked_dropped)" "$dir/since" && break
  sleep 0.25
done
stop gone
grep -q "device revoked (counted as revoked_dropped)" "$dir/since" && ok ||
  bad "revoke: the central's log does not show gone's live link dropped"
counters >"$dir/counts.after"
[ "$(delta revoked_dropped)" -eq 1 ] && ok ||
  bad "revoke: revoked_dropped went up by $(delta revoked_dropped), not 1"
sleep 0.5
expect_refused revoked-device "has been revoked" handshake_refused 1 revoked-device --key "$dir/gone"

# --- 1,000 half-open connections from one address, and a slowloris from
# another, at once: the first 32 (handshakes_per_address) are held until
# the handshake deadline, the rest are closed at once (told "busy"); every
# one is counted, and the honest classroom (a third address) keeps syncing
m=$(mark)
counters >"$dir/counts.before"
H half-open 1000 --hold 12 --from 127.0.0.2 &
hp=$!
H slowloris --from 127.0.0.3 &
sp=$!
sleep 1
"$loadgen" "$dir/a1" "$m_a1" 50 >"$dir/acked.half" || bad "loadgen during half-open and slowloris"
synced a1 20 && ok || bad "a1 syncs during 1000 half-open connections and slowloris"
wait $sp; rc=$?
[ $rc -eq 0 ] && ok || bad "slowloris: hostile exit $rc (still open after 15 s)"
wait $hp; rc=$?
[ $rc -eq 0 ] && ok || bad "half-open: hostile exit $rc (1: a connection outlived the deadline)"
synced a1 20 && ok || bad "a1 syncs after 1000 half-open connections"
kill -0 "${pid[central]}" 2>/dev/null && ok || bad "the central died under half-open connections"
log_since "$m" >"$dir/since" # (a file: grep -q on a pipe would stop tail early)
grep -q "handshake timed out (counted as handshake_timeouts)" "$dir/since" && ok ||
  bad "slowloris: no 'handshake timed out' in the log"
opened=$(sed -n 's/^hostile half-open: \([0-9]*\) of .*/\1/p' "$dir/hostile.log" | tail -1)
counters >"$dir/counts.after"
expect_counted "half-open and slowloris" "$dir/counts.before" "$dir/counts.after" \
  handshake_timeouts 33 connections_refused $((${opened:-0} - 32))
log_since "$m" | grep -c "counted as connections_refused" >"$dir/n" || true
[ "$(cat "$dir/n")" -le 12 ] && ok || bad "968 refused connections wrote $(cat "$dir/n") log lines"

# every honest entry acknowledged to a1 is at the central
sleep 1
C central export >"$dir/final"
missing=0
for f in "$dir"/acked.*; do
  while read -r id; do grep -q "\"$id\"" "$dir/final" || missing=$((missing + 1)); done <"$f"
done
[ $missing -eq 0 ] && ok || bad "$missing honest entries are missing at the central"

# --- the counts in human form, and in the docs
C central sync status >"$dir/status.txt" 2>&1
grep -q "^refused since cairnd started" "$dir/status.txt" && ok ||
  bad "sync status shows no refusals block: $(cat "$dir/status.txt")"
grep -qE "^  batches_refused +4  " "$dir/status.txt" && ok ||
  bad "sync status does not show 4 refused batches: $(cat "$dir/status.txt")"
docs=$(dirname "$0")/../../docs/PROTOCOL.md
while read -r n _; do
  grep -q "\`$n\`" "$docs" && ok || bad "docs/PROTOCOL.md does not describe the counter $n"
done <"$dir/counts.after"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
