#!/usr/bin/env bash
# Randomized convergence test: real cairnd processes on loopback, faults
# injected by faultproxy, a seeded random sequence of writes and failures,
# then: heal everything and check that every node converged.
#
# Topology:
#   central
#   hub (campus north) ------------------------------> central (direct)
#   a1 (north/room-1) -> proxy a1 -> hub               clock 5 hours behind
#   a2 (north/room-2) -> proxy a2 -> central
#   b1 (south/room-9) -> proxy b1 -> central           clock 2 hours ahead
# (the skews are [test] clock_offset_ms, to exercise HLC ordering.)
#
# Each of R rounds does 1-3 random actions: add evidence (CLI or loadgen),
# amend or retract an earlier evidence entry, edit a milestone's statement on
# a device of its scope (classroom, hub or central), pause/resume a proxy
# (partition/heal), cut a proxy's connections or change its delay, kill -9 a
# non-central daemon (sometimes while loadgen writes to it) and restart it,
# restart the central with SIGTERM. Then every proxy is resumed, `cairn sync
# now` runs everywhere, and after convergence (polled up to 90 s):
#   - each classroom's export equals the central's export of its scope, and
#     the hub's export equals the central's export of campus north;
#   - every id acknowledged to a writer (CLI --json or loadgen) is at the
#     central;
#   - each node's `cairn conflicts --json` equals the central's restricted to
#     the records that node holds, and every edited milestone shows the same
#     statement on every node that holds it (one of the statements written);
#   - every daemon exits 0 on SIGTERM at the end (ASan/LSan reports fail it).
#
# Reproducing: the seed is printed first ("seed: N"); CAIRN_SEED=N replays the
# same sequence of operations (every random choice comes from bash's RANDOM
# seeded with it). Timing is not reproduced: how far a sync got when a link
# was cut or a daemon killed varies from run to run, so a failure may need a
# few runs with its seed to show again. CAIRN_ROUNDS=N changes the number of
# rounds (default 40); CAIRN_KEEP_TEST_DIR=1 keeps the directory.
# usage: converge_test.sh CAIRN CAIRND FAULTPROXY LOADGEN
set -uo pipefail
cairn=$1
cairnd=$2
proxy=$3
loadgen=$4
# without jq the conflict comparisons below would compare two empty files
command -v jq >/dev/null || { echo "converge_test.sh needs jq (Debian: apt-get install jq)"; exit 1; }
seed=${CAIRN_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000000))}
echo "seed: $seed"
# Ports come from the unseeded RANDOM, so that two runs of one seed at once
# do not collide; everything after this line draws from the seeded sequence.
# They stay below the kernel's ephemeral range: a daemon restarted on its
# port must not find it taken by some outgoing connection meanwhile.
eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$eph" -gt 21000 ] 2>/dev/null || eph=32768
base=$((20000 + RANDOM % (eph > 40000 ? 20000 : eph - 20000 - 200)))
nextport=0
RANDOM=$seed
rounds=${CAIRN_ROUNDS:-40}
dir=$(mktemp -d /tmp/cairn-conv-XXXXXX)
pass=0
fail=0
t0=$SECONDS
declare -A pid port pport pfd paused
classrooms=(a1 a2 b1)
proxies=(a1 a2 b1)
declare -A scope=([a1]=north/room-1 [a2]=north/room-2 [b1]=south/room-9 [hub]=north)
declare -A campus=([a1]=north [a2]=north [b1]=south)
declare -A skew=([a1]=-18000000 [b1]=7200000)
ms=()           # "node milestone-id" for every milestone
declare -A ev   # evidence id -> node, for amend/retract (CLI adds only)
evlist=()       # evidence ids added with the CLI, in order
declare -A said # milestone id -> statements written to it, |-separated
declare -A edited
: >"$dir/acked"

