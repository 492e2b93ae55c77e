#!/usr/bin/env bash
# The local benchmark (docs/BENCHMARKS.md, "Local (issue 2)"): builds in
# Release, runs bench_local, and writes its table into docs/BENCHMARKS.md
# between the markers <!-- local:begin --> and <!-- local:end -->.
# Arguments go to bench_local, e.g. bench/run_local.sh --quick.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-bench
doc=docs/BENCHMARKS.md
if ! grep -q '^<!-- local:begin -->$' "$doc" || ! grep -q '^<!-- local:end -->$' "$doc"; then
  echo "run_local.sh: $doc lacks the <!-- local:begin --> / <!-- local:end --> markers" >&2
  exit 1
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCAIRN_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_local
table=$(mktemp)
trap 'rm -f "$table" "$doc.tmp"' EXIT
"$build/bench/bench_local" --out "$table" "$@" >/dev/null
awk -v table="$table" '
  $0 == "<!-- local:begin -->" { print; while ((getline line < table) > 0) print line; skip = 1; next }
  $0 == "<!-- local:end -->" { skip = 0 }
  !skip { print }' "$doc" >"$doc.tmp"
mv "$doc.tmp" "$doc"
echo "run_local.sh: results written to $doc"
