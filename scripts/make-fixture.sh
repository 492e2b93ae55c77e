#!/usr/bin/env bash
# make-fixture.sh: the upgrade fixture of this release's format
# (docs/FORMAT.md, "Format versions"; tests/integration/upgrade_test.sh).
#
# Makes a central and a classroom with this build's binaries, records a
# small school's worth of work on the classroom (three students, milestones
# of two types, evidence with an amendment and a retraction, a review, a
# support change, a note long enough to be compressed), syncs it to the central, and keeps the central's data
# directory as it is on disk, with what this build says of it:
#
#   OUT/data.tar.gz    the central's data directory (cairn.conf, device.key,
#                      store/data.mdb, and store/keys from format 4 on);
#                      the device key is in it: it is a
#                      test key, made for this fixture and used nowhere else
#   OUT/export.json    cairn export --json, byte for byte
#   OUT/status.json    cairn status --as-of 2026-11-10 --json, byte for byte
#
# Run it with the binaries of the release whose format is N (CAIRN_STORE_FORMAT)
# before a change bumps it, and commit OUT:
#   scripts/make-fixture.sh build/client/cairn build/daemon/cairnd tests/fixtures/format-N
# usage: make-fixture.sh CAIRN CAIRND OUT
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 CAIRN CAIRND OUT" >&2; exit 2; }
cairn=$(realpath "$1")
cairnd=$(realpath "$2")
out=$3
[ ! -e "$out" ] || { echo "$0: $out exists: remove it first" >&2; exit 1; }
dir=$(mktemp -d /tmp/cairn-fixture-XXXXXX)
pc=$((20000 + RANDOM % 6000))
. "$(dirname "$0")/../tests/integration/nodes.sh" # C, start, stop, new_id; cleans up at exit

C central init --role central --listen 127.0.0.1:$pc --name district >/dev/null
start central
C room init --campus north --classroom room-1 --name "room 1 laptop" >/dev/null
start room
C room join "$(C central enroll --campus north --classroom room-1 2>/dev/null)" >/dev/null 2>&1

C room student add --id ana-8 --name "Ana Lopez" --grade 8 --accommodation "extended time" >/dev/null
C room student add --id ben-6 --name "Ben Okafor" --grade 6 >/dev/null
C room student add --id cy-7 --name "Cy Ng" --grade 7 >/dev/null
ela=$(C room milestone add --student ana-8 --type academic \
  --statement "I will include a clear claim and 2 pieces of evidence." --scale 0-4 \
  --baseline 1.5 --target 3 --rule "4 of 5" --start 2026-10-05 --end 2026-11-16 \
  --support "small-group workshop" --json | new_id)
tally=$(C room milestone add --student ben-6 --type behavior \
  --statement "I will start seatwork within 5 minutes." --scale count --baseline 7 --target 2 \
  --direction down --start 2026-10-05 --end 2026-11-02 --json | new_id)
coping=$(C room milestone add --student cy-7 --type social-emotional \
  --statement "I will use a coping strategy when stress hits." --scale yesno --baseline 0 \
  --target 1 --rule "3 of 4" --start 2026-10-05 --end 2026-11-09 --json | new_id)
first=
for day in 12 19 26; do
  id=$(C room evidence add "$ela" 2 --observed 2026-10-$day --by "Ms R" --json | new_id)
  [ -n "$first" ] || first=$id
done
wrong=$(C room evidence add "$tally" 6 --observed 2026-10-06 --json | new_id)
C room evidence add "$tally" 5 --observed 2026-10-13 >/dev/null
C room evidence add "$tally" 4 --observed 2026-10-20 --note "settled in faster" >/dev/null
C room evidence add "$coping" yes --observed 2026-10-07 >/dev/null
# a note long enough to be kept compressed (format 5 on)
long=""
for week in 1 2 3 4 5 6 7 8; do
  long+="Week $week: used the breathing card before the quiz, then asked for a short walk. "
done
C room evidence add "$coping" yes --observed 2026-10-14 --note "$long" >/dev/null
C room evidence amend "$first" 3 --reason "scored the wrong row" >/dev/null
C room evidence retract "$wrong" --reason "wrong student" >/dev/null
C room review add "$ela" --kind weekly --decision adjust-supports --note "added stems" >/dev/null
C room support add "$ela" --support "sentence stems on desk" >/dev/null
C room sync now >/dev/null 2>&1

# The central holds it all: its own entries (the enrollment) and the room's.
converge room north/room-1 || { echo "$0: the central did not converge" >&2; exit 1; }
C central check >/dev/null
mkdir -p "$out"
C central export --json >"$out/export.json"
C central status --as-of 2026-11-10 --json >"$out/status.json"
stop central
stop room
keys=""
[ ! -e "$dir/central/store/keys" ] || keys=store/keys # format 4 on: the key store
tar -C "$dir/central" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
  -czf "$out/data.tar.gz" cairn.conf device.key store/data.mdb $keys
echo "$out: $(du -sh "$out" | cut -f1)"
