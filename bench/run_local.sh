#!/usr/bin/env bash
# The local benchmark (docs/BENCHMARKS.md, "Local (issue 2)"); see bench/run.sh.
exec "$(dirname "$0")/run.sh" local "$@"
