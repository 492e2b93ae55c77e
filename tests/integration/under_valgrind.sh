#!/bin/sh
# Runs $CAIRND_UNDER_VALGRIND (a cairnd) under valgrind memcheck, for the
# integration tests: errors and definite or indirect leaks are written to
# $VALGRIND_LOG_DIR/cairnd.PID.log, which scripts/test.sh expects empty.
exec valgrind -q --error-exitcode=99 --leak-check=full \
  --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
  --log-file="${VALGRIND_LOG_DIR:-/tmp}/cairnd.%p.log" "$CAIRND_UNDER_VALGRIND" "$@"
