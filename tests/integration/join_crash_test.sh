#!/usr/bin/env bash
# A join is one transaction in the device's store (docs/ARCHITECTURE.md,
# "What a join learns"): a classroom killed (SIGKILL, as kill -9) while it
# joins is, after a restart, either joined (its store says so: it syncs
# with no second join) or not joined at all (no upstream, and it joins
# again), never half. The kill comes at two points of a test build
# (CAIRN_TEST_CRASH_AT): "welcome", when the central's WELCOME has arrived
# and nothing is written yet, and "joined", just after the join's
# transaction committed, before `cairn join` is answered. cairnd never
# writes cairn.conf for a join; cairn.conf's upstream, set by hand, wins; a
# join with --upstream records the hub it moves to in the store. A data
# directory whose join an older cairn
# recorded in cairn.conf only (its store without the join) keeps syncing:
# cairnd takes the join into its store at its first start, after which
# cairn.conf's join lines may go.
# usage: join_crash_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
dir=$(mktemp -d /tmp/cairn-joincrash-XXXXXX)
pc=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
. "$(dirname "$0")/nodes.sh"
command -v mdb_dump >/dev/null || { bad "mdb_dump missing: run scripts/deps.sh (lmdb-utils)"; exit 1; }

C central init --role central --listen 127.0.0.1:$pc --name district >/dev/null
start central
central_key=$(C central ping --json | jq -r .device)
net=$(sed -n 's/^network = \([0-9a-f]\{64\}\)$/\1/p' "$dir/central/cairn.conf")

# upstream NODE: "address key" of NODE's upstream as `sync status` shows it
# ("" when it has none)
upstream() {
  C "$1" sync status --json | jq -r '.peers[] | select(.direction == "upstream") | "\(.address) \(.peer)"'
}
# reaches NODE STUDENT: the central holds NODE's student within 30 s
reaches() {
  for _ in $(seq 60); do
    C central export | grep -q "\"$2\"" && return 0
    C "$1" sync now --no-wait >/dev/null 2>&1
    sleep 0.5
  done
  return 1
}
# crashed NODE: its cairnd died of SIGKILL (waited for); its socket file,
# left behind, is removed so that the next start waits for a new one
crashed() {
  local rc
  wait "${pid[$1]}"; rc=$?
  unset "pid[$1]"
  rm -f "$dir/$1/cairnd.sock"
  [ $rc -eq 137 ]
}
# restart NODE: after a kill, once it answers
restart() {
  start "$1" || return 1
  for _ in $(seq 100); do C "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  bad "$1 does not answer after its restart"
}

# --- killed once the WELCOME arrived, before anything was written: not joined
C a init --campus north --classroom room-1 >/dev/null
conf_before=$(sha256sum <"$dir/a/cairn.conf")
CAIRN_TEST_CRASH_AT=welcome start a
tok=$(C central enroll --campus north --classroom room-1)
C a join "$tok" >"$dir/out" 2>&1 && bad "a join answered though cairnd was killed: $(cat "$dir/out")"
crashed a && ok || bad "a: cairnd was not killed at the WELCOME"
restart a
[ -z "$(upstream a)" ] && ok || bad "a is half joined after a kill before the join's commit: $(upstream a)"
C a status --json >/dev/null && ok || bad "a does not answer after the kill"
# joining again completes (the central answers the same device again)
C a join "$tok" >"$dir/out" 2>&1 && ok || bad "a cannot join again after the kill: $(cat "$dir/out")"
grep -q "joined campus 'north', classroom room-1" "$dir/out" && ok || bad "a's join says: $(cat "$dir/out")"
[ "$(upstream a)" = "127.0.0.1:$pc $central_key" ] && ok || bad "a's upstream after its join: $(upstream a)"
[ "$(sha256sum <"$dir/a/cairn.conf")" = "$conf_before" ] && ok || bad "the join rewrote a's cairn.conf"
C a student add --id ana-1 --name Ana >/dev/null
reaches a ana-1 && ok || bad "a does not sync after joining again"

# --- killed just after the join's commit, unanswered: joined, it syncs
# (made for another campus: the join's scope is the one that counts)
C b init --campus south --classroom room-x >/dev/null
conf_before=$(sha256sum <"$dir/b/cairn.conf")
CAIRN_TEST_CRASH_AT=joined start b
C b join "$(C central enroll --campus north --classroom room-2)" >"$dir/out" 2>&1 &&
  bad "b's join answered though cairnd was killed: $(cat "$dir/out")"
crashed b && ok || bad "b: cairnd was not killed after the join's commit"
restart b
[ "$(upstream b)" = "127.0.0.1:$pc $central_key" ] && ok ||
  bad "b is not joined after a kill once the join committed: '$(upstream b)'"
[ "$(sha256sum <"$dir/b/cairn.conf")" = "$conf_before" ] && ok || bad "the join rewrote b's cairn.conf"
[ "$(C b ping --json | jq -r .campus)" = north ] && ok ||
  bad "b does not take the campus it joined: $(C b ping --json)"
C b student add --id ben-2 --name Ben >/dev/null || bad "b cannot write in its classroom"
reaches b ben-2 && ok || bad "b does not sync after the kill"

