#!/usr/bin/env bash
# Erasing a student (docs/FORMAT.md section 3.4) across every tier: a
# central, a campus hub and three classrooms that all teach one student,
# who has a good amount of evidence (with a distinctive name and note),
# reviews, support changes and a celebration. room-1 is offline during the
# erase and goes on writing evidence about her; room-3 is offline too, for
# good, and brings its own such evidence by bundle. The central erases her
# (it is killed with SIGKILL in the middle of its compaction and
# restarted); the hub (killed likewise once the erasure reaches it) and
# room-2 sync; room-1 comes back by sync; room-3's bundle is imported at
# the hub, and room-3, which never syncs again, gets the erasure by a
# downward bundle the central writes for it (`bundle export --for`): it
# then holds what a sync would have brought it. A downward bundle is
# refused at another classroom, a classroom's own bundle is refused at a
# classroom, and a classroom, an unknown or a revoked device get none.
# Afterwards:
#   - no file of any node's data directory holds her name or the note
#     (a byte search, and `strings` of each file): a backup made before an
#     upgrade (made here with cairn backup) is removed by the erasure;
#   - `cairn check` is clean everywhere;
#   - every other student is as they were (export before and after, equal);
#   - room-1's evidence written after the erase was refused upstream, and
#     room-1's `cairn sync status` says why; the bundle import says so too;
#   - a classroom cannot erase, and nothing more can be written about her.
# usage: erase_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
dir=$(mktemp -d /tmp/cairn-erase-XXXXXX)
pc=$((20000 + RANDOM % 6000))
ph=$((pc + 1))
. "$(dirname "$0")/nodes.sh"

NAME="Zephyrine Quillfeather"
NOTE="counted the violet kites over Marrow Lake"
rooms="room-1 room-2 room-3"

C central init --role central --listen 127.0.0.1:$pc --name district >/dev/null && start central
C hub init --role hub --campus north --listen 127.0.0.1:$ph >/dev/null && start hub
C hub join "$(C central enroll --campus north --role hub)" >/dev/null || bad "hub join"
for r in $rooms; do
  C $r init --campus north --classroom $r >/dev/null && start $r
  C $r join "$(C central enroll --campus north --classroom $r)" --upstream 127.0.0.1:$ph \
    >"$dir/out" 2>&1 || bad "$r join: $(cat "$dir/out")"
done

# --- a year of work: ana-8 in all three classrooms, and one other student each
C room-1 student add --id ana-8 --name "$NAME" --grade 8 --campus north --classroom room-1 \
  --classroom room-2 --classroom room-3 --accommodation "extended time" >/dev/null ||
  bad "student add"
for r in $rooms; do
  C $r student add --id "other-${r#room-}" --name "Other Pupil ${r#room-}" --campus north \
    --classroom $r >/dev/null || bad "other student in $r"
done
ms=$(C room-1 milestone add --student ana-8 --type academic --statement "I will state a claim." \
  --scale 0-4 --baseline 1 --target 3 --start 2026-01-05 --end 2026-06-26 --json | new_id)
oms=$(C room-2 milestone add --student other-2 --type behavior --statement "I will ask for help." \
  --scale count --baseline 5 --target 1 --direction down --start 2026-01-05 --end 2026-06-26 \
  --json | new_id)
[ -n "$ms" ] && [ -n "$oms" ] && ok || bad "milestones"
for i in $(seq 1 30); do
  d=$(printf '2026-%02d-%02d' $((1 + i % 5)) $((5 + i % 20)))
  C room-1 evidence add "$ms" $((i % 5)) --observed "$d" --note "$NOTE ($i)" >/dev/null ||
    bad "evidence $i"
  C room-2 evidence add "$oms" $((i % 4)) --observed "$d" --note "an ordinary day ($i)" \
    >/dev/null || bad "other evidence $i"
done
C room-2 review add "$ms" --kind monthly --decision adjust-supports --date 2026-02-02 \
  --note "$NOTE at the review" >/dev/null || bad "review"
C room-2 support add "$ms" --support "small group twice weekly" --date 2026-02-03 \
  --note "$NOTE in the support" >/dev/null || bad "support change"
C room-3 celebrate "$ms" --text "$NAME reached 3" --date 2026-03-01 >/dev/null ||
  bad "celebration"
for r in $rooms; do C $r sync now >/dev/null 2>&1; done
C hub sync now >/dev/null 2>&1
for r in $rooms; do converge $r north/$r || bad "$r converges before the erase"; done
converge hub north || bad "the hub converges before the erase"
grep -q "$NOTE" "$dir/room-3.export" && ok || bad "room-3 does not hold her history"