cleanup() {
  local n
  for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null; done
  for n in "${!pfd[@]}"; do echo quit >&"${pfd[$n]}" 2>/dev/null; done
  wait 2>/dev/null
  if [ $fail -ne 0 ]; then
    for f in "$dir"/*.log; do echo "--- $f"; tail -30 "$f"; done
    echo "FAILED with seed: $seed (reproduce: CAIRN_SEED=$seed $0 $cairn $cairnd $proxy $loadgen)"
  fi
  if [ -n "${CAIRN_KEEP_TEST_DIR:-}" ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $* (seed $seed)"; }
C() { local n=$1; shift; "$cairn" --data "$dir/$n" "$@"; }
log() { echo "[$((SECONDS - t0))s] $*" >>"$dir/actions.log"; }
new_id() { sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'; }
# choose VAR ITEM...: VAR = a random ITEM (not in $(...): RANDOM must advance
# in this shell)
choose() { local -n out=$1; shift; local a=("$@"); out=${a[RANDOM % ${#a[@]}]}; }

# Sets $fp to a port nothing listens on.
free_port() {
  while :; do
    fp=$((base + nextport))
    nextport=$((nextport + 1))
    (exec 9<>"/dev/tcp/127.0.0.1/$fp") 2>/dev/null || return 0
  done
}

start() { # start NODE: waits until its cairnd answers
  local n=$1 i
  "$cairnd" --data "$dir/$n" 2>>"$dir/$n.log" &
  pid[$n]=$!
  for i in $(seq 400); do
    C "$n" ping >/dev/null 2>&1 && return 0
    kill -0 "${pid[$n]}" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "${pid[$n]}" 2>/dev/null
  wait "${pid[$n]}" 2>/dev/null
  unset "pid[$n]"
  return 1
}
stop() { # stop NODE: SIGTERM; fails unless cairnd exits 0
  local rc
  [ -n "${pid[$1]:-}" ] || return 1
  kill -TERM "${pid[$1]}"
  wait "${pid[$1]}"
  rc=$?
  unset "pid[$1]"
  return $rc
}
crash() {
  [ -n "${pid[$1]:-}" ] || return 0
  kill -9 "${pid[$1]}"
  wait "${pid[$1]}" 2>/dev/null
  unset "pid[$1]"
}
# check_alive WHEN: every daemon that should run still runs; one that died on
# its own is a failure (reported with its exit status), and is restarted so
# that the rest of the run still means something.
check_alive() {
  local n st
  for n in "${!pid[@]}"; do
    kill -0 "${pid[$n]}" 2>/dev/null && continue
    wait "${pid[$n]}"
    st=$?
    unset "pid[$n]"
    if [ $st -gt 128 ]; then
      bad "cairnd $n died by itself (signal $((st - 128)): $(kill -l $((st - 128)) 2>/dev/null)) by $1"
    else
      bad "cairnd $n exited by itself with status $st by $1"
    fi
    log "$n: found dead (status $st)"
    restart "$n"
  done
}
restart() { # restart NODE, or fail the test
  start "$1" || bad "cairnd $1 did not restart"
}

# start_listening NODE: start a hub or central on a free port (retrying if
# the port was taken in the meantime).
start_listening() {
  local n=$1 try
  for try in 1 2 3 4 5; do
    free_port
    sed -i "s/^listen = .*/listen = 127.0.0.1:$fp/" "$dir/$n/cairn.conf"
    if start "$n"; then port[$n]=$fp; return 0; fi
    echo "cairnd $n did not start on port $fp, retrying" >&2
  done
  bad "cairnd $n did not start"
  return 1
}

# start_proxy NAME TARGET_PORT: a faultproxy in front of TARGET_PORT, driven
# through a FIFO kept open on fd ${pfd[NAME]}.
start_proxy() {
  local n=$1 fd i
  mkfifo "$dir/ctl.$n"
  "$proxy" --listen 127.0.0.1:0 --connect "127.0.0.1:$2" --delay 2 --seed "$seed" \
    <"$dir/ctl.$n" >"$dir/proxy.$n.out" 2>"$dir/proxy.$n.log" &
  exec {fd}>"$dir/ctl.$n"
  pfd[$n]=$fd
  paused[$n]=0
  for i in $(seq 200); do grep -q '^listening' "$dir/proxy.$n.out" && break; sleep 0.05; done
  pport[$n]=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/proxy.$n.out")
  [ -n "${pport[$n]}" ] || { bad "proxy $n did not start"; return 1; }
}
pcmd() { echo "$2" >&"${pfd[$1]}"; log "proxy $1: $2"; }

