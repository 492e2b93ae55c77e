#!/usr/bin/env bash
# The web page against a hostile or careless browser, with curl and a
# bounded flood of bad clients (flood.js), on a real cairnd:
#  - without a session every data URL answers 401 and names no student;
#  - a sign-in link works once; one voided by --sign-out-all does not;
#  - a POST without the CSRF token (or from another Origin, or not JSON)
#    is refused and writes nothing;
#  - a request naming another Host is refused;
#  - every response carries the security headers, student data no-store;
#  - oversized bodies are refused before they are read;
#  - 2,000 slow, idle, oversized and header-stuffed connections while a
#    second client records 2,000 pieces of evidence through the socket:
#    every one acknowledged and still there after a restart, cairnd's
#    memory stays bounded, and the page answers again once they are gone;
#  - a page that closes its event stream leaves cairnd idle;
#  - a restart signs everyone out; SIGTERM stops cairnd cleanly with pages
#    and slow clients still connected.
# (A link older than 5 minutes is refused: test_web, with the clock given.)
# usage: security_test.sh CAIRN CAIRND LOADGEN
set -uo pipefail
cairn=$1
cairnd=$2
loadgen=$3
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/cairn-websec-XXXXXX)
. "$here/../integration/nodes.sh"
. "$here/web_env.sh"

command -v node >/dev/null || { echo "FAIL: node is not installed (scripts/deps.sh)"; exit 1; }
# Under AddressSanitizer, freed memory waits in a quarantine (256 MiB by
# default) before reuse: keep it small so that the memory bound below
# measures cairnd, not the sanitizer.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
port=$(free_port)
base=http://127.0.0.1:$port
C t init --campus north --classroom r12 >/dev/null
sed -i "s/^web =.*/web = 127.0.0.1:$port/" "$dir/t/cairn.conf"
start t || exit 1
C t student add --id zed-7 --name "Zed Secretname" >/dev/null
ms=$(C t milestone add --student zed-7 --type academic --statement "I will read 20 minutes a day." \
  --scale 0-4 --baseline 1 --target 3 --start 2026-09-01 --end 2027-06-01 --json | new_id)
C t evidence add "$ms" 2 --note "Secretnote about Zed" >/dev/null

code() { curl -s -o "$dir/body" -D "$dir/head" -w '%{http_code}' "$@"; }
leaks() { grep -qE "Secretname|Secretnote" "$dir/body" "$dir/head"; }

# --- no session: 401 and no name, for every data URL
for path in /api/session /api/today /api/device /api/sync "/api/milestone/$ms/records" /api/events \
  "/api/milestone/$ms" /api/student/zed-7/family; do
  c=$(code -m 5 "$base$path")
  [ "$c" = 401 ] && ok || bad "GET $path without a session answered $c"
  leaks && bad "GET $path without a session leaks a name" || ok
done
for path in /api/evidence /api/evidence/amend /api/evidence/retract /api/sync/now /api/bundle/export /api/signout; do
  c=$(code -m 5 -H 'Content-Type: application/json' -d '{}' "$base$path")
  [ "$c" = 401 ] && ok || bad "POST $path without a session answered $c"
  leaks && bad "POST $path without a session leaks a name" || ok
done
c=$(code -m 5 -b "cairn_session_$port=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$base/api/today")
[ "$c" = 401 ] && ok || bad "a made-up session cookie answered $c"
for path in / /index.html /app.js /app.css /favicon.svg /signin "/signin?t=nothing"; do
  c=$(code -m 5 "$base$path")
  leaks && bad "$path leaks a name" || ok
done

# --- the link: once, then refused; voided by --sign-out-all
link=$(C t web --as "Ms Rivera" 2>/dev/null)
c=$(code -m 5 "$link")
[ "$c" = 303 ] && ok || bad "a fresh link answered $c"
grep -qi "^set-cookie: cairn_session_$port=[A-Za-z0-9_-]\{43\}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200" "$dir/head" &&
  ok || bad "the link's cookie: $(grep -i set-cookie "$dir/head")"
