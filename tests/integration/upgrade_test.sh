#!/usr/bin/env bash
# Upgrades (README "Upgrading", docs/FORMAT.md "Format versions"): a data
# directory of each earlier format (tests/fixtures/format-N, made by
# scripts/make-fixture.sh with that release's binaries) opens under this
# cairnd, checks clean, and exports and reports byte for byte what its own
# release did; a fresh node of this build joins it and syncs. A store of a
# newer format than this build's is refused with a message that says which
# format it needs, and is left byte for byte as it was. A HELLO that
# speaks a newer sync version is refused with the VERSION code, whose words
# say to upgrade. And a test build of cairnd one store format ahead
# (tests/upgrade/next_format.c: a test-only step, no format of cairn's)
# upgrades the fixture for real: the backup first, the records the same,
# this build refuses the result, and restores the backup.
# With CAIRN_PREVIOUS set to a build directory of the previous release
# (scripts/build-previous.sh; scripts/test.sh sets it once a release is
# tagged), a classroom running that release joins a central of this one and
# syncs, or is refused with words that say to upgrade and loses nothing.
# usage: upgrade_test.sh CAIRN CAIRND HOSTILE CAIRND_NEXT_FORMAT
set -uo pipefail
cairn=$1
cairnd=$2
hostile=$3
cairnd_next=$4
fixtures=$(cd "$(dirname "$0")/../fixtures" && pwd)
dir=$(mktemp -d /tmp/cairn-upgrade-XXXXXX)
pc=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
. "$(dirname "$0")/nodes.sh"

build_format=$(sed -n 's/^#define CAIRN_STORE_FORMAT \([0-9]*\)$/\1/p' "$fixtures/../../store/store.h")
sync_version=$(sed -n 's/^#define CAIRN_SYNC_VERSION \([0-9]*\)$/\1/p' "$fixtures/../../protocol/sync.h")
newer_sync="sync version $((sync_version + 1)), this one $sync_version"
command -v mdb_load >/dev/null || { bad "mdb_load missing: run scripts/deps.sh (lmdb-utils)"; exit 1; }
sum() { sha256sum "$1" | cut -d' ' -f1; }
# Unpacks a fixture's data directory as node NODE, listening on $pc.
unpack() { # unpack FIXTURE NODE
  mkdir -m 750 "$dir/$2" && tar -C "$dir/$2" -xzf "$1/data.tar.gz" &&
    sed -i "s/^listen = .*/listen = 127.0.0.1:$pc/" "$dir/$2/cairn.conf"
}

# --- every earlier format opens, checks clean and says the same
formats=0
for fx in "$fixtures"/format-*; do
  formats=$((formats + 1))
  n=$(basename "$fx")
  unpack "$fx" "$n" || { bad "$n: cannot unpack"; continue; }
  start "$n" || continue
  C "$n" check >"$dir/out" 2>&1 && ok || bad "$n: check: $(cat "$dir/out")"
  # sealed at rest once opened (FORMAT.md section 8): the fixture's names
  # are in its export, never in clear in its store
  grep -q '"Ana Lopez"' "$fx/export.json" && ok || bad "$n: the fixture has no Ana Lopez to look for"
  ! grep -r -a -q 'Ana Lopez' "$dir/$n/store" && ok || bad "$n: a name is still in clear in the store"
  C "$n" export --json >"$dir/$n.export.json"
  cmp -s "$fx/export.json" "$dir/$n.export.json" && ok ||
    bad "$n: the export differs from its release's: $(diff "$fx/export.json" "$dir/$n.export.json" | head -5)"
  C "$n" status --as-of 2026-11-10 --json >"$dir/$n.status.json"
  cmp -s "$fx/status.json" "$dir/$n.status.json" && ok ||
    bad "$n: status differs from its release's: $(diff "$fx/status.json" "$dir/$n.status.json" | head -5)"
  upgraded=$(ls "$dir/$n" | grep -c '^before-upgrade-.*\.cairnbackup$')
  if [ "${n#format-}" -lt "$build_format" ]; then
    [ "$upgraded" -eq 1 ] && ok || bad "$n: no backup was written before the upgrade"
    grep -q "upgrade: backup of the format ${n#format-} store written to $dir/$n/before-upgrade-${n#format-}.cairnbackup" \
      "$dir/$n.log" && ok || bad "$n: the log does not say where the backup is: $(cat "$dir/$n.log")"
  else
    [ "$upgraded" -eq 0 ] && ok || bad "$n: a backup was written though the format is this build's"
  fi
  stop "$n"
