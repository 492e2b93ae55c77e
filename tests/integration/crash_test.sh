#!/usr/bin/env bash
# Crash test: a seeded loop kills cairnd with kill -9 at random moments
# during heavy writes (the classroom is killed while a loadgen writes to it)
# and during sync (the central is killed while the classroom pushes to it).
# After each kill: `cairnd --check` on the killed node's data exits 0 (the
# store opens, every chain links and verifies, the records equal a rebuild
# from the log), and the node restarts. Every 10 rounds and at the end: after
# `cairn sync now` and pending_out 0, every entry ever acknowledged to a
# writer is in the classroom's export and in the central's export. At the
# end `cairn check` passes on both and both stop cleanly on SIGTERM.
#
# Reproducing: the seed is printed first ("seed: N"); CAIRN_SEED=N replays
# the same choices (which node, how many writes, how long before the kill).
# Timing is not reproduced. CAIRN_CRASH_ROUNDS=N changes the number of kills
# (default 50); CAIRN_KEEP_TEST_DIR=1 keeps the directory.
# usage: crash_test.sh CAIRN CAIRND LOADGEN
set -uo pipefail
cairn=$1
cairnd=$2
loadgen=$3
seed=${CAIRN_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000000))}
echo "seed: $seed"
# The port comes from the unseeded RANDOM (two runs of one seed at once do
# not collide), below the kernel's ephemeral range so that the restarted
# central does not find its port taken by an outgoing connection.
eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$eph" -gt 21000 ] 2>/dev/null || eph=32768
[ "$eph" -gt 32000 ] && eph=32000
pc=$((20000 + RANDOM % (eph - 20000 - 10)))
RANDOM=$seed
rounds=${CAIRN_CRASH_ROUNDS:-50}
dir=$(mktemp -d /tmp/cairn-crash-XXXXXX)
pass=0
fail=0
t0=$SECONDS
declare -A pid
lg=