# what must not change: every record but hers, on each node
others() { # others NODE: its export without ana-8's records and erasures
  C "$1" export | jq -c --arg ms "$ms" '.records | map(select(.type != "erasure" and
    .id != "ana-8" and .fields.student != "ana-8" and .fields.milestone != $ms))'
}
for n in central hub $rooms; do others $n >"$dir/$n.others.before"; done

# backups from before an upgrade hold her too: an erasure removes them
for n in hub room-2; do
  C $n backup --to "$dir/$n/before-upgrade-2.cairnbackup" >/dev/null || bad "$n backup"
  # it holds her, sealed as in the store (FORMAT.md section 8)
  [ -s "$dir/$n/before-upgrade-2.cairnbackup" ] && ok || bad "$n's backup is empty"
  grep -q -a -F "$NAME" "$dir/$n/before-upgrade-2.cairnbackup" && bad "$n's backup holds her in clear" || ok
done

# --- only the central erases
C room-2 student erase ana-8 --reason "not mine" >"$dir/out" 2>&1 && bad "a classroom erased" ||
  grep -q "central" "$dir/out" && ok || bad "the classroom's refusal: $(cat "$dir/out")"

# --- room-1 and room-3 go offline and keep writing about her
# start NODE after a kill: its old socket is still there, so wait for an answer
restart() { start $1; for _ in $(seq 200); do C $1 ping >/dev/null 2>&1 && return 0; sleep 0.05; done; bad "$1 does not answer"; }
offline() { stop $1; sed -i "s/^upstream = .*/upstream = 127.0.0.1:1/" "$dir/$1/cairn.conf"; start $1; }
online() { stop $1; sed -i "s/^upstream = .*/upstream = 127.0.0.1:$ph/" "$dir/$1/cairn.conf"; start $1; }
offline room-1
offline room-3

# --- the erase, with the central killed after its compacted copy is durable
stop central
export CAIRN_TEST_KILL_AT_COMPACT=copied
start central
unset CAIRN_TEST_KILL_AT_COMPACT
C central student erase ana-8 --reason "family request under the district records policy" \
  >"$dir/out" 2>&1 && bad "the central answered though it was killed: $(cat "$dir/out")" || ok
wait "${pid[central]}" 2>/dev/null
unset "pid[central]"
[ -e "$dir/central/store/data.mdb.compact" ] && ok || bad "the killed central left no copy"
# the hub is killed once the erasure reaches it, after its rename
stop hub
export CAIRN_TEST_KILL_AT_COMPACT=renamed
start hub
unset CAIRN_TEST_KILL_AT_COMPACT
restart central
C central show ana-8 >"$dir/out" 2>&1
grep -q "^erasure ana-8" "$dir/out" && grep -q "family request" "$dir/out" && ok ||
  bad "the central does not show the erasure: $(cat "$dir/out")"
grep -q "erasure: the store was compacted" "$dir/central.log" && ok ||
  bad "the restarted central did not finish the compaction"
for _ in $(seq 120); do kill -0 "${pid[hub]}" 2>/dev/null || break; sleep 0.5; done
kill -0 "${pid[hub]}" 2>/dev/null && bad "the hub was not killed in its compaction" || ok
wait "${pid[hub]}" 2>/dev/null
unset "pid[hub]"
restart hub
grep -q "erasure: the store was compacted" "$dir/hub.log" && ok ||
  bad "the restarted hub did not finish the compaction"

# room-1 and room-3, offline, write about her after the erase
C room-1 evidence add "$ms" 4 --observed 2026-06-01 --note "$NOTE after the erase" >/dev/null &&
  ok || bad "room-1 cannot write offline"
C room-3 evidence add "$ms" 4 --observed 2026-06-02 --note "$NOTE by bundle" >/dev/null &&
  ok || bad "room-3 cannot write offline"
C room-3 bundle export --to "$dir/room-3.bundle" >/dev/null || bad "room-3 bundle export"

# --- the others sync; room-1 comes back by sync; room-3's bundle, then room-3
C room-2 sync now >/dev/null 2>&1
converge hub north || bad "the hub converges after the erase"
converge room-2 north/room-2 || bad "room-2 converges after the erase"
online room-1
C room-1 sync now >/dev/null 2>&1
converge room-1 north/room-1 || bad "room-1 converges after coming back"
C hub bundle import "$dir/room-3.bundle" >"$dir/out" 2>&1 || bad "bundle import: $(cat "$dir/out")"
grep -q "erased student" "$dir/out" && ok || bad "the import does not say why: $(cat "$dir/out")"
rm -f "$dir/room-3.bundle" # carried, imported: not a node's file

