#!/usr/bin/env bash
# Installs the PouchDB peer (package-lock.json, exact versions) into
# bench/peer/node_modules, which git ignores, with `npm ci`; does nothing when
# that install is already there and newer than package-lock.json. Needs node
# 18 or later and npm (Debian 12: apt-get install nodejs npm). Its output goes
# to stderr; exits non-zero with a one-line reason when it cannot install.
set -euo pipefail
cd "$(dirname "$0")"
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
echo "bench/peer/install.sh: installing the PouchDB peer with npm ci" >&2
npm ci --no-audit --no-fund >&2
touch "$stamp"
