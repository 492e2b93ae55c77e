#!/usr/bin/env bash
# run.sh: build the libFuzzer targets and run each for a bounded time, or
# replay the corpus and every saved crash through them once.
#
#   tests/fuzz/run.sh                 build, then fuzz every target 30 s
#   tests/fuzz/run.sh --seconds 300   ... for 300 s each
#   tests/fuzz/run.sh --only sync     one target (repeatable)
#   tests/fuzz/run.sh --replay        run corpus/<t>/* and regressions/<t>/* once
#   --build-dir DIR                   where to build (default: build-fuzz in the repo)
#   --no-build                        use the binaries already in --build-dir (ctest)
#   FUZZ_FLAGS="-jobs=2 ..."          extra libFuzzer flags for the fuzzing runs
#
# The seed corpus is copied to a scratch directory, so tests/fuzz/corpus is
# never modified. Exit status 1 on any crash, leak, timeout or sanitizer
# report; the input is kept under tests/fuzz/regressions/<target>/ and its
# path printed. Needs clang-14 with libFuzzer (libclang-rt-14-dev).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
all_targets=(entry frame sync token transport handshake record config bundle roster ifthen web backup body keystore)
seconds=30
replay=0
build=1
build_dir="$repo/build-fuzz"
targets=()

while [ $# -gt 0 ]; do
  case "$1" in
  --seconds) seconds="$2"; shift 2 ;;
  --replay) replay=1; shift ;;
  --only) targets+=("$2"); shift 2 ;;
  --build-dir) build_dir="$2"; shift 2 ;;
  --no-build) build=0; shift ;;
  -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
case "$seconds" in '' | *[!0-9]*) echo "run.sh: --seconds takes a whole number" >&2; exit 2 ;; esac

if [ "$build" = 1 ]; then
  cc=${CC:-clang-14}
  command -v "$cc" >/dev/null || { echo "run.sh: $cc not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    CC="$cc" cmake -S "$repo" -B "$build_dir" -DCAIRN_FUZZ=ON -DCAIRN_TESTS=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$build_dir" --target fuzz_all -j "$(nproc)" >/dev/null
fi

binary() {
  local b
  b=$(find "$build_dir" -maxdepth 3 -type f -name "fuzz_$1" -perm -u+x 2>/dev/null | head -n 1)
  [ -n "$b" ] || { echo "run.sh: fuzz_$1 is not built in $build_dir" >&2; exit 2; }
  echo "$b"
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/cairn-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
failed=0

keep_crash() { # target file: copy into regressions/, print where
  local dir="$here/regressions/$1"
  mkdir -p "$dir"
  cp "$2" "$dir/"
  echo "  crashing input: $dir/$(basename "$2")"
}

if [ "$replay" = 1 ]; then
  for t in "${targets[@]}"; do
    bin=$(binary "$t")
    files=()
    for d in "$here/corpus/$t" "$here/regressions/$t"; do
      [ -d "$d" ] || continue
      while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$d" -type f -print0 | sort -z)
    done
    if [ ${#files[@]} -eq 0 ]; then
      printf '%-10s no inputs\n' "$t"
      continue
    fi
    if "$bin" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 "${files[@]}" >"$scratch/$t.log" 2>&1; then
      printf '%-10s ok (%d inputs)\n' "$t" "${#files[@]}"
    else
      printf '%-10s FAILED\n' "$t"
      grep -E 'Running: |ERROR|SUMMARY|contract violated' "$scratch/$t.log" | tail -n 6 | sed 's/^/  /'
      failed=1
    fi
  done
  exit $failed
fi

printf '%-10s %8s %10s %8s %s\n' target seconds runs exec/s result
for t in "${targets[@]}"; do
  bin=$(binary "$t")
  work="$scratch/$t"
  mkdir -p "$work/corpus" "$work/crash"
  [ -d "$here/corpus/$t" ] && cp -R "$here/corpus/$t/." "$work/corpus/"
  rc=0
  # -malloc_limit_mb: no message cairn accepts is over 4 MiB, so one
  # allocation of 256 MiB means a count in the input was trusted.
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
    -print_final_stats=1 -artifact_prefix="$work/crash/" ${FUZZ_FLAGS:-} "$work/corpus" \
    >"$work/log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
  crashes=("$work"/crash/*)
  if [ $rc -eq 0 ] && [ ! -e "${crashes[0]}" ]; then
    printf '%-10s %8s %10s %8s ok\n' "$t" "$seconds" "${runs:-?}" "${speed:-?}"
  else
    printf '%-10s %8s %10s %8s FAILED (exit %d)\n' "$t" "$seconds" "${runs:-?}" "${speed:-?}" $rc
    grep -E '^==[0-9]+==ERROR|^SUMMARY|contract violated|runtime error|#[0-9]+ 0x' "$work/log" |
      head -n 16 | sed 's/^/  /'
    for f in "${crashes[@]}"; do [ -e "$f" ] && keep_crash "$t" "$f"; done
    failed=1
  fi
done
exit $failed
