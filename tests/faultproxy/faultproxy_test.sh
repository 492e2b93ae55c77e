#!/usr/bin/env bash
# shellcheck disable=SC2015 # in "A && ok || bad", ok always succeeds
# Test of faultproxy against the tcpecho peer, on loopback only: bytes pass
# unchanged, each fault does what a user of the link would notice, the control
# commands work, and the proxy exits cleanly (sanitizer-clean) every time.
# usage: faultproxy_test.sh FAULTPROXY TCPECHO
set -uo pipefail
proxy=$1
tcpecho=$2
dir=$(mktemp -d /tmp/cairn-faultproxy-XXXXXX)
pass=0
fail=0
peer_pid=
proxy_pid=
n=0 # numbers the peers and proxies, so each has its own files

cleanup() {
  exec 3>&- 4>&- 2>/dev/null
  [ -n "$proxy_pid" ] && kill -TERM "$proxy_pid" 2>/dev/null
  [ -n "$peer_pid" ] && kill -TERM "$peer_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# give_up REASON: a set-up step failed; later checks would only add noise.
give_up() {
  bad "$1"
  echo "$pass passed, $fail failed"
  exit 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for FILE REGEX: waits up to 5 s for a line matching REGEX in FILE.
wait_for() {
  for _ in $(seq 100); do
    grep -Eq "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# start_peer echo|sink: sets peer_port and peer_out.
start_peer() {
  if [ -n "$peer_pid" ]; then kill -TERM "$peer_pid"; wait "$peer_pid" 2>/dev/null; fi
  n=$((n + 1))
  peer_out=$dir/peer.$n.out
  "$tcpecho" serve "$1" >"$peer_out" 2>"$dir/peer.$n.err" &
  peer_pid=$!
  wait_for "$peer_out" '^listening ' || give_up "peer did not start: $(cat "$dir/peer.$n.err")"
  peer_port=$(sed -n 's/^listening 127\.0\.0\.1://p' "$peer_out")
}

# start_proxy [OPTIONS...]: proxy to the peer, control commands on fd 3;
# sets proxy_port and proxy_out.
start_proxy() {
  n=$((n + 1))
  proxy_out=$dir/proxy.$n.out
  proxy_err=$dir/proxy.$n.err
  mkfifo "$dir/ctl.$n"
  "$proxy" --listen 127.0.0.1:0 --connect "127.0.0.1:$peer_port" "$@" \
    <"$dir/ctl.$n" >"$proxy_out" 2>"$proxy_err" &
  proxy_pid=$!
  exec 3>"$dir/ctl.$n"
  wait_for "$proxy_out" '^listening ' || give_up "proxy did not start: $(cat "$proxy_err")"
  proxy_port=$(sed -n 's/^listening 127\.0\.0\.1://p' "$proxy_out")
}

# control LINE REPLY_REGEX: sends a control command, waits for its reply.
control() {
  echo "$1" >&3
  wait_for "$proxy_out" "$2"
}

# stop_proxy: quit must end the proxy with status 0 and no sanitizer report.
stop_proxy() {
  echo quit >&3
  exec 3>&-
  wait "$proxy_pid"
  local rc=$?
  proxy_pid=
  if [ $rc -eq 0 ] && ! grep -Eq 'Sanitizer|runtime error' "$proxy_err"; then
    ok "proxy $n quits cleanly"
  else
    bad "proxy $n exit $rc: $(cat "$proxy_err")"
  fi
}

client() { "$tcpecho" client "127.0.0.1:$proxy_port"; }

# --- no faults: 1 MiB passes unchanged, and stats counts it
start_peer echo
start_proxy
head -c 1048576 /dev/urandom >"$dir/in"
client <"$dir/in" >"$dir/out"
[ "$(cksum <"$dir/in")" = "$(cksum <"$dir/out")" ] && ok "1 MiB echoed unchanged" \
  || bad "1 MiB echo differs: $(wc -c <"$dir/out") bytes back"
control stats '^stats ' \
  && grep -q '^stats conns=1 cut=0 up=1048576 down=1048576 ' "$proxy_out" \
  && ok "stats counts the connection and bytes" || bad "stats: $(grep '^stats' "$proxy_out")"
grep -q '^seed [0-9]' "$proxy_out" && ok "seed printed" || bad "no seed line"

# --- pause freezes an open connection; resume lets the data through
mkfifo "$dir/cin"
client <"$dir/cin" >"$dir/cout" 2>/dev/null &
cpid=$!
exec 4>"$dir/cin"
printf one >&4
wait_for "$dir/cout" '^one$' && ok "data passes before pause" || bad "no echo before pause"
control pause '^ok pause' || bad "no reply to pause"
printf two >&4
sleep 0.5
[ "$(cat "$dir/cout")" = one ] && ok "pause stops data" || bad "data passed while paused: $(cat "$dir/cout")"
control resume '^ok resume' || bad "no reply to resume"
wait_for "$dir/cout" '^onetwo$' && ok "resume lets data through" || bad "after resume: $(cat "$dir/cout")"

# --- cut resets live connections now
control cut '^ok cut 1$' && ok "cut reports one connection" || bad "cut: $(grep '^ok cut' "$proxy_out")"
for _ in $(seq 40); do kill -0 $cpid 2>/dev/null || break; sleep 0.05; done
if wait $cpid; then bad "cut client exited 0"; else ok "cut client sees a reset"; fi
exec 4>&-
control stats '^stats .*cut=1 ' && ok "stats counts the cut" || bad "stats after cut: $(grep '^stats' "$proxy_out")"
echo "set drop 2" >&3
wait_for "$proxy_out" '^error: set drop' && ok "set refuses a bad probability" || bad "set drop 2 accepted"
stop_proxy

# --- delay: 300 ms each way, so a round trip takes >= 600 ms; set delay 0 undoes it
start_proxy --delay 300
t0=$(now_ms); printf x | client >/dev/null; t1=$(now_ms)
[ $((t1 - t0)) -ge 600 ] && ok "delay 300: round trip $((t1 - t0)) ms" || bad "delay 300: round trip $((t1 - t0)) ms"
control "set delay 0" '^ok set delay 0$' || bad "set delay"
t0=$(now_ms); printf x | client >/dev/null; t1=$(now_ms)
[ $((t1 - t0)) -lt 300 ] && ok "set delay 0: round trip $((t1 - t0)) ms" || bad "set delay 0: round trip $((t1 - t0)) ms"
stop_proxy

# --- drop: every chunk stalls 200-2000 ms; same seed, same choices
start_proxy --drop 1 --seed 42
grep -q '^seed 42$' "$proxy_out" && ok "--seed printed" || bad "seed line: $(head -1 "$proxy_out")"
t0=$(now_ms); printf x | client >"$dir/out"; t1=$(now_ms)
[ $((t1 - t0)) -ge 400 ] && [ "$(cat "$dir/out")" = x ] && ok "drop 1: round trip $((t1 - t0)) ms, data intact" \
  || bad "drop 1: round trip $((t1 - t0)) ms, got '$(cat "$dir/out")'"
stop_proxy

# --- cut-every resets an idle connection
start_proxy --cut-every 300
client <"$dir/cin" >/dev/null 2>&1 &
cpid=$!
exec 4>"$dir/cin" # held open: the client stays idle until cut
t0=$(now_ms)
for _ in $(seq 40); do kill -0 $cpid 2>/dev/null || break; sleep 0.05; done
t1=$(now_ms)
if kill -0 $cpid 2>/dev/null; then
  bad "cut-every 300: connection still open after 2 s"; kill $cpid
else
  ok "cut-every 300: connection cut after $((t1 - t0)) ms"
fi
wait $cpid 2>/dev/null
exec 4>&-
stop_proxy

# --- rate: 16 KB at 8000 B/s takes >= 1.5 s and arrives whole
start_peer sink
start_proxy --rate 8000
t0=$(now_ms); head -c 16384 /dev/zero | client; t1=$(now_ms)
[ $((t1 - t0)) -ge 1500 ] && ok "rate 8000: 16 KB in $((t1 - t0)) ms" || bad "rate 8000: 16 KB in $((t1 - t0)) ms"
wait_for "$peer_out" '^received ' && grep -q '^received 16384 eof$' "$peer_out" \
  && ok "rate: sink got all 16384 bytes" || bad "rate: sink $(grep received "$peer_out")"
stop_proxy

# --- cut-after: a 10 KB transfer is cut at 1000 bytes, mid-stream
start_peer sink
start_proxy --cut-after 1000
head -c 10240 /dev/zero | client 2>/dev/null
rc=$?
wait_for "$peer_out" '^received '
got=$(sed -n 's/^received \([0-9]*\) .*/\1/p' "$peer_out")
[ -n "$got" ] && [ "$got" -le 1000 ] && [ $rc -ne 0 ] && ok "cut-after 1000: sink got $got bytes, client reset" \
  || bad "cut-after 1000: sink got '$got' bytes, client exit $rc"
control stats '^stats ' && grep -q '^stats conns=1 cut=1 ' "$proxy_out" \
  && ok "stats counts the cut-after" || bad "stats: $(grep '^stats' "$proxy_out")"
stop_proxy

# --- SIGTERM ends the proxy cleanly
start_proxy
kill -TERM "$proxy_pid"
wait "$proxy_pid"
rc=$?
proxy_pid=
exec 3>&-
[ $rc -eq 0 ] && ! grep -Eq 'Sanitizer|runtime error' "$proxy_err" && ok "SIGTERM exits 0" \
  || bad "SIGTERM: exit $rc $(cat "$proxy_err")"

# --- only loopback is allowed
for args in "--listen 10.1.2.3:0 --connect 127.0.0.1:1" "--listen 127.0.0.1:0 --connect example.com:80" \
  "--listen 0.0.0.0:0 --connect 127.0.0.1:1"; do
  # shellcheck disable=SC2086 # the words are the arguments
  if "$proxy" $args >/dev/null 2>"$dir/err" </dev/null; then
    bad "accepted $args"
  elif grep -q "only 127.0.0.1 or localhost" "$dir/err"; then
    ok "refused $args"
  else
    bad "refused $args without a clear reason: $(cat "$dir/err")"
  fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