done
[ $formats -ge 1 ] && ok || bad "no fixture under $fixtures"

# --- killed in the middle of sealing a format-3 store (after its first
# chunk): the next start finishes the sealing, and nothing is lost
unpack "$fixtures/format-3" sealkill || bad "cannot unpack format-3"
CAIRN_TEST_KILL_AT_COMPACT=sealing timeout 30 "$cairnd" --data "$dir/sealkill" \
  2>>"$dir/sealkill.log" >/dev/null
st=$?
[ $st -eq 137 ] && ok || bad "cairnd was not killed while sealing (status $st): $(tail -3 "$dir/sealkill.log")"
grep -q "upgrade: the store is sealed" "$dir/sealkill.log" && bad "the sealing finished before the kill" || ok
start sealkill
grep -q "upgrade: the store is sealed at rest and compacted" "$dir/sealkill.log" && ok ||
  bad "the restart does not finish the sealing: $(cat "$dir/sealkill.log")"
C sealkill check >"$dir/out" 2>&1 && ok || bad "sealkill: check: $(cat "$dir/out")"
C sealkill export --json >"$dir/sealkill.export.json"
cmp -s "$fixtures/format-3/export.json" "$dir/sealkill.export.json" && ok ||
  bad "sealkill: the export differs from its release's"
! grep -r -a -q 'Ana Lopez' "$dir/sealkill/store" && ok || bad "sealkill: a name is still in clear"
stop sealkill

# --- the wire: the first release's central and a fresh classroom of today
unpack "$fixtures/format-1" central || bad "cannot unpack format-1"
start central
C room init --campus north --classroom room-1 >/dev/null && start room
C room join "$(C central enroll --campus north --classroom room-1)" >"$dir/out" 2>&1 && ok ||
  bad "a fresh classroom cannot join the fixture's central: $(cat "$dir/out")"
converge room north/room-1 && ok || bad "the fresh classroom did not receive the fixture's records"
grep -q '"Ana Lopez"' "$dir/room.export" && ok || bad "the fresh classroom lacks the fixture's students"
ms=$(jq -r '.records[] | select(.type == "milestone" and .fields.student == "ana-8") | .id' \
  "$fixtures/format-1/export.json" | head -1)
C room evidence add "$ms" 3 --observed 2026-11-02 --note "after the upgrade" >"$dir/out" 2>&1 && ok ||
  bad "the fresh classroom cannot add evidence to the fixture's milestone: $(cat "$dir/out")"
C room sync now >"$dir/out" 2>&1 && ok || bad "sync of the new evidence: $(cat "$dir/out")"
converge room north/room-1 && ok || bad "the central did not receive the new evidence"
grep -q 'after the upgrade' "$dir/central.room.export" && ok || bad "the new evidence is not on the central"

# A HELLO of a newer sync version: refused with the VERSION code, and words
# that say to upgrade.
net=$(sed -n 's/^network = \([0-9a-f]\{64\}\)$/\1/p' "$dir/central/cairn.conf")
central_key=$(C central ping --json | jq -r .device)
"$hostile" newer-version --connect 127.0.0.1:$pc --network "$net" --central "$central_key" \
  --key "$dir/room" >"$dir/out" 2>"$dir/hostile.log"; rc=$?
[ $rc -eq 0 ] && ok || bad "a HELLO of a newer sync version: hostile exit $rc: $(cat "$dir/hostile.log")"
grep -q "^version: another version of cairn: upgrade the older one: .*upgrade the older" "$dir/out" &&
  ok || bad "the refusal does not say to upgrade: $(cat "$dir/out")"
for _ in $(seq 20); do grep -q "$newer_sync" "$dir/central.log" && break; sleep 0.25; done
grep -q "refused device .* at the handshake: the other side runs $newer_sync" \
  "$dir/central.log" && ok || bad "the central's log does not say why it refused"