cookie=$(sed -n 's/^set-cookie: \(cairn_session_[0-9]*=[^;]*\);.*/\1/Ip' "$dir/head" | tr -d '\r')
c=$(code -m 5 "$link")
[ "$c" = 403 ] && ok || bad "a replayed link answered $c"
grep -qi '^set-cookie' "$dir/head" && bad "a replayed link set a cookie" || ok
csrf=$(curl -s -b "$cookie" "$base/api/session" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
[ ${#csrf} -eq 43 ] && ok || bad "the session gives no CSRF token"

# --- headers
code -m 5 -b "$cookie" "$base/api/today" >/dev/null
for h in "content-security-policy: default-src 'self'" "x-content-type-options: nosniff" \
         "referrer-policy: no-referrer" "cache-control: no-store"; do
  grep -qi "^$h" "$dir/head" && ok || bad "/api/today lacks '$h'"
done
grep -q "Secretname" "$dir/body" && ok || bad "a signed-in Today shows the student"
code -m 5 "$base/app.js" >/dev/null
grep -qi "^content-security-policy: default-src 'self'" "$dir/head" && ok || bad "/app.js lacks the CSP"
grep -qi "unsafe-inline\|unsafe-eval" "$dir/head" && bad "the CSP allows inline or eval" || ok

# --- CSRF: refused and nothing written
C t export >"$dir/before"
post='{"milestone":"'$ms'","value":3,"observed":"2026-11-09"}'
c=$(code -m 5 -b "$cookie" -H 'Content-Type: application/json' -d "$post" "$base/api/evidence")
[ "$c" = 403 ] && ok || bad "a POST without the CSRF token answered $c"
c=$(code -m 5 -b "$cookie" -H "X-CSRF-Token: ${csrf%?}x" -H 'Content-Type: application/json' -d "$post" "$base/api/evidence")
[ "$c" = 403 ] && ok || bad "a POST with a wrong CSRF token answered $c"
c=$(code -m 5 -b "$cookie" -H "X-CSRF-Token: $csrf" -H 'Origin: http://evil.example' -H 'Content-Type: application/json' -d "$post" "$base/api/evidence")
[ "$c" = 403 ] && ok || bad "a POST from another Origin answered $c"
c=$(code -m 5 -b "$cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: text/plain' -d "$post" "$base/api/evidence")
[ "$c" = 415 ] && ok || bad "a POST that is not JSON answered $c"
c=$(code -m 5 -b "$cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' -d '{"value":1,' "$base/api/evidence")
[ "$c" = 400 ] && ok || bad "a POST of broken JSON answered $c"
C t export >"$dir/after"
cmp -s "$dir/before" "$dir/after" && ok || bad "a refused POST wrote something"
c=$(code -m 5 -b "$cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' -d "$post" "$base/api/evidence")
[ "$c" = 200 ] && ok || bad "the same POST with its token answered $c: $(cat "$dir/body")"
id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$dir/body")
grep -q '"by": "Ms Rivera"' <(C t show "$id" --json) && ok || bad "the web's evidence does not name who recorded it"

# --- Host (DNS rebinding)
for h in "evil.example:$port" "localhost:$port" "127.0.0.1:1"; do
  c=$(code -m 5 -H "Host: $h" -b "$cookie" "$base/api/today")
  [ "$c" = 421 ] && ok || bad "Host $h answered $c"
  leaks && bad "Host $h leaks a name" || ok
done

# --- limits
c=$(code -m 5 -b "$cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
  -H 'Content-Length: 70000' -d '{}' "$base/api/evidence")
[ "$c" = 413 ] && ok || bad "a 70 kB JSON body answered $c"
c=$(code -m 5 -b "$cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
  -H 'Transfer-Encoding: chunked' -d "$post" "$base/api/evidence")
[ "$c" = 411 ] || [ "$c" = 400 ] && ok || bad "a chunked body answered $c"

# --- a page that closes its live-update stream costs nothing after: cairnd
# does not go on spinning on the socket it left (it did: libwebsockets reads
# nothing while the stream's transaction is open, and epoll reports its EOF
# again and again)
ticks() { awk '{print $14 + $15}' "/proc/${pid[t]}/stat"; }
curl -s -N -m 30 -b "$cookie" "$base/api/events" >/dev/null &
ev=$!
sleep 1
kill "$ev"
wait "$ev" 2>/dev/null
sleep 1
t0=$(ticks)
sleep 2
t1=$(ticks)
[ $((t1 - t0)) -lt 50 ] && ok ||
  bad "cairnd spent $((t1 - t0))/100 s of CPU in the 2 s after a page closed its event stream"

# --- the flood, while a second client writes through the socket
pid_t=${pid[t]}
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid_t/status"; }
base_rss=$(rss)
node "$here/flood.js" "$port" 2000 20 >"$dir/flood.json" &
flood=$!
extra_pids="$flood"
sleep 1
( max=0; while kill -0 "$flood" 2>/dev/null; do r=$(rss); [ "${r:-0}" -gt $max ] && max=$r; sleep 0.2; done; echo $max ) >"$dir/maxrss" &
sampler=$!
start_s=$(date +%s.%N)
"$loadgen" "$dir/t" "$ms" 2000 >"$dir/acked" 2>"$dir/loadgen.err"
lg=$?
took=$(echo "$(date +%s.%N) - $start_s" | bc)
[ $lg -eq 0 ] && [ "$(wc -l <"$dir/acked")" -eq 2000 ] && ok ||
  bad "during the flood the socket client got $(wc -l <"$dir/acked") of 2000 acknowledged: $(cat "$dir/loadgen.err")"
echo "2000 socket writes during the flood took ${took} s"
wait "$flood"
wait "$sampler"
extra_pids=
max_rss=$(cat "$dir/maxrss")
echo "cairnd's memory: ${base_rss} kB before the flood, at most ${max_rss} kB during it"
[ "$max_rss" -lt $((base_rss + 65536)) ] && ok || bad "memory grew from $base_rss kB to $max_rss kB"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  let opened = 0, gaveUp = 0;
  for (const k of Object.keys(r)) { opened += r[k].opened + r[k].refused; gaveUp += r[k].gaveUp; }
  console.log("flood: " + JSON.stringify(r));
  process.exit(opened === 2000 ? 0 : 1);' "$dir/flood.json" && ok || bad "the flood did not run its 2000 connections"
# once they are gone the page answers again
c=000
for _ in $(seq 30); do
  c=$(curl -s -o /dev/null -w '%{http_code}' -m 2 -b "$cookie" "$base/api/today")
  [ "$c" = 200 ] && break
  sleep 0.5
done
[ "$c" = 200 ] && ok || bad "after the flood the page answered $c"
lines=$(grep -c "libwebsockets" "$dir/t.log")
[ "$lines" -le 12 ] && ok || bad "the flood wrote $lines log lines"

# --- SIGTERM with a page and slow clients connected: a clean stop
curl -s -N -b "$cookie" "$base/api/events" >/dev/null &
events=$!
node "$here/flood.js" "$port" 50 30 >/dev/null &
flood=$!
extra_pids="$events $flood"
sleep 1
kill -TERM "$pid_t"
t0=$(date +%s)
wait "$pid_t"
rc=$?
unset "pid[t]"
[ $rc -eq 0 ] && ok || bad "cairnd exited $rc on SIGTERM with clients connected"
[ $(($(date +%s) - t0)) -le 10 ] && ok || bad "cairnd took more than 10 s to stop"
grep -q "handles still open" "$dir/t.log" && bad "cairnd stopped with libuv handles open" || ok
kill "$events" "$flood" 2>/dev/null
wait 2>/dev/null
extra_pids=

# --- durable, and a restart signs everyone out
start t || exit 1
C t export >"$dir/export"
missing=0
while read -r id; do grep -q "\"id\":\"$id\"" "$dir/export" || missing=$((missing + 1)); done <"$dir/acked"
[ $missing -eq 0 ] && ok || bad "$missing acknowledged entries are gone after the restart"
c=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -b "$cookie" "$base/api/today")
[ "$c" = 401 ] && ok || bad "after a restart the old session answered $c"
link=$(C t web 2>/dev/null)
C t web --sign-out-all >/dev/null
c=$(code -m 5 "$link")
[ "$c" = 403 ] && ok || bad "a link voided by --sign-out-all answered $c"
C t check >/dev/null && ok || bad "cairn check after the test: $(C t check 2>&1 | head -3)"
stop t

# --- beyond loopback only with TLS; with TLS, a Secure cookie
tls_port=$(free_port)
sed -i "s/^web =.*/web = 0.0.0.0:$tls_port/" "$dir/t/cairn.conf"
"$cairnd" --data "$dir/t" 2>"$dir/refused.log"
rc=$?
[ $rc -eq 1 ] && grep -q "beyond loopback needs TLS" "$dir/refused.log" && ok ||
  bad "web = 0.0.0.0 without TLS: exit $rc, $(cat "$dir/refused.log")"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
  -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
sed -i "s|^web =.*|web = 127.0.0.1:$tls_port|; s|^web_tls_cert =.*|web_tls_cert = $dir/cert.pem|;
        s|^web_tls_key =.*|web_tls_key = $dir/key.pem|" "$dir/t/cairn.conf"
start t || exit 1
link=$(C t web 2>/dev/null)
[ "${link#https://127.0.0.1:$tls_port/signin?t=}" != "$link" ] && ok || bad "the TLS link is $link"
c=$(curl -s -o "$dir/body" -D "$dir/head" -w '%{http_code}' -m 5 --cacert "$dir/cert.pem" "$link")
[ "$c" = 303 ] && grep -qi "^set-cookie: cairn_session_$tls_port=.*; Secure" "$dir/head" && ok ||
  bad "TLS sign-in: $c $(grep -i set-cookie "$dir/head")"
c=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$tls_port/")
[ "$c" != 200 ] && ok || bad "plain HTTP on the TLS port answered 200"
grep -qE "Secretname|Secretnote|Ms Rivera" "$dir/t.log" && bad "a name reached cairnd's log" || ok

echo "security_test.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]