cleanup() {
  [ -n "$lg" ] && kill -TERM "$lg" 2>/dev/null
  for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null; done
  wait 2>/dev/null
  if [ $fail -ne 0 ]; then
    echo "seed: $seed (CAIRN_SEED=$seed reproduces the choices)"
    for f in "$dir"/*.log; do echo "--- $f"; tail -25 "$f"; done
  fi
  if [ -n "${CAIRN_KEEP_TEST_DIR:-}" ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
C() { local n=$1; shift; "$cairn" --data "$dir/$n" "$@"; }

start() { # start NODE: waits until it answers (a stale socket after kill -9
  # does not count as started)
  echo "=== start (round ${round:-0})" >>"$dir/$1.log"
  "$cairnd" --data "$dir/$1" 2>>"$dir/$1.log" &
  pid[$1]=$!
  for _ in $(seq 300); do
    C "$1" ping >/dev/null 2>&1 && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || break
    sleep 0.05
  done
  bad "cairnd $1 did not start (round ${round:-0})"; return 1
}
stop() { # stop NODE: SIGTERM; a clean stop exits 0 (ASan/LSan reports fail it)
  kill -TERM "${pid[$1]}"; wait "${pid[$1]}"; local rc=$?; unset "pid[$1]"; return $rc
}
crash() { kill -9 "${pid[$1]}"; wait "${pid[$1]}" 2>/dev/null; unset "pid[$1]"; }
new_id() { sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'; }

# Ids in the acked file that are not in NODE's export; prints the count.
missing_at() { # missing_at NODE
  C "$1" export >"$dir/$1.export" 2>"$dir/err" || { echo "export failed: $(cat "$dir/err")"; return; }
  grep -o '"id":"[^"]*"' "$dir/$1.export" | cut -d'"' -f4 | sort -u >"$dir/$1.ids"
  sort -u "$dir/acked" | comm -23 - "$dir/$1.ids" >"$dir/$1.missing"
  wc -l <"$dir/$1.missing"
}

# sync now, wait for pending_out 0 (up to 30 s), then every acked id must be
# at the classroom and at the central
verify_synced() { # verify_synced WHEN
  local i st=
  C room sync now --no-wait >/dev/null 2>&1
  for i in $(seq 60); do
    st=$(C room sync status --json 2>&1)
    grep -q '"pending_out": 0[,}[:space:]]' <<<"$st" && break
    [ $((i % 10)) -eq 0 ] && C room sync now --no-wait >/dev/null 2>&1
    sleep 0.5
  done
  grep -q '"pending_out": 0[,}[:space:]]' <<<"$st" && ok ||
    bad "$1: pending_out is not 0 after 30 s: $(tr -d '\n' <<<"$st" | head -c 600)"
  local total m
  total=$(sort -u "$dir/acked" | wc -l)
  for n in room central; do
    m=$(missing_at $n)
    [ "$m" = 0 ] && ok ||
      bad "$1: $m of $total acknowledged entries missing at $n (first: $(head -3 "$dir/$n.missing" | tr '\n' ' '))"
  done
  echo "$1: $total acknowledged entries, at the classroom and the central ($((SECONDS - t0)) s)"
}

# --- a central and one classroom, enrolled and joined
C central init --role central --listen 127.0.0.1:$pc --name "district office" >/dev/null ||
  bad "central init"
start central || exit 1
C room init --campus north --classroom room-1 >/dev/null || bad "classroom init"
start room || exit 1
tok=$(C central enroll --campus north --classroom room-1 2>"$dir/err")
[[ $tok == cairn1.* ]] && ok || bad "enroll prints a token: $tok $(cat "$dir/err")"
C room join "$tok" >"$dir/out" 2>&1 && ok || bad "room join: $(cat "$dir/out")"
C room student add --id s1 --name "Student One" --grade 6 >/dev/null || bad "student add"
m=$(C room milestone add --student s1 --type academic --statement "I will write a clear claim." \
  --scale 0-4 --baseline 1.5 --target 3 --rule "4 of 5" --start 2026-10-05 --end 2026-11-16 \
  --json | new_id)
[ -n "$m" ] && ok || bad "milestone add"
: >"$dir/acked"
[ $fail -eq 0 ] || exit 1

# --- the loop
kills_room=0
kills_central=0
for round in $(seq "$rounds"); do
  n=$((200 + RANDOM % 1801))
  delay=$((RANDOM % 301))
  if [ $((RANDOM % 2)) -eq 0 ]; then victim=room; else victim=central; fi
  "$loadgen" "$dir/room" "$m" "$n" >"$dir/acked.round" 2>>"$dir/loadgen.log" &
  lg=$!
  sleep "$(printf '0.%03d' "$delay")"
  crash $victim
  if [ $victim = room ]; then kills_room=$((kills_room + 1)); else kills_central=$((kills_central + 1)); fi
  wait $lg; lgrc=$?; lg=
  # loadgen fails when its daemon dies; the ids it printed are exactly the
  # acknowledged ones. It must not fail when only the central died.
  [ $victim = room ] || [ $lgrc -eq 0 ] && ok ||
    bad "round $round: loadgen failed ($lgrc) though only the central was killed"
  cat "$dir/acked.round" >>"$dir/acked"
  if "$cairnd" --check --data "$dir/$victim" >"$dir/check.out" 2>&1; then
    ok
  else
    bad "round $round: cairnd --check on $victim after kill -9 ($n writes, ${delay} ms):"
    head -10 "$dir/check.out"
    cp -a "$dir/$victim" "$dir/$victim.broken.$round" 2>/dev/null
  fi
  start $victim || break
  if [ $((round % 10)) -eq 0 ] && [ "$round" -ne "$rounds" ]; then
    verify_synced "round $round"
  fi
done
echo "$round rounds: classroom killed $kills_room times, central $kills_central times"

# --- the end: everything acknowledged is everywhere, both check clean
verify_synced "end"
for n in room central; do
  C $n check >"$dir/out" 2>&1 && ok || bad "cairn check on $n: $(head -5 "$dir/out")"
done
for n in room central; do
  stop $n && ok || bad "$n did not stop cleanly on SIGTERM (see $n.log)"
done

echo "$pass passed, $fail failed ($((SECONDS - t0)) s)"
[ $fail -eq 0 ]