# --- cairn.conf's upstream, set by hand, wins over the store's
stop b
sed -i "s/^upstream = .*/upstream = 127.0.0.1:1/" "$dir/b/cairn.conf"
start b
[ "$(upstream b)" = "127.0.0.1:1 $central_key" ] && ok || bad "cairn.conf's upstream does not win: $(upstream b)"
stop b
sed -i "s/^upstream = .*/upstream = /" "$dir/b/cairn.conf"
start b
[ "$(upstream b)" = "127.0.0.1:$pc $central_key" ] && ok || bad "b's joined upstream is not back: $(upstream b)"
# a network in cairn.conf other than the store's: refused, named
stop b
sed -i "s/^network = .*/network = $(printf '%064d' 7)/" "$dir/b/cairn.conf"
timeout 20 "$cairnd" --data "$dir/b" >"$dir/out" 2>&1 && bad "cairnd started with another network in cairn.conf" || ok
grep -q "network: .*not the network this device joined" "$dir/out" && ok ||
  bad "the refusal does not name the network: $(cat "$dir/out")"
sed -i "s/^network = .*/network = /" "$dir/b/cairn.conf"

# --- a join through the central that moves to the campus hub records the
# hub in the store: after a restart the device syncs with the hub
ph=$((pc + 1))
C hub init --role hub --campus north --listen 127.0.0.1:$ph --name "north hub" >/dev/null
start hub
C hub join "$(C central enroll --campus north --role hub)" >"$dir/out" 2>&1 || bad "hub join: $(cat "$dir/out")"
hub_key=$(C hub ping --json | jq -r .device)
C h init --campus north --classroom room-3 >/dev/null && start h
conf_before=$(sha256sum <"$dir/h/cairn.conf")
C h join "$(C central enroll --campus north --classroom room-3)" --upstream 127.0.0.1:$ph \
  >"$dir/out" 2>&1 || bad "h join: $(cat "$dir/out")"
for _ in $(seq 60); do [ "$(upstream h)" = "127.0.0.1:$ph $hub_key" ] && break; sleep 0.5; done
[ "$(upstream h)" = "127.0.0.1:$ph $hub_key" ] && ok || bad "h did not move to the hub: $(upstream h)"
stop h && start h
[ "$(upstream h)" = "127.0.0.1:$ph $hub_key" ] && ok || bad "h's hub is not recorded: $(upstream h)"
[ "$(sha256sum <"$dir/h/cairn.conf")" = "$conf_before" ] && ok || bad "the move to the hub rewrote cairn.conf"
C h student add --id eve-3 --name Eve >/dev/null || bad "h cannot write"
reaches h eve-3 && ok || bad "h does not sync through the hub"

# --- a join an older cairn recorded in cairn.conf only
# The older cairn pinned the central's key in the store and wrote the rest
# into cairn.conf: b's store without its "join" key, and b's join in its
# cairn.conf, make that data directory.
mdb_dump -a "$dir/b/store" >"$dir/b.dump" || bad "mdb_dump"
awk '/^database=meta$/ { m = 1 } /^DATA=END$/ { m = 0 }
     m && $1 == "6a6f696e" { skip = 1; next } skip { skip = 0; next } { print }' "$dir/b.dump" >"$dir/old.dump"
[ "$(wc -l <"$dir/b.dump")" -eq $(($(wc -l <"$dir/old.dump") + 2)) ] && ok || bad "the dump held no join key"
mkdir -m 750 "$dir/old" "$dir/old/store"
cp "$dir/b/device.key" "$dir/b/cairn.conf" "$dir/old/"
cp "$dir/b/store/keys" "$dir/old/store/" # what the store is sealed under
awk -v out="$dir/old.db." '/^VERSION=/ { n++ } { print > (out n) }' "$dir/old.dump"
for f in "$dir"/old.db.*; do
  mdb_load -s "$(sed -n 's/^database=//p' "$f")" -f "$f" "$dir/old/store" 2>>"$dir/mdb.log" ||
    bad "mdb_load $f: $(cat "$dir/mdb.log")"
done
sed -i "s/^upstream = .*/upstream = 127.0.0.1:$pc/; s/^upstream_key = .*/upstream_key = $central_key/;
        s/^network = .*/network = $net/; s/^campus = .*/campus = north/;
        s/^classroom = .*/classroom = room-2/" "$dir/old/cairn.conf"
start old
[ "$(upstream old)" = "127.0.0.1:$pc $central_key" ] && ok || bad "the older join does not sync: $(upstream old)"
grep -q "took the join cairn.conf recorded into the store" "$dir/old.log" && ok ||
  bad "cairnd does not say it took the older join in: $(cat "$dir/old.log")"
C old student add --id cy-2 --name Cy >/dev/null || bad "the older device cannot write"
reaches old cy-2 && ok || bad "the older device does not sync"
stop old
# its store is the record now: cairn.conf's join lines may go
sed -i "s/^upstream = .*/upstream = /; s/^upstream_key = .*/upstream_key = /;
        s/^network = .*/network = /" "$dir/old/cairn.conf"
start old
[ "$(upstream old)" = "127.0.0.1:$pc $central_key" ] && ok ||
  bad "the older device forgot its join once cairn.conf no longer had it: '$(upstream old)'"
C old student add --id dee-2 --name Dee >/dev/null || bad "the older device cannot write"
reaches old dee-2 && ok || bad "the older device does not sync without cairn.conf's join"
C old check >"$dir/out" 2>&1 && ok || bad "check: $(cat "$dir/out")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
