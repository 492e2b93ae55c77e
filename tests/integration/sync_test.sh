#!/usr/bin/env bash
# Sync integration test: real cairnd processes on loopback.
#   central; a hub for campus north; classrooms a1 (north/room-1, through the
#   hub), a2 (north/room-2, straight to the central through a fault proxy
#   that cuts the link every few hundred ms) and b1 (south/room-9).
# It checks enrollment, writes made while the central is down, a
# concurrent edit on two devices, kill -9 during a sync, a revoked device,
# an out-of-scope write, and after healing: every node's export equals the
# central's export of the same scope, byte for byte, and every entry ever
# acknowledged to a writer is at the central.
# usage: sync_test.sh CAIRN CAIRND FAULTPROXY LOADGEN
set -uo pipefail
cairn=$1
cairnd=$2
proxy=$3
loadgen=$4
dir=$(mktemp -d /tmp/cairn-sync-XXXXXX)
base=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
pc=$base        # central
ph=$((base + 1)) # hub
. "$(dirname "$0")/nodes.sh"
milestone() { # milestone NODE STUDENT -> id
  C "$1" milestone add --student "$2" --type academic --statement "I will write a clear claim." \
    --scale 0-4 --baseline 1.5 --target 3 --rule "4 of 5" --start 2026-10-05 --end 2026-11-16 \
    --json | new_id
}

# --- the central and its network
C central init --role central --listen 127.0.0.1:$pc --name "district office" >/dev/null ||
  bad "central init"
grep -q "^network = [0-9a-f]\{64\}$" "$dir/central/cairn.conf" && ok || bad "central has a network id"
start central

# --- a hub for campus north
C hub init --role hub --campus north --listen 127.0.0.1:$ph --name "north hub" >/dev/null
start hub
tok=$(C central enroll --campus north --role hub 2>/dev/null)
[[ $tok == cairn1.* ]] && ok || bad "enroll prints a token: $tok"
C hub join "$tok" >"$dir/out" 2>&1 && ok || bad "hub join: $(cat "$dir/out")"
hubtok=$tok
# a join is idempotent for its device: asking again gets the same answer
C hub join "$tok" >"$dir/out" 2>&1 && ok || bad "the hub's second join: $(cat "$dir/out")"

# --- classrooms
C a1 init --campus north --classroom room-1 >/dev/null && start a1
C a2 init --campus north --classroom room-2 >/dev/null && start a2
C b1 init --campus south --classroom room-9 >/dev/null
# b1's clock runs five hours behind (test-only setting): HLC order still holds
sed -i 's/^clock_offset_ms = .*/clock_offset_ms = -18000000/' "$dir/b1/cairn.conf"
start b1
C a1 join "$hubtok" >"$dir/out" 2>&1 && bad "a token works for a second device" || ok
grep -q "token already used" "$dir/out" && ok || bad "says the token is used: $(cat "$dir/out")"
tok=$(C central enroll --campus north --classroom room-1)
C a1 join "$tok" --upstream 127.0.0.1:$ph >"$dir/out" 2>&1 && ok || bad "a1 join: $(cat "$dir/out")"
# a2 reaches the central only through the fault proxy: cut every 700 ms
"$proxy" --listen 127.0.0.1:0 --connect 127.0.0.1:$pc --cut-every 700 --delay 5 --seed 7 \
  </dev/null >"$dir/proxy.out" 2>"$dir/proxy.log" &
extra_pids=$!
for _ in $(seq 100); do grep -q '^listening' "$dir/proxy.out" && break; sleep 0.05; done
pp=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/proxy.out")
tok=$(C central enroll --campus north --classroom room-2)
C a2 join "$tok" >"$dir/out" 2>&1 && ok || bad "a2 join: $(cat "$dir/out")"
sed -i "s/^upstream = .*/upstream = 127.0.0.1:$pp/" "$dir/a2/cairn.conf"
stop a2 && start a2
tok=$(C central enroll --campus south --classroom room-9)
C b1 join "$tok" >"$dir/out" 2>&1 && ok || bad "b1 join: $(cat "$dir/out")"
C central devices >"$dir/out" 2>&1
[ "$(grep -c -E 'hub|classroom' "$dir/out")" -ge 4 ] && ok || bad "devices lists 4: $(cat "$dir/out")"