C room sync now >"$dir/out" 2>&1 && ok || bad "the honest classroom stopped syncing: $(cat "$dir/out")"
for n in central room; do
  C $n check >"$dir/out" 2>&1 && ok || bad "$n check after the sync: $(cat "$dir/out")"
done
stop room
stop central

# --- a store of a newer format: refused, named, untouched
unpack "$fixtures/format-1" newer || bad "cannot unpack format-1"
newer=$((build_format + 1))
printf 'VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n 666f726d6174\n %02x\nDATA=END\n' \
  "$newer" >"$dir/format.dump"
mdb_load -s meta -f "$dir/format.dump" "$dir/newer/store" && ok || bad "mdb_load"
rm -f "$dir/newer/store/lock.mdb"
before=$(sum "$dir/newer/store/data.mdb")
ls -A "$dir/newer" >"$dir/files.before"
"$cairnd" --data "$dir/newer" >"$dir/out" 2>&1; rc=$?
[ $rc -eq 1 ] && ok || bad "cairnd on a newer store: exit $rc"
grep -q "store was written by a newer cairn (store format $newer; this cairnd reads format $((newer - 1)) and older): upgrade cairn to a release that reads format $newer" \
  "$dir/out" && ok || bad "the refusal does not say which format it needs: $(cat "$dir/out")"
"$cairnd" --check --data "$dir/newer" >"$dir/out" 2>&1 && bad "cairnd --check passed a newer store" || ok
grep -q "newer cairn (store format $newer" "$dir/out" && ok || bad "--check does not say why: $(cat "$dir/out")"
[ "$(sum "$dir/newer/store/data.mdb")" = "$before" ] && ok || bad "the newer store's file was changed"
ls -A "$dir/newer" | grep -v '^cairnd\.lock$' | diff - "$dir/files.before" >/dev/null && ok ||
  bad "files appeared in the newer store's directory: $(ls -A "$dir/newer")"

# --- a real upgrade: the test build one format ahead on the fixture
next=$((build_format + 1))
with_cairnd() { local this=$cairnd; cairnd=$1; shift; "$@"; cairnd=$this; }
with_next() { with_cairnd "$cairnd_next" "$@"; }
unpack "$fixtures/format-$build_format" up || bad "cannot unpack format-$build_format"
before=$(sum "$dir/up/store/data.mdb")
"$cairnd_next" --check --data "$dir/up" >"$dir/out" 2>&1 && bad "--check passed an older store" || ok
grep -q "store has format $build_format, older than this cairnd's ($next): cairnd upgrades it when it starts" \
  "$dir/out" && ok || bad "--check does not say the store is older: $(cat "$dir/out")"
[ "$(sum "$dir/up/store/data.mdb")" = "$before" ] && [ -z "$(ls "$dir/up" | grep before-upgrade)" ] && ok ||
  bad "--check changed the older store"
with_next start up
backup=$dir/up/before-upgrade-$build_format.cairnbackup
[ -f "$backup" ] && [ "$(stat -c %a "$backup")" = 600 ] && ok ||
  bad "no backup (mode 0600) before the upgrade: $(ls -l "$dir/up")"
line_of() { grep -nF "$1" "$dir/up.log" | head -1 | cut -d: -f1; }
b=$(line_of "upgrade: backup of the format $build_format store written to $backup")
m=$(line_of "upgrade: the store is migrated from format $build_format to $next (one transaction)")
r=$(line_of "ready:")
[ -n "$b" ] && [ -n "$m" ] && [ -n "$r" ] && [ "$b" -lt "$m" ] && [ "$m" -lt "$r" ] && ok ||
  bad "the log does not say backup, then migration, then ready: $(cat "$dir/up.log")"
C up check >"$dir/out" 2>&1 && ok || bad "the upgraded store does not check clean: $(cat "$dir/out")"
C up export --json | cmp -s - "$fixtures/format-$build_format/export.json" && ok ||
  bad "the upgraded store exports other records"
C up status --as-of 2026-11-10 --json | cmp -s - "$fixtures/format-$build_format/status.json" && ok ||
  bad "the upgraded store's status differs"
