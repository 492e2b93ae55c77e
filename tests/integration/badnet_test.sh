#!/usr/bin/env bash
# Bad-network integration test: a real central and two real
# classrooms; each case moves one classroom's backlog under one fault, then
# heals it. Every case must converge, and no sync may start again from zero
# after a drop.
#
# Topology: two network namespaces made by this test, joined by a veth pair
# (10.77.0.1 <-> 10.77.0.2); no rule or address is added to the host's.
#   ns C: the central (listens on 0.0.0.0:7420, advertises 10.77.0.1:7420),
#         a faultproxy (127.0.0.1:P -> 127.0.0.1:7420), classroom k2
#         (north/room-2, upstream 127.0.0.1:P: through the proxy)
#   ns K: classroom k1 (north/room-1, upstream 10.77.0.1:7420: over the veth;
#         the nft rules and the tc shaping of the nft cases live in ns K)
# The CLI runs in the host namespace: cairnd.sock is a file.
#
# Each case: the classroom writes a backlog with loadgen while it cannot
# reach the central (upstream 127.0.0.1:1), the fault is set, the classroom
# is restarted (so its counters count this case alone), and the case waits
# until the central's receipt covers the classroom's head; then the fault
# is removed and the exports are compared (nodes.sh converge).
#   loss       k1, 10,000 entries, 30% of packets dropped at random in each
#              direction (nft numgen), BADNET_RUNS times. A retransmission
#              and its ACK both get through 49% of the time and each failure
#              doubles TCP's wait, so the kernel's 200 ms rto_min makes TCP
#              itself crawl; rto_min 10ms and quickack on both routes (the
#              RTT is 0.1 ms) keep it moving. cairnd's own linear timeouts
#              and 2 s cap on one retransmission's wait (PROTOCOL.md) keep
#              a run of lost retransmissions from parking the link for
#              minutes: without them a run took 65-300+ s and its link
#              broke 2-3 times; with them 58-75 s and none. Each run must
#              deliver within 300 s. (The kernel's numgen random cannot be
#              seeded: runs differ by its draws.)
#   latency    k2, 12,000 entries (3 batches), 2 s each way (faultproxy
#              --delay 2000): a 4 s round trip.
#   64kbit     k2, 800 entries (one batch; about 27 s), faultproxy --rate 8000.
#   partition  k1, 12,000 entries, the link shaped to 4 Mbit/s (tc tbf) so a
#              batch takes seconds; once the central holds at least one batch
#              but not all, nft drops every packet of the sync port until the
#              classroom's link breaks by itself (TCP_USER_TIMEOUT, 30 s);
#              then it is healed.
#   cuts       k2, 30,000 entries, proxy at 1 MB/s; the link is reset every
#              2.5 s by the proxy's `cut` command (not --cut-every, so that
#              the counters are read between a cut and the reconnect: the
#              proxy accepts nothing meanwhile) until the transfer is done;
#              when k2 is between connections at that moment, the next
#              connection is cut 0.3 s later.
#   slowcuts   k2, 800 entries (about 212 kB) at 64 kbit/s (8,000 bytes/s)
#              with the link cut every 3 s, BADNET_RUNS times: no connection
#              lives long enough for a large batch, so this converges only
#              because batches are sized to the link and what arrived is
#              kept. Run r starts its cuts r x 277 ms (mod 3 s) after its
#              classroom starts, so the runs cut at different points.
#
# "No restart from zero", with the counters cairnd has:
#   - `sent` (classroom, upstream): entries put into ENTRIES batches, summed
#     over every connection since that cairnd started. needed = head - head
#     before the case; excess = sent - needed must be at most drops x 16,000
#     (the window: 4 unacknowledged batches of at most 4,000 entries each).
#   - partition and cuts: after each drop, the classroom's sent and receipt
#     R are read while the link is down; each later connection may send at
#     most head - R (a sync from zero would send head - head before the case).
#   - `refusals.entries_already_held` (central): entries the central
#     received though it held them; at most drops x 16,000.
#
# Needs root, `ip netns`, nft and tc (Debian: iproute2, nftables); otherwise
# it prints why and exits 77 (skipped). BADNET_CASES="loss latency ..." runs
# some cases; BADNET_<CASE>_ENTRIES (LOSS, LATENCY, 64KBIT, PARTITION, CUTS,
# SLOWCUTS) changes a backlog; BADNET_RUNS (default 10; scripts/test.sh sets
# fewer) is how many times loss and slowcuts run; BADNET_RTO_MIN= (empty)
# keeps the kernel's rto_min and delayed ACKs; CAIRN_KEEP_TEST_DIR=1 keeps
# the directory.
# usage: badnet_test.sh CAIRN CAIRND FAULTPROXY LOADGEN
set -uo pipefail
cairn=$1
cairnd_real=$2
proxy=$3
loadgen=$4
cases=${BADNET_CASES:-loss latency 64kbit partition cuts slowcuts}
runs=${BADNET_RUNS:-10}
window=16000 # entries a drop may cost: 4 batches of 4,000 (docs/PROTOCOL.md)
ns_c=cairn-bn$$-c
ns_k=cairn-bn$$-k
central_addr=10.77.0.1:7420

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces and nft"
command -v ip >/dev/null || skip "no ip command (Debian: iproute2)"
command -v nft >/dev/null || skip "no nft command (Debian: nftables)"
command -v tc >/dev/null || skip "no tc command (Debian: iproute2)"

