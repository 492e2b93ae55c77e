#!/usr/bin/env bash
# Runs one benchmark of docs/BENCHMARKS.md: builds bench_NAME in Release
# (build-bench/), runs it, and writes its table into docs/BENCHMARKS.md
# between the markers <!-- NAME:begin --> and <!-- NAME:end -->.
# usage: bench/run.sh local|sync [ARGS...]   (ARGS go to bench_NAME, e.g. --quick)
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: bench/run.sh local|sync [ARGS...]}
shift
build=build-bench
doc=docs/BENCHMARKS.md
begin="<!-- $name:begin -->"
end="<!-- $name:end -->"
if ! grep -qx -- "$begin" "$doc" || ! grep -qx -- "$end" "$doc"; then
  echo "bench/run.sh: $doc lacks the $begin / $end markers" >&2
  exit 1
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCAIRN_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target "bench_$name"
table=$(mktemp)
trap 'rm -f "$table" "$doc.tmp"' EXIT
"$build/bench/bench_$name" --out "$table" "$@" >/dev/null
awk -v table="$table" -v begin="$begin" -v end="$end" '
  $0 == begin { print; while ((getline line < table) > 0) print line; skip = 1; next }
  $0 == end { skip = 0 }
  !skip { print }' "$doc" >"$doc.tmp"
mv "$doc.tmp" "$doc"
echo "bench/run.sh: $name results written to $doc"