# The central's export of a node's scope, and whether the node's own export
# equals it.
same_as_central() { # same_as_central NODE
  C "$1" export >"$dir/$1.export" 2>/dev/null &&
    C central export --scope "${scope[$1]}" >"$dir/central.$1.export" 2>/dev/null &&
    [ -s "$dir/$1.export" ] && cmp -s "$dir/$1.export" "$dir/central.$1.export"
}
# converge_all SECONDS: polls until every node matches the central.
converge_all() {
  local i n todo deadline=$((SECONDS + $1))
  while :; do
    todo=
    for n in hub a1 a2 b1; do same_as_central "$n" || todo="$todo $n"; done
    [ -z "$todo" ] && return 0
    [ $SECONDS -ge $deadline ] && break
    i=$((${i:-0} + 1))
    if [ $((i % 8)) -eq 0 ]; then
      for n in $todo; do C "$n" sync now --no-wait >/dev/null 2>&1; done
    fi
    sleep 0.5
  done
  for n in $todo; do
    echo "== $n (${scope[$n]}) differs from the central's export of its scope:"
    diff <(tr ',' '\n' <"$dir/$n.export") <(tr ',' '\n' <"$dir/central.$n.export") | head -20
  done
  for n in hub a1 a2 b1 central; do echo "== sync status of $n"; C "$n" sync status 2>&1; done
  return 1
}

milestone() { # milestone NODE STUDENT STATEMENT -> id
  C "$1" milestone add --student "$2" --type academic --statement "$3" \
    --scale 0-4 --baseline 1 --target 3 --rule "3 of 4" --start 2026-09-01 --end 2026-12-18 \
    --json | new_id
}

# ---------------------------------------------------------------- set-up
C central init --role central --listen 127.0.0.1:1 --name "district office" >/dev/null ||
  { bad "central init"; exit 1; }
start_listening central || exit 1
C hub init --role hub --campus north --listen 127.0.0.1:1 --name "north hub" >/dev/null
start_listening hub || exit 1
tok=$(C central enroll --campus north --role hub 2>>"$dir/errors")
C hub join "$tok" >"$dir/out" 2>&1 && ok || bad "hub join: $(cat "$dir/out")"

for n in "${classrooms[@]}"; do
  C "$n" init --campus "${campus[$n]}" --classroom "${scope[$n]#*/}" --name "$n" >/dev/null ||
    bad "$n init"
  [ -n "${skew[$n]:-}" ] &&
    sed -i "s/^clock_offset_ms = .*/clock_offset_ms = ${skew[$n]}/" "$dir/$n/cairn.conf"
  start "$n" || bad "cairnd $n did not start"
done
start_proxy a1 "${port[hub]}"
start_proxy a2 "${port[central]}"
start_proxy b1 "${port[central]}"
tok=$(C central enroll --campus north --classroom room-1 2>>"$dir/errors")
C a1 join "$tok" --upstream "127.0.0.1:${pport[a1]}" >"$dir/out" 2>&1 && ok ||
  bad "a1 join through the hub: $(cat "$dir/out")"
for n in a2 b1; do
  tok=$(C central enroll --campus "${campus[$n]}" --classroom "${scope[$n]#*/}" 2>>"$dir/errors")
  C "$n" join "$tok" >"$dir/out" 2>&1 && ok || bad "$n join: $(cat "$dir/out")"
  stop "$n" || bad "cairnd $n exited non-zero"
  sed -i "s/^upstream = .*/upstream = 127.0.0.1:${pport[$n]}/" "$dir/$n/cairn.conf"
  start "$n" || bad "cairnd $n did not restart"
done

# Two students and a milestone each, plus one evidence entry, per classroom.
for n in "${classrooms[@]}"; do
  for k in 1 2; do
    C "$n" student add --id "s$k-$n" --name "Student $k of $n" --grade 6 >/dev/null ||
      bad "$n student add"
    m=$(milestone "$n" "s$k-$n" "initial statement $k of $n")
    [ -n "$m" ] || { bad "$n milestone add"; continue; }
    ms+=("$n $m")
    said[$m]="initial statement $k of $n"
    echo "$m" >>"$dir/acked"
  done
