#!/usr/bin/env bash
# The teacher's page in a real headless chromium (Debian's /usr/bin/chromium,
# driven by playwright-core from tests/web/package-lock.json; no browser is
# downloaded) against a real cairnd on a fresh data directory. The checks are
# in browser_test.js; screenshots are kept in $WEB_ARTIFACTS (default: the
# build's tests/web-artifacts) for people to look at.
# usage: browser_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/cairn-web-XXXXXX)
. "$here/../integration/nodes.sh"
. "$here/web_env.sh"

web_env_ready || exit 1
port=$(free_port)
C t init --campus north --classroom r12 --name "Room 12 laptop" >/dev/null
sed -i "s/^web =.*/web = 127.0.0.1:$port/" "$dir/t/cairn.conf"
start t || exit 1

# Ana: four points well below the aimline (red), with an if/then that fires.
C t student add --id ana-8 --name "Ana Lopez" --grade 8 >/dev/null
red=$(C t milestone add --student ana-8 --type academic \
  --statement "I will include a clear claim and 2 pieces of evidence." --scale 0-4 --baseline 1 \
  --target 3 --start "$(date -d '-35 days' +%F)" --end "$(date -d '+35 days' +%F)" --cadence weekly \
  --if-then "If a student scores below the target on the next check-in, then add a 20-minute small-group session twice weekly." \
  --json | new_id)
for d in 28 21 14 7; do C t evidence add "$red" 1 --observed "$(date -d "-$d days" +%F)" >/dev/null; done
# Two more of Ana's goals (with the one the builder adds, four: one sheet).
for s in "I will read for 20 minutes each school night and write one sentence about it." \
         "I will ask for help with a help request sentence when I am stuck for 5 minutes."; do
  C t milestone add --student ana-8 --type social-emotional --statement "$s" --scale 0-4 --baseline 1 \
    --target 3 --start "$(date -d '-20 days' +%F)" --end "$(date -d '+40 days' +%F)" --cadence biweekly \
    --support "a check-in with the counselor on Mondays" --at-home "Ask about it at dinner." >/dev/null
done
# Cy: a name holding markup, and a milestone on track.
C t student add --id cy-6 --name "<img src=x onerror=alert(1)>Cy" --grade 6 >/dev/null
other=$(C t milestone add --student cy-6 --type behavior --statement "I will start seatwork within 5 minutes." \
  --scale count --baseline 7 --target 2 --direction down --start "$(date -d '-10 days' +%F)" \
  --end "$(date -d '+30 days' +%F)" --json | new_id)
C t evidence add "$other" 6 --observed "$(date -d '-3 days' +%F)" >/dev/null

artifacts=${WEB_ARTIFACTS:-$(dirname "$cairn")/../tests/web-artifacts}
mkdir -p "$artifacts"
WEB_BASE=http://127.0.0.1:$port CAIRN=$cairn CAIRN_DATA=$dir/t MS_RED=$red MS_OTHER=$other \
  WEB_ARTIFACTS=$artifacts CHROME_PROFILE=$dir/chrome \
  node "$here/browser_test.js" || fail=$((fail + 1))
stop t
grep -q "Ana Lopez" "$dir/t.log" && bad "a student name reached cairnd's log" || ok
echo "browser_test.sh: $pass passed, $fail failed (screenshots in $artifacts)"
[ $fail -eq 0 ]
