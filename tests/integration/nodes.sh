# nodes.sh: helpers for the integration tests that run cairnd, sourced after the
# caller has set $cairn, $cairnd and $dir (each node's data is $dir/NODE,
# its cairnd's stderr $dir/NODE.log). Extra processes to stop at exit may
# be listed in $extra_pids. CAIRN_KEEP_TEST_DIR=1 keeps $dir.

pass=0
fail=0
declare -A pid
extra_pids=

cleanup() {
  for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null; done
  for p in $extra_pids; do kill -TERM "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ $fail -ne 0 ]; then
    for f in "$dir"/*.log; do echo "--- $f"; tail -30 "$f"; done
  fi
  if [ -n "${CAIRN_KEEP_TEST_DIR:-}" ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
C() { local n=$1; shift; "$cairn" --data "$dir/$n" "$@"; }
new_id() { sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'; }

# free_port: prints a TCP port that nothing holds now, below the kernel's
# ephemeral range (32768 up), so that no outgoing connection of another
# test takes it before cairnd binds it (a port the kernel handed out for
# 127.0.0.1:0 once did, under ThreadSanitizer: "Address already in use").
free_port() {
  python3 -c '
import random, socket
for _ in range(200):
    p = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
'
}

start() { # start NODE: its cairnd in the background, once its socket listens
  "$cairnd" --data "$dir/$1" 2>>"$dir/$1.log" &
  pid[$1]=$!
  for _ in $(seq 200); do [ -S "$dir/$1/cairnd.sock" ] && return 0; sleep 0.05; done
  bad "cairnd $1 did not start"; return 1
}
stop() { kill -TERM "${pid[$1]}"; wait "${pid[$1]}"; unset "pid[$1]"; }

# Waits until NODE's export equals the central's export of SCOPE (retrying
# sync now and then), up to 60 s; on failure shows the difference.
converge() { # converge NODE SCOPE
  local i n
  for i in $(seq 120); do
    C "$1" export >"$dir/$1.export" 2>/dev/null
    C central export --scope "$2" >"$dir/central.$1.export" 2>/dev/null
    if [ -s "$dir/$1.export" ] && cmp -s "$dir/$1.export" "$dir/central.$1.export"; then
      return 0
    fi
    [ $((i % 10)) -eq 0 ] && C "$1" sync now --no-wait >/dev/null 2>&1
    sleep 0.5
  done
  diff <(tr ',' '\n' <"$dir/$1.export") <(tr ',' '\n' <"$dir/central.$1.export") | head -20
  for n in "$1" central; do echo "== sync status of $n"; C "$n" sync status 2>&1; done
  return 1
}
