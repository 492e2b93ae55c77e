#!/usr/bin/env bash
# Offline bundles through the web page, in a real headless chromium: a
# classroom that lost its network downloads a bundle from its Sync and
# device page; the central's page takes it as an upload and applies it, as
# `cairn bundle import` would. Checks in bundle_test.js.
# usage: bundle_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/cairn-webbundle-XXXXXX)
. "$here/../integration/nodes.sh"
. "$here/web_env.sh"

web_env_ready || exit 1
pc=$(free_port)
pw_room=$(free_port)
pw_central=$(free_port)
C central init --role central --listen 127.0.0.1:$pc --name "district office" >/dev/null
sed -i "s/^web =.*/web = 127.0.0.1:$pw_central/" "$dir/central/cairn.conf"
start central || exit 1
C room init --campus north --classroom room-1 >/dev/null
sed -i "s/^web =.*/web = 127.0.0.1:$pw_room/" "$dir/room/cairn.conf"
start room || exit 1
tok=$(C central enroll --campus north --classroom room-1 2>/dev/null)
C room join "$tok" >"$dir/out" 2>&1 && ok || bad "room join: $(cat "$dir/out")"
C room student add --id s-1 --name "Ada" --grade 6 >/dev/null
m=$(C room milestone add --student s-1 --type academic --statement "I will write a clear claim." \
  --scale 0-4 --baseline 1.5 --target 3 --start 2026-10-05 --end 2026-11-16 --json | new_id)
converge room north/room-1 && ok || bad "room converges over the network"
for _ in $(seq 100); do # the central's receipt of everything so far
  grep -q '"seq"' <(C room sync status --json 2>/dev/null) && break
  sleep 0.1
done
# the network is gone; the classroom keeps recording
stop room
sed -i "s/^upstream = .*/upstream = 127.0.0.1:1/" "$dir/room/cairn.conf"
start room || exit 1
offline=$(C room evidence add "$m" 3 --observed 2026-10-14 --note "written offline" --json | new_id)
C central show "$offline" >/dev/null 2>&1 && bad "the central has the offline write already" || ok

WEB_ROOM=http://127.0.0.1:$pw_room WEB_CENTRAL=http://127.0.0.1:$pw_central CAIRN=$cairn \
  ROOM_DATA=$dir/room CENTRAL_DATA=$dir/central OFFLINE_ID=$offline DOWNLOADS=$dir/downloads \
  CHROME_PROFILE=$dir/chrome node "$here/bundle_test.js" || fail=$((fail + 1))
grep -q "written offline" <(C central show "$offline" --json 2>/dev/null) && ok ||
  bad "after the upload the central does not hold the offline evidence"
ls "$dir/room/web" "$dir/central/web" | grep -q cairnbundle && bad "a bundle was left in DATA/web" || ok
echo "bundle_test.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]
