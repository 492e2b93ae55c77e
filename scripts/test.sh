#!/usr/bin/env bash
# The whole test suite: installs what is missing, then builds and runs every
# test twice, once plain and once under AddressSanitizer+UndefinedBehaviorSanitizer,
# then the upgrade test with a classroom of the previous release (once one
# is tagged), then all but the bad-network, crash and fault-proxy tests under ThreadSanitizer (any
# report fails), then runs the CLI, sync, central-office and web-page browser
# tests with cairnd under valgrind, then replays every fuzz regression and runs
# each libFuzzer target briefly (FUZZ_SECONDS each, default 15), then runs
# bench/run --quick and bench/run report --quick once.
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
  # the bad-network test repeats its loss and slow-cuts cases: 3 runs each
  # here, 1 under the sanitizers (run by hand it does 10)
  runs=3
  [ $variant = asan ] && runs=1
  BADNET_RUNS=$runs ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$dir" --output-on-failure -j"$jobs"
done
echo "== upgrade: a classroom of the previous release (its latest tag) with this release's central"
prev=$(mktemp -d)
rc=0
JOBS=$jobs scripts/build-previous.sh "$prev" || rc=$?
if [ $rc -eq 0 ]; then
  CAIRN_PREVIOUS=$prev/build ctest --test-dir build-test-plain --output-on-failure -R upgrade_integration
elif [ $rc -ne 77 ]; then # 77: no release tag yet
  exit $rc
fi
rm -rf "$prev"
# (not the fault proxy's own test: the proxy is one libuv thread, nothing
# for TSan to find, and under TSan its SIGTERM case once hung past 60 s)
echo "== ThreadSanitizer: every test but the bad-network, crash and fault-proxy ones, with every cairnd built with -fsanitize=thread"
tsdir=build-test-tsan
tslog=$(mktemp -d)
cmake -S . -B "$tsdir" -DCAIRN_SANITIZE=thread -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$tsdir" -j"$jobs"
TSAN_OPTIONS="log_path=$tslog/report halt_on_error=0 suppressions=$PWD/tests/tsan.supp" \
  ctest --test-dir "$tsdir" --output-on-failure -j"$jobs" -E "badnet|crash|faultproxy"
if [ -n "$(ls -A "$tslog")" ]; then
  cat "$tslog"/*
  echo "ThreadSanitizer reported the above"
  exit 1
fi
rm -rf "$tslog"
echo "== valgrind memcheck: the CLI, school year, sync, central, move and browser tests with every cairnd under valgrind"
vgdir=$(mktemp -d)
plain=build-test-plain
CAIRND_UNDER_VALGRIND=$PWD/$plain/daemon/cairnd VALGRIND_LOG_DIR=$vgdir \
  tests/integration/cli_test.sh $plain/client/cairn tests/integration/under_valgrind.sh
CAIRND_UNDER_VALGRIND=$PWD/$plain/daemon/cairnd VALGRIND_LOG_DIR=$vgdir \
  tests/integration/schoolyear_test.sh $plain/client/cairn tests/integration/under_valgrind.sh
CAIRND_UNDER_VALGRIND=$PWD/$plain/daemon/cairnd VALGRIND_LOG_DIR=$vgdir \
  tests/integration/sync_test.sh $plain/client/cairn tests/integration/under_valgrind.sh \
  $plain/tests/faultproxy/faultproxy $plain/tests/loadgen
CAIRND_UNDER_VALGRIND=$PWD/$plain/daemon/cairnd VALGRIND_LOG_DIR=$vgdir \
  tests/integration/central_test.sh $plain/client/cairn tests/integration/under_valgrind.sh
CAIRND_UNDER_VALGRIND=$PWD/$plain/daemon/cairnd VALGRIND_LOG_DIR=$vgdir \
  tests/integration/move_test.sh $plain/client/cairn tests/integration/under_valgrind.sh
CAIRND_UNDER_VALGRIND=$PWD/$plain/daemon/cairnd VALGRIND_LOG_DIR=$vgdir \
  tests/web/browser_test.sh $plain/client/cairn tests/integration/under_valgrind.sh
if [ -n "$(cat "$vgdir"/*.log)" ]; then
  cat "$vgdir"/*.log
  echo "valgrind found errors or leaks in cairnd (above)"
  exit 1
fi
rm -rf "$vgdir"
echo "== fuzz: replay the corpus and regressions, then ${FUZZ_SECONDS:-15} s per target"
tests/fuzz/run.sh --replay
tests/fuzz/run.sh --seconds "${FUZZ_SECONDS:-15}"
echo "== bench: bench/run --quick (shows the side-by-side benchmark still runs; asserts nothing about speed)"
bench/run --quick
echo "== bench: bench/run report --quick (the reports benchmark still runs)"
bench/run report --quick
