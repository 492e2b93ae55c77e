#!/usr/bin/env bash
# The milestone page's progress graph read back from its SVG, in a real
# headless chromium against a real cairnd on a fresh data directory: the
# checks are in graph_test.js; screenshots go to $WEB_ARTIFACTS (default:
# the build's tests/web-artifacts).
# usage: graph_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/cairn-graph-XXXXXX)
. "$here/../integration/nodes.sh"
. "$here/web_env.sh"

web_env_ready || exit 1
port=$(free_port)
C t init --campus north --classroom r12 --name "Room 7 laptop" >/dev/null
sed -i "s/^web =.*/web = 127.0.0.1:$port/" "$dir/t/cairn.conf"
start t || exit 1
artifacts=${WEB_ARTIFACTS:-$(dirname "$cairn")/../tests/web-artifacts}
mkdir -p "$artifacts"
WEB_BASE=http://127.0.0.1:$port CAIRN=$cairn CAIRN_DATA=$dir/t WEB_ARTIFACTS=$artifacts \
  CHROME_PROFILE=$dir/chrome node "$here/graph_test.js" || fail=$((fail + 1))
stop t
echo "graph_test.sh: $pass passed, $fail failed (screenshots in $artifacts)"
[ $fail -eq 0 ]
