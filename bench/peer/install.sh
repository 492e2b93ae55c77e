#!/usr/bin/env bash
# usage: bench/peer/install.sh [PEER_DIR]
# Installs a benchmark peer's npm packages (its package-lock.json, exact
# versions) into PEER_DIR/node_modules, which git ignores, with `npm ci`:
# the PouchDB peer (bench/peer, the default) or the Hypercore peer
# (bench/peer-hypercore). Does nothing when that install is already there
# and newer than package-lock.json. Needs node 18 or later and npm (Debian
# 12: apt-get install nodejs npm) and, for the first install, the npm
# registry. Its output goes to stderr; exits non-zero with a one-line reason
# when it cannot install.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here}
[ -f "$dir/package-lock.json" ] || { echo "bench/peer/install.sh: no package-lock.json in $dir" >&2; exit 1; }
cd "$dir"
stamp=node_modules/.cairn-installed

for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench/peer/install.sh: $tool not found; install node 18+ and npm (Debian 12: apt-get install nodejs npm)" >&2
    exit 1
  fi
done
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
  echo "bench/peer/install.sh: node $(node --version) is too old; the peer needs node 18 or later" >&2
  exit 1
fi
if [ -f "$stamp" ] && [ ! "$stamp" -ot package-lock.json ]; then
  exit 0
fi
echo "bench/peer/install.sh: installing $(basename "$dir") with npm ci" >&2
if ! npm ci --no-audit --no-fund >&2; then
  echo "bench/peer/install.sh: npm ci failed in $dir (is the npm registry reachable?)" >&2
  exit 1
fi
touch "$stamp"