stop up
with_next start up # at its format now: nothing to upgrade, no second backup
[ "$(ls "$dir/up" | grep -c '^before-upgrade-')" -eq 1 ] && ok || bad "a second backup: $(ls "$dir/up")"
[ "$(grep -c 'upgrade: ' "$dir/up.log")" -eq 3 ] && ok || bad "upgraded twice: $(cat "$dir/up.log")"
stop up
before=$(sum "$dir/up/store/data.mdb")
"$cairnd" --data "$dir/up" >"$dir/out" 2>&1 && bad "this build opened the upgraded store" || ok
grep -q "newer cairn (store format $next; this cairnd reads format $build_format and older)" "$dir/out" &&
  ok || bad "the older cairnd does not say why: $(cat "$dir/out")"
[ "$(sum "$dir/up/store/data.mdb")" = "$before" ] && ok || bad "the older cairnd changed the upgraded store"
# The way back: the older binaries restore the backup taken before.
"$cairnd" --restore "$backup" --data "$dir/back" >"$dir/out" 2>&1 && ok ||
  bad "the backup before the upgrade does not restore: $(cat "$dir/out")"
grep -q "clean" "$dir/out" && ok || bad "the restored store does not check clean: $(cat "$dir/out")"
start back
C back export --json | cmp -s - "$fixtures/format-$build_format/export.json" && ok ||
  bad "the restored store exports other records"
stop back
# An earlier attempt's backup is kept: the new one takes another name.
unpack "$fixtures/format-$build_format" up2 || bad "cannot unpack format-$build_format"
echo "an earlier backup" >"$dir/up2/before-upgrade-$build_format.cairnbackup"
with_next start up2
[ "$(cat "$dir/up2/before-upgrade-$build_format.cairnbackup")" = "an earlier backup" ] && ok ||
  bad "the earlier backup was overwritten"
ls "$dir/up2" | grep -q "^before-upgrade-$build_format-[0-9T]*Z\.cairnbackup$" && ok ||
  bad "no backup under another name: $(ls "$dir/up2")"
stop up2

# --- a classroom of the previous release and a central of this one
if [ -n "${CAIRN_PREVIOUS:-}" ]; then
  old_cairnd=$CAIRN_PREVIOUS/daemon/cairnd
  O() { local n=$1; shift; "$CAIRN_PREVIOUS/client/cairn" --data "$dir/$n" "$@"; }
  unpack "$fixtures/format-$build_format" mixed || bad "cannot unpack format-$build_format"
  start mixed
  O oldroom init --campus north --classroom room-1 >/dev/null && with_cairnd "$old_cairnd" start oldroom
  O oldroom join "$(C mixed enroll --campus north --classroom room-1 2>/dev/null)" >"$dir/out" 2>&1
  O oldroom student add --id old-1 --name "From the older release" >/dev/null ||
    bad "the previous release's classroom cannot write"
  O oldroom sync now >"$dir/sync.out" 2>&1; rc=$?
  if [ $rc -eq 0 ]; then
    for _ in $(seq 60); do
      C mixed export --scope north/room-1 >"$dir/mixed.scope" 2>/dev/null
      O oldroom export >"$dir/oldroom.export" 2>/dev/null
      cmp -s "$dir/mixed.scope" "$dir/oldroom.export" && break
      O oldroom sync now --no-wait >/dev/null 2>&1
      sleep 0.5
    done
    cmp -s "$dir/mixed.scope" "$dir/oldroom.export" && ok ||
      bad "the previous release's classroom and this central differ after a sync"
    grep -q "From the older release" "$dir/mixed.scope" && ok ||
      bad "the previous release's student did not reach this central"
  else
    # refused: it must say to upgrade, and keep what it wrote
    cat "$dir/out" "$dir/sync.out" | grep -qi "upgrade" && ok ||
      bad "the previous release was refused without saying to upgrade: $(cat "$dir/out" "$dir/sync.out")"
    O oldroom export | grep -q "From the older release" && ok ||
      bad "the refused classroom lost what it wrote"
  fi
  stop oldroom
  stop mixed
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
