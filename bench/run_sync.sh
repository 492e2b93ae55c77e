#!/usr/bin/env bash
# The sync benchmark (docs/BENCHMARKS.md, "Sync (issue 3)"); see bench/run.sh.
exec "$(dirname "$0")/run.sh" sync "$@"