# --- room-3 never syncs again: the erasure reaches it by a downward bundle
device() { C central devices --json | jq -r --arg r "$1" '.devices[] | select(.classroom == $r) | .id'; }
room2=$(device room-2)
room3=$(device room-3)
[ ${#room3} -eq 64 ] && [ ${#room2} -eq 64 ] && ok || bad "device ids: '$room2' '$room3'"
C room-3 bundle export --for "$room2" --to "$dir/by-room-3.bundle" >"$dir/out" 2>&1 &&
  bad "a classroom wrote a bundle for another device" ||
  grep -q "only the central or a hub writes a bundle for another device" "$dir/out" && ok ||
  bad "a classroom's --for: $(cat "$dir/out")"
[ -e "$dir/by-room-3.bundle" ] && bad "the refused export left a file" || ok
C central bundle export --for 00000000deadbeef --to "$dir/nobody.bundle" >"$dir/out" 2>&1 &&
  bad "a bundle for an unknown device" || grep -q "no enrolled device" "$dir/out" && ok ||
  bad "--for an unknown device: $(cat "$dir/out")"
C central bundle export --for "${room3:0:12}" --to "$dir/down-3.bundle" >"$dir/out" 2>&1 &&
  grep -q "for device ${room3:0:8}" "$dir/out" && ok ||
  bad "the central's bundle for room-3: $(cat "$dir/out")"
C room-3 export >"$dir/room-3.before" && grep -q -F "$NAME" "$dir/room-3.before" && ok ||
  bad "room-3 lacks her before the bundle"
rm -f "$dir/room-3.before"
grep -r -a -l -F "$NAME" "$dir/room-3" >/dev/null && bad "room-3 holds her in clear" || ok
# a bundle for room-3 is no other classroom's; a classroom's own bundle goes up only
C room-2 bundle import "$dir/down-3.bundle" >"$dir/out" 2>&1 && bad "room-2 imported room-3's" ||
  grep -q "not addressed to this node" "$dir/out" && ok ||
  bad "room-2 importing room-3's bundle: $(cat "$dir/out")"
C room-1 bundle export --to "$dir/up-1.bundle" >/dev/null || bad "room-1's bundle up"
C room-2 bundle import "$dir/up-1.bundle" >"$dir/out" 2>&1 && bad "room-2 imported room-1's" ||
  grep -q "written by device [0-9a-f]\{8\}.*only the central or this node's hub" \
    "$dir/out" && ok || bad "room-2 importing room-1's bundle: $(cat "$dir/out")"
C room-3 bundle import "$dir/down-3.bundle" >"$dir/out" 2>&1 && grep -q "^applied [1-9]" \
  "$dir/out" && ok || bad "room-3's import of the central's bundle: $(cat "$dir/out")"
# its hub may write one too (room-3 holds all of it already), but for no one above it
C hub bundle export --for "$room3" --to "$dir/hub-3.bundle" >"$dir/out" 2>&1 &&
  C room-3 bundle import "$dir/hub-3.bundle" >"$dir/out" 2>&1 && grep -q "^applied 0 entries" \
  "$dir/out" && ok || bad "room-3's import of the hub's bundle: $(cat "$dir/out")"
hubid=$(C central devices --json | jq -r '.devices[] | select(.role == "hub") | .id')
C hub bundle export --for "$hubid" --to "$dir/self.bundle" >"$dir/out" 2>&1 &&
  bad "the hub wrote a bundle for itself" || grep -q "is this node" "$dir/out" && ok ||
  bad "the hub's --for itself: $(cat "$dir/out")"
rm -f "$dir/down-3.bundle" "$dir/up-1.bundle" "$dir/hub-3.bundle" # carried, imported: not a node's files
C room-3 export >"$dir/room-3.export"
C central export --scope north/room-3 >"$dir/central.room-3.export"
cmp -s "$dir/room-3.export" "$dir/central.room-3.export" && ok ||
  bad "room-3 after the bundle differs from the central: $(diff <(tr ',' '\n' <"$dir/room-3.export") \
    <(tr ',' '\n' <"$dir/central.room-3.export") | head -10)"
C hub sync now >/dev/null 2>&1
converge hub north || bad "the hub converges at the end"

for n in hub room-2; do
  [ ! -e "$dir/$n/before-upgrade-2.cairnbackup" ] && grep -q "erasure: removed .*before-upgrade-2" \
    "$dir/$n.log" && ok || bad "$n kept its backup from before the erasure"
done

# --- what room-1 wrote after the erase was refused, and room-1 is told why
C room-1 sync status >"$dir/out" 2>&1
grep -q "refused .* erased student" "$dir/out" && ok ||
  bad "room-1's sync status does not say why: $(cat "$dir/out")"
C hub sync status --json | jq -e '.refusals.entries_erased >= 1' >/dev/null && ok ||
  bad "the hub did not count the entries about the erased student"

# --- nothing of her is left in any data directory
for n in central hub $rooms; do
  C $n student list --withdrawn | grep -q "ana-8" && bad "$n still lists her" || ok
  for w in "$NAME" "$NOTE" "Zephyrine" "violet kites"; do
    if grep -r -a -l -F "$w" "$dir/$n" >"$dir/hits"; then bad "$n holds \"$w\": $(cat "$dir/hits")"; else ok; fi
    hit=
    while IFS= read -r -d '' f; do
      strings -a "$f" | grep -q -F "$w" && hit="$hit $f"
    done < <(find "$dir/$n" -type f -print0)
    [ -z "$hit" ] && ok || bad "strings finds \"$w\" in$hit"
  done
  C $n check >"$dir/out" 2>&1 && ok || bad "$n check: $(cat "$dir/out")"
  others $n >"$dir/$n.others.after"
  cmp -s "$dir/$n.others.before" "$dir/$n.others.after" && ok ||
    bad "$n: other students changed: $(diff "$dir/$n.others.before" "$dir/$n.others.after" | head -5)"
done

# --- nothing more about her, anywhere
C central student add --id ana-8 --name "Someone New" --campus north --classroom room-2 \
  >"$dir/out" 2>&1 && bad "her id was used again" || grep -q "erased" "$dir/out" && ok ||
  bad "the refusal does not say erased: $(cat "$dir/out")"
C room-2 evidence add "$ms" 2 --observed 2026-06-03 >"$dir/out" 2>&1 &&
  bad "room-2 wrote about her" || grep -q "erased" "$dir/out" && ok ||
  bad "room-2's refusal does not say erased: $(cat "$dir/out")"
C central student erase ana-8 --reason "again" >"$dir/out" 2>&1 && bad "erased twice" ||
  grep -q "erased already" "$dir/out" && ok || bad "a second erase: $(cat "$dir/out")"

# --- retention: [retention] erase_withdrawn_after_days on the central
C central student add --id old-1 --name "Left Long Ago" --campus north --classroom room-2 \
  >/dev/null || bad "old-1"
C central student add --id new-1 --name "Left Lately" --campus north --classroom room-2 \
  >/dev/null || bad "new-1"
C central student withdraw old-1 --date 2020-06-30 >/dev/null || bad "withdraw old-1"
C central student withdraw new-1 --date "$(date +%F)" >/dev/null || bad "withdraw new-1"
C central retention --dry-run >"$dir/out" 2>&1 && bad "retention ran with no rule" ||
  grep -q "no rule" "$dir/out" && ok || bad "retention with no rule: $(cat "$dir/out")"
sed -i 's/^erase_withdrawn_after_days = .*/erase_withdrawn_after_days = 365/' "$dir/central/cairn.conf"
C room-2 retention --dry-run >"$dir/out" 2>&1 && bad "a classroom ran the retention" ||
  grep -q "central only" "$dir/out" && ok || bad "retention on a classroom: $(cat "$dir/out")"
C central retention --dry-run --json >"$dir/out" 2>&1 &&
  jq -e '.dry_run == true and .days == 365 and ([.erase[].id] == ["old-1"])' "$dir/out" \
    >/dev/null && ok || bad "retention --dry-run: $(cat "$dir/out")"
C central student list --withdrawn | grep -q "^old-1 " && ok || bad "the dry run erased old-1"
C central retention >"$dir/out" 2>&1 && grep -q "^erased student old-1 (withdrawn on 2020-06-30)" \
  "$dir/out" && ok || bad "retention: $(cat "$dir/out")"
C central student list --withdrawn >"$dir/out"
grep -q "^old-1 " "$dir/out" && bad "retention left old-1" || ok
grep -q "^new-1 " "$dir/out" && ok || bad "retention erased new-1, withdrawn today"
C central show old-1 | grep -q "reason: retention: withdrawn on 2020-06-30" && ok ||
  bad "the erasure of old-1 does not say why"
converge room-2 north/room-2 || bad "room-2 converges after the retention"
grep -q "Left Long Ago" "$dir/room-2.export" && bad "room-2 still holds old-1" || ok

# --- no bundle for a revoked device
room1=$(device room-1)
C central revoke "$room1" >/dev/null || bad "revoke room-1"
C central bundle export --for "$room1" --to "$dir/revoked.bundle" >"$dir/out" 2>&1 &&
  bad "a bundle for a revoked device" || grep -q "revoked" "$dir/out" && ok ||
  bad "--for a revoked device: $(cat "$dir/out")"
[ -e "$dir/revoked.bundle" ] && bad "the refused export left a file" || ok

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