done
[ ${#ms[@]} -eq 6 ] || { bad "only ${#ms[@]} milestones were made"; exit 1; }
converge_all 60 && ok || bad "the initial records reach every node"
log "set-up done"

# ---------------------------------------------------------------- rounds
add_cli() { # add_cli NODE MILESTONE
  local id v=$((RANDOM % 5))
  id=$(C "$1" evidence add "$2" "$v" --observed 2026-10-0$((1 + RANDOM % 9)) \
    --note "round $r" --json 2>>"$dir/errors" | new_id)
  log "$1: evidence add $2 $v -> ${id:-FAILED}"
  if [ -n "$id" ]; then
    echo "$id" >>"$dir/acked"
    ev[$id]=$1
    evlist+=("$id")
  else
    bad "evidence add on $1 failed: $(tail -1 "$dir/errors")"
  fi
}
add_loadgen() { # add_loadgen NODE MILESTONE COUNT
  "$loadgen" "$dir/$1" "$2" "$3" >>"$dir/acked" 2>>"$dir/errors" ||
    bad "loadgen on $1: $(tail -1 "$dir/errors")"
  log "$1: loadgen $2 $3"
}
milestones_of() { # milestones_of NODE -> the ids in the global array mine
  local e
  mine=()
  for e in "${ms[@]}"; do [ "${e%% *}" = "$1" ] && mine+=("${e#* }"); done
}
ms_node=
ms_id=
pick_milestone() { # sets ms_node and ms_id
  local e
  choose e "${ms[@]}"
  ms_node=${e%% *}
  ms_id=${e#* }
}

for r in $(seq "$rounds"); do
  nact=$((1 + RANDOM % 3))
  for _ in $(seq $nact); do
    act=$((RANDOM % 12))
    case $act in
    0 | 1) # evidence through the CLI
      choose n "${classrooms[@]}"
      milestones_of "$n"
      choose m "${mine[@]}"
      add_cli "$n" "$m"
      ;;
    2) # a burst through loadgen
      choose n "${classrooms[@]}"
      milestones_of "$n"
      choose m "${mine[@]}"
      add_loadgen "$n" "$m" $((1 + RANDOM % 60))
      ;;
    3 | 4) # amend or retract an earlier entry on its classroom
      if [ ${#evlist[@]} -eq 0 ]; then
        choose n "${classrooms[@]}"
        milestones_of "$n"
        choose m "${mine[@]}"
        add_cli "$n" "$m"
        continue
      fi
      i=$((RANDOM % ${#evlist[@]}))
      id=${evlist[$i]}
      n=${ev[$id]}
      if [ $act -eq 3 ]; then
        v=$((RANDOM % 5))
        C "$n" evidence amend "$id" "$v" --reason "round $r: misread" >/dev/null 2>>"$dir/errors" ||
          bad "amend $id on $n: $(tail -1 "$dir/errors")"
        log "$n: amend $id $v"
      else
        C "$n" evidence retract "$id" --reason "round $r: wrong student" >/dev/null \
          2>>"$dir/errors" || bad "retract $id on $n: $(tail -1 "$dir/errors")"
        log "$n: retract $id"
        evlist=("${evlist[@]:0:i}" "${evlist[@]:i+1}")
      fi
      ;;
    5 | 6) # edit a milestone's statement on a device of its scope
      pick_milestone
      devs=("$ms_node" central)
      [ "${campus[$ms_node]}" = north ] && devs+=(hub)
      choose n "${devs[@]}"
      st="statement r$r by $n #$RANDOM"
      C "$n" milestone set "$ms_id" --statement "$st" --reason "round $r" >/dev/null \
        2>>"$dir/errors" || bad "milestone set $ms_id on $n: $(tail -1 "$dir/errors")"
      said[$ms_id]="${said[$ms_id]}|$st"
      edited[$ms_id]=1
      log "$n: milestone set $ms_id '$st'"
      ;;
    7) # partition or heal a link
      choose p "${proxies[@]}"
      if [ "${paused[$p]}" = 1 ]; then pcmd "$p" resume; paused[$p]=0; else
        pcmd "$p" pause; paused[$p]=1; fi
      ;;
    8) # cut a link's connections, or change its delay
      choose p "${proxies[@]}"
      if [ $((RANDOM % 2)) -eq 0 ]; then pcmd "$p" cut; else
        pcmd "$p" "set delay $((RANDOM % 150))"; fi
      ;;
    9 | 10) # kill -9 a non-central daemon and restart it
      choose n hub a1 a2 b1
      lg=
      if [ "$n" != hub ] && [ $((RANDOM % 2)) -eq 0 ]; then
        # ... in the middle of a burst of writes: what was acked must stay
        milestones_of "$n"
        choose m "${mine[@]}"
        "$loadgen" "$dir/$n" "$m" 3000 >"$dir/acked.kill.$r" 2>/dev/null &
        lg=$!
      fi
      sleep "0.$((RANDOM % 4))"
      log "$n: kill -9${lg:+ during loadgen}"
      crash "$n"
      if [ -n "$lg" ]; then
        wait "$lg"
        cat "$dir/acked.kill.$r" >>"$dir/acked"
        log "$n: loadgen acked $(wc -l <"$dir/acked.kill.$r") before the kill"
      fi
      restart "$n"
      ;;
    11) # restart the central cleanly
      log "central: SIGTERM and restart"
      stop central || bad "the central exited non-zero on SIGTERM"
      restart central
      ;;
    esac
  done
  sleep "0.$((RANDOM % 3))"
  check_alive "round $r"