# --- records on every classroom
for n in a1 a2 b1; do
  C "$n" student add --id "s-$n" --name "Student of $n" --grade 6 >/dev/null || bad "$n student"
done
m_a1=$(milestone a1 s-a1)
m_a2=$(milestone a2 s-a2)
m_b1=$(milestone b1 s-b1)
"$loadgen" "$dir/a1" "$m_a1" 300 >"$dir/acked.a1" || bad "loadgen a1"
"$loadgen" "$dir/a2" "$m_a2" 300 >"$dir/acked.a2" || bad "loadgen a2"

# a classroom may not write outside its scope
C a1 student add --id intruder --name "X" --campus south >/dev/null 2>"$dir/err" &&
  bad "a1 wrote a student of campus south" || ok
grep -q "scope" "$dir/err" && ok || bad "out-of-scope refusal names the scope: $(cat "$dir/err")"

converge a1 north/room-1 && ok || bad "a1 converges"
converge a2 north/room-2 && ok || bad "a2 converges through a link cut every 700 ms"
converge b1 south/room-9 && ok || bad "b1 converges"
converge hub north && ok || bad "the hub holds campus north"
grep -q "s-b1" "$dir/a1.export" && bad "campus south reached a1" || ok
grep -q "s-a2" "$dir/a1.export" && bad "room-2 reached room-1" || ok

# --- what is left counts only what will travel: b1 (south) never receives
# campus north's entries, so once in step nothing is left to receive, after
# a restart too; and `sync now` returns, exit 0, once the link is idle
stop b1 && start b1
timeout 60 "$cairn" --data "$dir/b1" sync now >"$dir/out" 2>"$dir/err" && ok ||
  bad "b1 sync now did not end in step: $(cat "$dir/err")"
grep -q "in step" "$dir/err" && ok || bad "sync now says it is in step: $(cat "$dir/err")"
C b1 sync status --json >"$dir/b1.status"
grep -q '"pending_in": *0[,}]' "$dir/b1.status" && ok ||
  bad "b1 has entries to receive it will never get: $(cat "$dir/b1.status")"

# the central records when b1 was last seen (written within a second or
# two of its HELLO, with every other link's in one commit)
seen_b1() { C central devices --json | jq -r '.devices[] | select(.classroom == "room-9") | .last_seen'; }
for _ in $(seq 50); do
  case $(seen_b1) in [0-9]*) break ;; esac
  sleep 0.2
done
now=$(date +%s)
s=$(seen_b1)
case $s in
[0-9]*) [ $((now - s)) -ge 0 ] && [ $((now - s)) -lt 120 ] && ok || bad "b1 last seen at $s, now $now" ;;
*) bad "the central never recorded b1 as seen: $(C central devices --json)" ;;
esac

# --- offline: the central is down; classrooms keep writing
stop central
"$loadgen" "$dir/b1" "$m_b1" 200 >"$dir/acked.b1" || bad "b1 writes while the central is down"
C a1 evidence add "$m_a1" 3 >/dev/null || bad "a1 writes offline"
start central
C b1 sync now --no-wait >/dev/null 2>&1
C hub sync now --no-wait >/dev/null 2>&1
converge b1 south/room-9 && ok || bad "b1 converges after the central returns"
converge a1 north/room-1 && ok || bad "a1 converges after the central returns"

# --- a concurrent edit on two devices: same winner everywhere, loser kept.
# b1 is kept off the network (its upstream pointed at a closed port) while
# both edit, so neither has seen the other's edit.
stop b1
up=$(sed -n 's/^upstream = //p' "$dir/b1/cairn.conf")
sed -i "s/^upstream = .*/upstream = 127.0.0.1:1/" "$dir/b1/cairn.conf"
start b1
C central milestone set "$m_b1" --statement "central's wording" --reason "office" >/dev/null ||
  bad "central edits"
