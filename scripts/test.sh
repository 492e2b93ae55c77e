#!/usr/bin/env bash
# The whole test suite: installs what is missing, then builds and runs every
# test twice, once plain and once under AddressSanitizer+UndefinedBehaviorSanitizer,
# then replays every fuzz regression and runs each libFuzzer target briefly
# (FUZZ_SECONDS each, default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
for variant in plain asan; do
  dir=build-test-$variant
  flag=OFF
  [ $variant = asan ] && flag=ON
  echo "== $variant build"
  cmake -S . -B "$dir" -DCAIRN_SANITIZE=$flag -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "== $variant tests"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$dir" --output-on-failure -j"$jobs"
done
echo "== fuzz: replay the corpus and regressions, then ${FUZZ_SECONDS:-15} s per target"
tests/fuzz/run.sh --replay
tests/fuzz/run.sh --seconds "${FUZZ_SECONDS:-15}"
