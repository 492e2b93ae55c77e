#!/usr/bin/env bash
# The sync benchmark (docs/BENCHMARKS.md, "Sync (issue 3)"): builds in
# Release, runs bench_sync, and writes its table into docs/BENCHMARKS.md
# between the markers <!-- sync:begin --> and <!-- sync:end -->.
# Arguments go to bench_sync, e.g. bench/run_sync.sh --quick.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-bench
doc=docs/BENCHMARKS.md
if ! grep -q '^<!-- sync:begin -->$' "$doc" || ! grep -q '^<!-- sync:end -->$' "$doc"; then
  echo "run_sync.sh: $doc lacks the <!-- sync:begin --> / <!-- sync:end --> markers" >&2
  exit 1
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCAIRN_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_sync
table=$(mktemp)
trap 'rm -f "$table" "$doc.tmp"' EXIT
"$build/bench/bench_sync" --out "$table" "$@" >/dev/null
awk -v table="$table" '
  $0 == "<!-- sync:begin -->" { print; while ((getline line < table) > 0) print line; skip = 1; next }
  $0 == "<!-- sync:end -->" { skip = 0 }
  !skip { print }' "$doc" >"$doc.tmp"
mv "$doc.tmp" "$doc"
echo "run_sync.sh: results written to $doc"
