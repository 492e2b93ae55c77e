#!/usr/bin/env bash
# build-previous.sh: builds cairn and cairnd of an earlier release into
# OUT/build (the source in OUT/src), for the upgrade test's mixed-release
# part: CAIRN_PREVIOUS=OUT/build tests/integration/upgrade_test.sh ...
# REF defaults to the latest release tag before HEAD; with no tag yet it
# builds nothing and exits 77.
# usage: build-previous.sh OUT [REF]
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUT [REF]" >&2; exit 2; }
out=$1
ref=${2:-}
cd "$(dirname "$0")/.."
if [ -z "$ref" ]; then
  ref=$(git describe --tags --abbrev=0 HEAD^ 2>/dev/null) ||
    { echo "build-previous: no release tag before HEAD (or no git history): nothing to build"; exit 77; }
fi
mkdir -p "$out/src"
git archive "$ref" | tar -x -C "$out/src"
cmake -S "$out/src" -B "$out/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out/build" -j"${JOBS:-$(nproc)}" --target cairn_cli cairnd >/dev/null
echo "build-previous: $ref built in $out/build"