done

# ---------------------------------------------------------------- heal
log "healing"
for p in "${proxies[@]}"; do pcmd "$p" resume; pcmd "$p" "set delay 0"; paused[$p]=0; done
check_alive "the end of the rounds"
for n in central hub a1 a2 b1; do [ -n "${pid[$n]:-}" ] || restart "$n"; done
for n in hub a1 a2 b1; do C "$n" sync now --no-wait >/dev/null 2>&1; done
t1=$SECONDS
if converge_all 90; then ok; else bad "the nodes did not converge within 90 s"; fi
check_alive "the end of convergence"
log "converged after $((SECONDS - t1)) s"
echo "rounds: $rounds; acknowledged ids: $(sort -u "$dir/acked" | wc -l); converged in $((SECONDS - t1)) s"

# every acknowledged id is at the central
C central export >"$dir/central.all"
grep -o '"id":"[^"]*"' "$dir/central.all" | cut -d'"' -f4 | sort -u >"$dir/central.ids"
sort -u "$dir/acked" | grep -v '^$' >"$dir/acked.ids"
comm -23 "$dir/acked.ids" "$dir/central.ids" >"$dir/missing"
if [ -s "$dir/missing" ]; then
  bad "$(wc -l <"$dir/missing") acknowledged ids are missing at the central, e.g. $(head -3 "$dir/missing" | tr '\n' ' ')"
else ok; fi

# conflicts: each node shows the central's conflicts for the records it holds
C central conflicts --json >"$dir/conflicts.central" || bad "central conflicts"
for n in hub a1 a2 b1; do
  C "$n" conflicts --json >"$dir/conflicts.$n" || { bad "$n conflicts"; continue; }
  grep -o '"id":"[^"]*"' "$dir/$n.export" | cut -d'"' -f4 | sort -u >"$dir/$n.ids"
  jq -S --rawfile ids "$dir/$n.ids" \
    '($ids | split("\n") | map(select(. != "")) | map({(.): true}) | add // {}) as $h
     | .conflicts | map(select($h[.id]))' "$dir/conflicts.central" >"$dir/conflicts.central.$n"
  jq -S '.conflicts' "$dir/conflicts.$n" >"$dir/conflicts.$n.norm"
  if cmp -s "$dir/conflicts.central.$n" "$dir/conflicts.$n.norm"; then ok; else
    bad "$n's conflicts differ from the central's for its records"
    diff "$dir/conflicts.$n.norm" "$dir/conflicts.central.$n" | head -20
  fi
done

# every edited milestone shows one statement everywhere, one that was written
nedited=0
for e in "${ms[@]}"; do
  owner=${e%% *}
  m=${e#* }
  [ -n "${edited[$m]:-}" ] || continue
  nedited=$((nedited + 1))
  nodes=("$owner" central)
  [ "${campus[$owner]}" = north ] && nodes+=(hub)
  want=
  for n in "${nodes[@]}"; do
    got=$(C "$n" show "$m" --json | jq -r '.record.fields.statement')
    if [ -z "$want" ]; then want=$got; elif [ "$got" != "$want" ]; then
      bad "milestone $m: $n shows '$got', ${nodes[0]} shows '$want'"
    fi
  done
  case "|${said[$m]}|" in
  *"|$want|"*) ok ;;
  *) bad "milestone $m shows '$want', which nobody wrote (${said[$m]})" ;;
  esac
done
echo "edited milestones: $nedited; conflicts at the central: $(jq '.conflicts | length' "$dir/conflicts.central")"

# nothing crashed, and every daemon exits 0 (ASan/LSan would make it fail)
for n in hub a1 a2 b1 central; do
  if [ -z "${pid[$n]:-}" ]; then bad "cairnd $n is not running"; continue; fi
  stop "$n" && ok || bad "cairnd $n exited with status $? on SIGTERM"
done
if grep -l -E "AddressSanitizer|LeakSanitizer|runtime error" "$dir"/*.log >"$dir/san" 2>/dev/null; then
  bad "sanitizer reports in $(tr '\n' ' ' <"$dir/san")"
else ok; fi

echo "$pass passed, $fail failed (seed $seed, $((SECONDS - t0)) s)"
[ $fail -eq 0 ]