C b1 milestone set "$m_b1" --statement "teacher's wording" --reason "class" >/dev/null ||
  bad "b1 edits"
# with its upstream out of reach, sync now fails at once and says why
timeout 30 "$cairn" --data "$dir/b1" sync now >/dev/null 2>"$dir/err" &&
  bad "sync now succeeded with the upstream out of reach" || ok
grep -q "did not complete" "$dir/err" && ok || bad "sync now says why: $(cat "$dir/err")"
stop b1
sed -i "s/^upstream = .*/upstream = $up/" "$dir/b1/cairn.conf"
start b1
converge b1 south/room-9 && ok || bad "b1 converges after concurrent edits"
C central conflicts --json >"$dir/conflicts"
C b1 conflicts --json >"$dir/conflicts.b1"
grep -q "statement" "$dir/conflicts" && ok || bad "the concurrent edit is listed as a conflict"
# the winner is the later HLC: the central's, though b1 edited later in real
# time, because b1's clock is five hours behind and it had not yet seen it
grep -q "\"value\": \"central's wording\"" "$dir/conflicts.b1" && ok ||
  bad "the winner by HLC is the central's: $(cat "$dir/conflicts.b1")"
cmp -s "$dir/conflicts" "$dir/conflicts.b1" && ok || bad "both sides list the same conflict"

# --- kill -9 during a sync: nothing acknowledged is lost
"$loadgen" "$dir/b1" "$m_b1" 1500 >>"$dir/acked.b1" &
lg=$!
sleep 0.3
kill -9 "${pid[central]}"; wait "${pid[central]}" 2>/dev/null; unset "pid[central]"
wait $lg || bad "b1's loadgen"
start central
C b1 sync now --no-wait >/dev/null 2>&1
converge b1 south/room-9 && ok || bad "b1 converges after the central was killed mid-sync"

# --- every entry ever acknowledged is at the central
C central export >"$dir/central.all"
missing=0
for f in "$dir"/acked.*; do
  while read -r id; do grep -q "\"$id\"" "$dir/central.all" || missing=$((missing + 1)); done <"$f"
done
[ $missing -eq 0 ] && ok || bad "$missing acknowledged entries are missing at the central"

# --- a classroom holds only the chains that touch its scope: of a2's 300
# and b1's 1,700 entries (other classrooms) a1 received none, not even
# redacted; what it did receive is the central's and the hub's few
got=$(C a1 sync status --json | grep -o '"received": *[0-9]*' | head -1 | grep -o '[0-9]*$')
[ -n "$got" ] && [ "$got" -lt 100 ] && ok ||
  bad "a1 received ${got:-?} entries: other classrooms' chains reach it"

# --- receipts and status: straight from the central (b1), relayed by the hub (a1)
for n in b1 a1; do
  C "$n" sync status --json >"$dir/status"
  grep -q '"receipt"' "$dir/status" && grep -q '"seq"' "$dir/status" && ok ||
    bad "$n's sync status shows the central's receipt: $(cat "$dir/status")"
done

# --- revocation: the revoked device is refused; what it wrote stays
dev_b1=$(C b1 ping --json | sed -n 's/.*"device": *"\([0-9a-f]*\)".*/\1/p')
C central revoke "$dev_b1" >/dev/null && ok || bad "revoke"
C b1 evidence add "$m_b1" 2 >/dev/null
C b1 sync now --no-wait >/dev/null 2>&1
sleep 2
C b1 sync status >"$dir/status" 2>&1
grep -qi "revoked" "$dir/status" && ok || bad "b1 sees it was refused: $(cat "$dir/status")"
C central export >"$dir/central.revoked"
grep -q '"s-b1"' "$dir/central.revoked" && ok || bad "b1's earlier records stay at the central"

# --- every node's data verifies
for n in central hub a1 a2 b1; do
  C "$n" check >"$dir/out" 2>&1 && ok || bad "cairn check on $n: $(head -3 "$dir/out")"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