dir=$(mktemp -d /tmp/cairn-badnet-XXXXXX)
. "$(dirname "$0")/nodes.sh"
badnet_cleanup() {
  exec 3>&-
  cleanup
  ip netns del "$ns_c" 2>/dev/null
  ip netns del "$ns_k" 2>/dev/null
}
trap badnet_cleanup EXIT
trap 'exit 130' INT TERM

# Namespaces left by a run that was killed (its pid is gone) are removed,
# with the daemons still running in them.
for ns in $(ip netns list 2>/dev/null | sed -n 's/^\(cairn-bn[0-9]*-[ck]\).*/\1/p'); do
  p=${ns#cairn-bn}
  kill -0 "${p%-*}" 2>/dev/null && continue
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -TERM 2>/dev/null
  ip netns del "$ns" 2>/dev/null
done

ip netns add "$ns_c" 2>"$dir/err" || skip "ip netns add: $(cat "$dir/err")"
ip netns add "$ns_k" 2>"$dir/err" || skip "ip netns add: $(cat "$dir/err")"
# Both ends are made inside the namespaces, so the names cannot collide with
# the host's or another run's. gso_max_segs 1: packets of one MTU, so that
# nft drops packets, not 64 kB GSO bursts.
ip link add vc netns "$ns_c" type veth peer name vk netns "$ns_k" 2>"$dir/err" ||
  skip "cannot make a veth pair: $(cat "$dir/err")"
ip -n "$ns_c" link set vc gso_max_segs 1
ip -n "$ns_k" link set vk gso_max_segs 1
ip -n "$ns_c" addr add 10.77.0.1/24 dev vc
ip -n "$ns_k" addr add 10.77.0.2/24 dev vk
for n in "$ns_c" "$ns_k"; do ip -n "$n" link set lo up; done
ip -n "$ns_c" link set vc up
ip -n "$ns_k" link set vk up
# Counts what k1 sends to the sync port (the faults go in table badnet).
nft_k() { ip netns exec "$ns_k" nft "$@"; }
nft_k add table inet acct 2>"$dir/err" || skip "nft does not work in a namespace: $(cat "$dir/err")"
nft_k add chain inet acct out '{ type filter hook output priority -10; }'
nft_k add rule inet acct out oifname vk tcp dport 7420 counter

# nodes.sh starts "$cairnd --data $dir/NODE": run it in NODE's namespace.
declare -A netns=([central]=$ns_c [k1]=$ns_k [k2]=$ns_c)
cairnd_in_netns() { exec ip netns exec "${netns[${2##*/}]}" "$cairnd_real" "$@"; }
cairnd=cairnd_in_netns

# --- helpers
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
set_upstream() { sed -i "s/^upstream =.*/upstream = $2/" "$dir/$1/cairn.conf"; }

# status NODE: reads NODE's sync status into $dir/NODE.status.
status() { C "$1" sync status --json >"$dir/$1.status" 2>/dev/null; }
# val NODE KEY: the first number after "KEY": in NODE's last status (0 if none).
val() {
  local v
  v=$(sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" "$dir/$1.status" | head -1)
  echo "${v:-0}"
}
# receipt NODE: the central's receipt for NODE's log (the only "seq" there).
receipt() { val "$1" seq; }
connected() { grep -q '"connected": *true' "$dir/$1.status"; }

# delivered NODE HEAD SECONDS: waits until the central's receipt covers HEAD.
delivered() {
  local end=$((SECONDS + $3))
  while [ $SECONDS -lt $end ]; do
    status "$1"
    [ "$(receipt "$1")" -ge "$2" ] && return 0
    sleep 0.5
  done
  return 1
}

# Entries the central received but already held (resends); "-" if its sync
# status has no such counter.
held() {
  status central
  grep -q '"entries_already_held"' "$dir/central.status" && val central entries_already_held ||
    echo "-"
}

# drops NODE MARK: upstream links NODE lost since line MARK of its log (not
# counting connections that never got through the handshake: those carried
# no entries).
drops() {
  tail -n +$(($2 + 1)) "$dir/$1.log" | grep 'sync: upstream: ' |
    grep -cv 'cannot connect\|handshake timed out\|handshake did not complete'
}

# proxy_cmd LINE: sends a command to the proxy and prints its reply.
proxy_cmd() {
  local n
  n=$(wc -l <"$dir/proxy.out")
  echo "$1" >&3
  for _ in $(seq 250); do
    if [ "$(wc -l <"$dir/proxy.out")" -gt "$n" ]; then
      tail -1 "$dir/proxy.out"
      return 0
    fi
    sleep 0.02
  done
  bad "the proxy did not answer '$1'"
  return 1
}
proxy_stat() { proxy_cmd stats | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }

# up_bytes NODE: bytes NODE has sent towards the central's sync port so far,
# for the progress line (k1: on the wire, retransmissions and headers too,
# counted by nft in ns K; k2: the payload the proxy forwarded).
up_bytes() {
  if [ "$1" = k1 ]; then
    nft_k list table inet acct | grep -o 'bytes [0-9]*' | cut -d' ' -f2
  else
    proxy_stat up
  fi
}

# backlog NODE N: NODE writes N entries while it cannot reach the central;
# sets head (NODE's last seq), base (its head before, which the central
# holds: every case ends converged) and needed. NODE is left stopped; the
# caller sets the fault and starts it. (Not the receipt for base: after a
# restart the central sends none until it commits something new.)
backlog() {
  base=${own[$1]}
  stop "$1"
  set_upstream "$1" 127.0.0.1:1
  start "$1" || return 1
  "$loadgen" "$dir/$1" "${milestone[$1]}" "$2" >"$dir/acked.$1.$2" || bad "loadgen $1 $2"
  head=$(tail -1 "$dir/acked.$1.$2")
  head=${head##*-}
  own[$1]=$head
  needed=$((head - base))
  stop "$1"
  set_upstream "$1" "${upstream[$1]}"
  mark=$(wc -l <"$dir/$1.log")
  held0=$(held)
  bytes0=$(up_bytes "$1")
}

# finish NAME NODE SCOPE DROPS [TEXT]: the asserts every case shares, and
# its progress line. Reads head, needed, base, t0, held0, bytes0.
finish() {
  local name=$1 n=$2 scope=$3 d=$4 text=${5:-} sent excess h secs mb
  secs=$(since "$t0")
  mb=$(awk -v b="$(($(up_bytes "$n") - bytes0))" 'BEGIN { printf "%.2f", b / 1e6 }')
  converge "$n" "$scope" && ok || bad "$name: $n's export differs from the central's"
  status "$n"
  [ "$(receipt "$n")" -ge "$head" ] && ok || bad "$name: the receipt does not cover $n's head"
  grep -q '"pending_out": *0[,}]' "$dir/$n.status" && ok ||
    bad "$name: $n still has entries to send: $(cat "$dir/$n.status")"
  sent=$(val "$n" sent)
  excess=$((sent - needed))
  [ "$excess" -ge 0 ] && [ "$excess" -le $((d * window)) ] && ok ||
    bad "$name: $n sent $sent entries for $needed needed over $d drops" \
      "(allowed: $needed + $d x $window): a sync started again from zero"
  h=$(held)
  if [ "$h" = - ] || [ "$held0" = - ]; then
    h=n/a
    bad "$name: the central's sync status has no entries_already_held counter"
  else
    h=$((h - held0))
    [ "$h" -le $((d * window)) ] && ok ||
      bad "$name: the central received $h entries it already held over $d drops"
  fi
  printf 'badnet: %-9s %5d entries %5s s %6s MB up  sent %d (excess %d)  drops %d  received twice %s%s\n' \
    "$name" "$needed" "$secs" "$mb" "$sent" "$excess" "$d" "$h" "${text:+  $text}"
}

# --- the central, the proxy, two classrooms
C central init --role central --listen 0.0.0.0:7420 --name "district office" >/dev/null ||
  bad "central init"
sed -i "s/^advertise =.*/advertise = $central_addr/" "$dir/central/cairn.conf"
start central || exit 1
mkfifo "$dir/proxy.ctl"
ip netns exec "$ns_c" "$proxy" --listen 127.0.0.1:0 --connect 127.0.0.1:7420 \
  <"$dir/proxy.ctl" >"$dir/proxy.out" 2>"$dir/proxy.log" &
extra_pids=$!
exec 3>"$dir/proxy.ctl"
for _ in $(seq 100); do grep -q '^listening' "$dir/proxy.out" && break; sleep 0.05; done
pp=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/proxy.out")
[ -n "$pp" ] || { bad "the proxy did not start: $(cat "$dir/proxy.log")"; exit 1; }
declare -A upstream=([k1]=$central_addr [k2]=127.0.0.1:$pp) milestone own
for n in k1 k2; do
  C "$n" init --campus north --classroom "room-${n#k}" >/dev/null && start "$n" || exit 1
  tok=$(C central enroll --campus north --classroom "room-${n#k}" 2>/dev/null)
  C "$n" join "$tok" >"$dir/out" 2>&1 && ok || bad "$n join: $(cat "$dir/out")"
  set_upstream "$n" "${upstream[$n]}"
  C "$n" student add --id "s-$n" --name "Student of $n" --grade 6 >/dev/null || bad "$n student"
  milestone[$n]=$(C "$n" milestone add --student "s-$n" --type academic \
    --statement "I will write a clear claim." --scale 0-4 --baseline 1.5 --target 3 \
    --rule "4 of 5" --start 2026-10-05 --end 2026-11-16 --json | new_id)
  own[$n]=${milestone[$n]##*-} # ids are author-prefix-seq: the head
  stop "$n" && start "$n"
  converge "$n" "north/room-${n#k}" && ok || bad "$n converges before the faults"
done
[ $fail -eq 0 ] || exit 1

# --- the cases
case_loss() {
  local r
  for r in $(seq "$runs"); do loss_run "$r"; done
}

loss_run() {
  backlog k1 "${BADNET_LOSS_ENTRIES:-10000}" || return
  nft_k -f - <<EOF
table inet badnet {
  chain in { type filter hook input priority 0; iifname "vk" counter numgen random mod 100 < 30 counter drop; }
  chain out { type filter hook output priority 0; oifname "vk" counter numgen random mod 100 < 30 counter drop; }
}
EOF
  if [ -n "${BADNET_RTO_MIN-10ms}" ]; then
    ip -n "$ns_k" route replace 10.77.0.0/24 dev vk rto_min "${BADNET_RTO_MIN:-10ms}" quickack 1
    ip -n "$ns_c" route replace 10.77.0.0/24 dev vc rto_min "${BADNET_RTO_MIN:-10ms}" quickack 1
  fi
  t0=$(now)
  start k1
  delivered k1 "$head" 300 && ok || bad "loss run $1: k1 not delivered within 300 s under 30% loss"
  ip -n "$ns_k" route replace 10.77.0.0/24 dev vk
  ip -n "$ns_c" route replace 10.77.0.0/24 dev vc
  local pk
  pk=$(nft_k list table inet badnet | grep -o 'counter packets [0-9]*' | cut -d' ' -f3)
  nft_k delete table inet badnet
  set -- $pk # seen in, lost in, seen out, lost out
  finish "loss $r" k1 north/room-1 "$(drops k1 "$mark")" \
    "lost $(($2 + $4)) of $(($1 + $3)) packets ($((100 * ($2 + $4) / ($1 + $3 + 1)))%)"
}

# proxied NAME ENTRIES SETTING VALUE SECONDS TEXT: k2 sends a backlog of
# ENTRIES through the proxy set to "SETTING VALUE", within SECONDS.
proxied() {
  backlog k2 "$2" || return
  proxy_cmd "set $3 $4" >/dev/null
  t0=$(now)
  start k2
  delivered k2 "$head" "$5" && ok || bad "$1: k2 not delivered within $5 s at $6"
  proxy_cmd "set $3 0" >/dev/null
  finish "$1" k2 north/room-2 "$(drops k2 "$mark")" "$6"
}
case_latency() { proxied latency "${BADNET_LATENCY_ENTRIES:-12000}" delay 2000 90 "2 s each way"; }
case_64kbit() { proxied 64kbit "${BADNET_64KBIT_ENTRIES:-800}" rate 8000 120 "8,000 bytes/s each way"; }

case_partition() {
  local r s rp sp tp tb
  backlog k1 "${BADNET_PARTITION_ENTRIES:-12000}" || return
  tc -n "$ns_k" qdisc add dev vk root tbf rate 4mbit burst 32kb latency 200ms 2>"$dir/err" ||
    bad "partition: tc tbf: $(cat "$dir/err")"
  t0=$(now)
  start k1
  # wait until the central holds at least one batch, but not all
  for _ in $(seq 300); do
    status k1
    r=$(receipt k1)
    [ "$r" -gt "$base" ] && break
    sleep 0.1
  done
  rp=$r
  sp=$(val k1 sent)
  [ "$r" -gt "$base" ] && [ "$r" -lt "$head" ] && [ $((sp - r + base)) -gt 0 ] && ok ||
    bad "partition: not mid-transfer (receipt $r, base $base, head $head, sent $sp)"
  nft_k -f - <<EOF
table inet badnet {
  chain in { type filter hook input priority 0; tcp sport 7420 counter drop; }
  chain out { type filter hook output priority 0; tcp dport 7420 counter drop; }
}
EOF
  tp=$(now)
  # hold the partition until the classroom's link breaks by itself
  for _ in $(seq 120); do
    status k1
    connected k1 || break
    sleep 0.5
  done
  tb=$(since "$tp")
  connected k1 && bad "partition: k1's link did not break within 60 s of silence"
  s=$(val k1 sent)
  r=$(receipt k1)
  nft_k delete table inet badnet
  delivered k1 "$head" 90 && ok || bad "partition: k1 not delivered within 90 s of the heal"
  # after the drop, at most what the central lacked when the link went down
  [ $(($(val k1 sent) - s)) -le $((head - r)) ] && ok ||
    bad "partition: k1 sent $(($(val k1 sent) - s)) entries after the link broke, when the" \
      "central held all up to $r of $head: the sync did not resume where it was"
  tc -n "$ns_k" qdisc del dev vk root 2>/dev/null
  local d
  d=$(drops k1 "$mark")
  [ "$d" -ge 1 ] || d=1
  finish partition k1 north/room-1 "$d" \
    "cut off with $((rp - base)) held, $((sp - rp + base)) in flight; link broke after $tb s"
}

case_cuts() {
  local s=() r=() conns=() k cuts=0 c
  backlog k2 "${BADNET_CUTS_ENTRIES:-30000}" || return
  proxy_cmd "set rate 1000000" >/dev/null
  t0=$(now)
  start k2
  local pause=2.5
  while sleep "$pause"; do
    status k2
    [ "$(receipt k2)" -ge "$head" ] && break
    if [ "$(since "$t0" | cut -d. -f1)" -ge 120 ]; then
      bad "cuts: k2 not delivered within 120 s"
      break
    fi
    # The proxy accepts no connection from the cut until the counters are
    # read (pause ... resume): the next connection, however soon k2 makes
    # it, counts in the next interval with all it sends, and the old one's
    # sends are all in this one. sent and the receipt come from one status,
    # read once the classroom has seen the cut. (Without the pause, on a
    # loaded machine a reconnect could come before the connections were
    # counted and what two connections sent was allowed for one: a false
    # failure.)
    proxy_cmd pause >/dev/null
    c=$(proxy_cmd cut | sed -n 's/^ok cut \([0-9]*\)$/\1/p')
    if [ "${c:-0}" -eq 0 ]; then # k2 was between connections: cut the next one soon
      proxy_cmd resume >/dev/null
      pause=0.3
      continue
    fi
    pause=2.5
    cuts=$((cuts + c))
    conns+=("$(proxy_stat conns)")
    sleep 0.3
    status k2
    s+=("$(val k2 sent)")
    r+=("$(receipt k2)")
    proxy_cmd resume >/dev/null
  done
  proxy_cmd "set rate 0" >/dev/null
  # between one cut and the next, each connection sent at most what the
  # central lacked when the link went down
  status k2
  s+=("$(val k2 sent)")
  conns+=("$(proxy_stat conns)")
  for ((k = 0; k + 1 < ${#s[@]}; k++)); do
    [ $((s[k + 1] - s[k])) -le $(((conns[k + 1] - conns[k]) * (head - r[k]))) ] && ok ||
      bad "cuts: k2 sent $((s[k + 1] - s[k])) entries on $((conns[k + 1] - conns[k]))" \
        "connection(s) after cut $((k + 1)), when the central held all up to ${r[k]} of" \
        "$head: the sync did not resume where it was"
  done
  [ "$cuts" -ge 3 ] && ok || bad "cuts: the transfer spanned only $cuts cuts"
  local d
  d=$(drops k2 "$mark")
  [ "$d" -ge "$cuts" ] || d=$cuts
  finish cuts k2 north/room-2 "$d" "$cuts cuts, every 2.5 s, at 1 MB/s"
}

case_slowcuts() {
  local r
  for r in $(seq "$runs"); do slowcuts_run "$r"; done
}

slowcuts_run() {
  local c0
  backlog k2 "${BADNET_SLOWCUTS_ENTRIES:-800}" || return
  c0=$(proxy_stat cut)
  proxy_cmd "set rate 8000" >/dev/null
  t0=$(now)
  start k2
  sleep "$(awk -v r="$1" 'BEGIN { printf "%.3f", (r * 277 % 3000) / 1000 }')"
  proxy_cmd "set cut-every 3000" >/dev/null
  delivered k2 "$head" 240 && ok ||
    bad "slowcuts run $1: not delivered within 240 s (receipt $(receipt k2) of $head, sent" \
      "$(val k2 sent)): a link that cannot carry a whole batch between two drops"
  proxy_cmd "set cut-every 0" >/dev/null
  proxy_cmd "set rate 0" >/dev/null
  finish "slowcuts $1" k2 north/room-2 "$(($(proxy_stat cut) - c0))" "8,000 bytes/s, a cut every 3 s"
}

for c in $cases; do
  declare -F "case_$c" >/dev/null || { bad "no case '$c'"; continue; }
  "case_$c"
done

for n in central k1 k2; do
  C "$n" check >"$dir/out" 2>&1 && ok || bad "cairn check on $n: $(head -3 "$dir/out")"
done
# every cairnd exits 0 on SIGTERM (under ASan, a leak or error report fails it)
for n in k1 k2 central; do
  kill -TERM "${pid[$n]}"
  wait "${pid[$n]}" && ok || bad "cairnd $n exited with status $? (see $n.log)"
  unset "pid[$n]"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
