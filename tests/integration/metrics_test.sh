#!/usr/bin/env bash
# Monitoring (README "Monitoring"): /metrics on the web listener is
# Prometheus text that parses (every sample's family has HELP and TYPE
# lines, every histogram its +Inf bucket, _sum and _count, buckets never
# fall), holds no student data, and its counters move: entries written and
# commits after evidence is recorded; entries applied, links connected and
# refusals after a sync with a central and a garbage connection; bundle
# imports after one. /health answers 200 or 503 with the same verdict as
# cairn health, and refuses a bad ?within=. Served beyond loopback (TLS),
# both answer 403 to a client that is not on loopback.
# usage: metrics_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
dir=$(mktemp -d /tmp/cairn-metrics-XXXXXX)
. "$(dirname "$0")/nodes.sh"

command -v curl >/dev/null || { echo "FAIL: curl is not installed (scripts/deps.sh)"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is not installed (scripts/deps.sh)"; exit 1; }
pc=$(free_port)
wr=$(free_port)
wc=$(free_port)

# scrape NODE PORT: its /metrics into $dir/NODE.metrics; checks the format.
scrape() {
  local c
  c=$(curl -s -m 5 -o "$dir/$1.metrics" -D "$dir/$1.head" -w '%{http_code}' "http://127.0.0.1:$2/metrics")
  [ "$c" = 200 ] && ok || { bad "GET /metrics of $1 answered $c"; return; }
  grep -qi '^content-type: text/plain; version=0.0.4' "$dir/$1.head" && ok ||
    bad "/metrics of $1 is not text/plain; version=0.0.4: $(cat "$dir/$1.head")"
  python3 - "$dir/$1.metrics" >"$dir/out" 2>&1 <<'PY' && ok || bad "/metrics of $1 does not parse: $(cat "$dir/out")"
import math, re, sys
name_re = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
sample_re = re.compile(r'^(' + name_re + r')(\{(.*)\})? (\S+)$')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)')
types, helps, hist = {}, set(), {}
errors = []
for n, line in enumerate(open(sys.argv[1], encoding='utf-8').read().split('\n'), 1):
    if line == '':
        continue
    if line.startswith('# HELP '):
        helps.add(line.split(' ')[2]); continue
    if line.startswith('# TYPE '):
        parts = line.split(' ')
        if len(parts) != 4 or parts[3] not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
            errors.append('%d: bad TYPE line' % n)
        elif parts[2] in types:
            errors.append('%d: a second TYPE line for %s' % (n, parts[2]))
        types[parts[2]] = parts[3]; continue
    if line.startswith('#'):
        continue
    m = sample_re.match(line)
    if not m:
        errors.append('%d: not a sample: %r' % (n, line)); continue
    name, labels, value = m.group(1), m.group(3) or '', m.group(4)
    pos, lab = 0, {}
    while pos < len(labels):
        lm = label_re.match(labels, pos)
        if not lm:
            errors.append('%d: bad labels %r' % (n, labels)); break
        lab[lm.group(1)] = lm.group(2); pos = lm.end()
    try:
        v = float(value)
    except ValueError:
        errors.append('%d: bad value %r' % (n, value)); continue
    family = name
    for suffix in ('_bucket', '_sum', '_count'):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == 'histogram':
            family = name[:-len(suffix)]
    if family not in types:
        errors.append('%d: %s has no TYPE line before it' % (n, name)); continue
    if family not in helps:
        errors.append('%d: %s has no HELP line' % (n, name))
    if types[family] == 'counter' and not family.endswith('_total'):
        errors.append('%d: counter %s does not end in _total' % (n, family))
    if types[family] == 'counter' and v < 0:
        errors.append('%d: counter %s below 0' % (n, family))
    if types[family] == 'histogram':
        h = hist.setdefault(family, {'buckets': [], 'sum': None, 'count': None})
        if name.endswith('_bucket'):
            le = lab.get('le')
            if le is None:
                errors.append('%d: bucket without le' % n); continue
            h['buckets'].append((math.inf if le == '+Inf' else float(le), v))
        elif name.endswith('_sum'):
            h['sum'] = v
        else:
            h['count'] = v
for family, h in hist.items():
    b = h['buckets']
    if not b or b[-1][0] != math.inf:
        errors.append('%s: no le="+Inf" bucket last' % family)
    if h['sum'] is None or h['count'] is None:
        errors.append('%s: no _sum or _count' % family)
    if any(b[i][0] >= b[i + 1][0] or b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
        errors.append('%s: buckets not increasing' % family)
    if b and h['count'] is not None and b[-1][1] != h['count']:
        errors.append('%s: +Inf bucket is not _count' % family)
if not hist:
    errors.append('no histogram at all')
print('\n'.join(errors))
sys.exit(1 if errors else 0)
PY
}
# value NODE SAMPLE: the value of one sample line (name with labels) of the last scrape.
value() { awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print "missing" }' "$dir/$1.metrics"; }
# settles NODE PORT SAMPLE WANT: scrapes until SAMPLE is WANT, up to 10 s
# (an acknowledgement or a reconnection may still be on its way).
settles() {
  for _ in $(seq 50); do
    scrape "$1" "$2" >/dev/null
    [ "$(value "$1" "$3")" = "$4" ] && return 0
    sleep 0.2
  done
  return 1
}
# web_up URL: waits until the page answers (it listens just after the socket).
web_up() {
  for _ in $(seq 100); do
    [ "$(curl -sk -m 5 -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0
    sleep 0.1
  done
  bad "nothing listens at $1"
}
# health NODE PORT [QUERY]: the status of /health; its body in $dir/health.
health() { curl -s -m 5 -o "$dir/health" -w '%{http_code}' "http://127.0.0.1:$2/health${3:-}"; }

C central init --role central --listen 127.0.0.1:$pc --name district >/dev/null
sed -i "s/^web =.*/web = 127.0.0.1:$wc/" "$dir/central/cairn.conf"
start central
web_up "http://127.0.0.1:$wc/"
C room init --campus north --classroom room-1 >/dev/null
sed -i "s/^web =.*/web = 127.0.0.1:$wr/" "$dir/room/cairn.conf"
start room
web_up "http://127.0.0.1:$wr/"

# --- a classroom on its own: the format, and counters that move with its writes
scrape room $wr
[ "$(value room cairn_entries_written_total)" = 0 ] && ok ||
  bad "entries written before any write: $(value room cairn_entries_written_total)"
C room student add --id s-1 --name "Ada Secretname" >/dev/null || bad "student"
ms=$(C room milestone add --student s-1 --type academic --statement "I will write a clear claim." \
  --scale 0-4 --baseline 1 --target 3 --start 2026-10-05 --end 2026-12-14 --json | new_id)
for d in 05 06 07; do
  C room evidence add "$ms" 2 --observed 2026-10-$d --note "Secretnote" >/dev/null || bad "evidence"
done
scrape room $wr
[ "$(value room cairn_entries_written_total)" = 5 ] && ok ||
  bad "entries written after 5 writes: $(value room cairn_entries_written_total)"
c=$(value room cairn_commits_total)
[ "$c" != missing ] && [ "$c" -ge 1 ] && [ "$c" -le 5 ] && ok || bad "commits after 5 writes: $c"
[ "$(value room cairn_commit_duration_seconds_count)" = "$c" ] && ok ||
  bad "commit latency count $(value room cairn_commit_duration_seconds_count), commits $c"
[ "$(value room cairn_group_commit_entries_sum)" = 5 ] && ok ||
  bad "group commit entries sum: $(value room cairn_group_commit_entries_sum)"
u=$(value room cairn_lmdb_used_bytes)
m=$(value room cairn_lmdb_map_size_bytes)
[ "$u" != missing ] && [ "$m" != missing ] && [ "$u" -gt 0 ] && [ "$u" -le "$m" ] && ok ||
  bad "LMDB used $u of map $m"
[ "$(value room cairn_disk_free_bytes)" != missing ] && ok || bad "no disk free bytes"
grep -q "^# TYPE cairn_mirror" "$dir/room.metrics" && bad "mirror metrics with no mirror" || ok
grep -qE "Secretname|Secretnote|s-1|$ms" "$dir/room.metrics" && bad "/metrics holds student data" || ok

# --- /health: a classroom not joined has no upstream; then one that never succeeded
[ "$(health room $wr)" = 200 ] && grep -q '^healthy: cairnd serves' "$dir/health" && ok ||
  bad "/health of a classroom without upstream: $(cat "$dir/health")"
[ "$(health room $wr '?within=soon')" = 400 ] && ok || bad "/health?within=soon was not refused"
C room join "$(C central enroll --campus north --classroom room-1)" >"$dir/out" 2>&1 ||
  bad "room join: $(cat "$dir/out")"
converge room north/room-1 && ok || bad "room converges"

# --- after a sync: the central applied what the room wrote; both see the link
for _ in $(seq 50); do # counted once the apply's commit is answered, just after
  scrape central $wc
  a=$(value central cairn_entries_applied_total)
  [ "$a" != missing ] && [ "$a" -ge 5 ] && break
  sleep 0.2
done
[ "$a" != missing ] && [ "$a" -ge 5 ] && ok || bad "entries applied on the central after a sync: $a"
settles central $wc 'cairn_links_connected{role="classroom"}' 1 && ok ||
  bad "the central's links to classrooms: $(value central 'cairn_links_connected{role="classroom"}')"
settles room $wr 'cairn_links_connected{role="central"}' 1 && ok ||
  bad "the room's link to the central: $(value room 'cairn_links_connected{role="central"}')"
settles room $wr 'cairn_sync_pending_entries{direction="out"}' 0 && ok ||
  bad "pending out after converging: $(value room 'cairn_sync_pending_entries{direction="out"}')"
[ "$(health room $wr '?within=60')" = 200 ] && grep -q 'the upstream link succeeded' "$dir/health" && ok ||
  bad "/health after a sync: $(cat "$dir/health")"
# the same words (the free MiB and the seconds may move in between)
C room health --within 60 >"$dir/out" 2>&1 &&
  [ "$(sed 's/[0-9]\+/N/g' "$dir/out")" = "$(sed 's/[0-9]\+/N/g' "$dir/health")" ] && ok ||
  bad "cairn health and /health differ: $(cat "$dir/out") / $(cat "$dir/health")"

# --- refusals by reason: garbage on the central's sync port
before=$(awk '/^cairn_sync_refusals_total\{/ { s += $2 } END { print s + 0 }' "$dir/central.metrics")
for _ in 1 2 3; do
  head -c 300 /dev/urandom >"/dev/tcp/127.0.0.1/$pc" 2>/dev/null
done
for _ in $(seq 100); do
  scrape central $wc >/dev/null
  after=$(awk '/^cairn_sync_refusals_total\{/ { s += $2 } END { print s + 0 }' "$dir/central.metrics")
  [ "$after" -gt "$before" ] && break
  sleep 0.2
done
[ "$after" -gt "$before" ] && ok || bad "refusals did not move after garbage connections ($before -> $after)"

# --- the upstream gone: /health says so with 503, as cairn health exits 1
stop central
sleep 2
for _ in $(seq 20); do # a loaded machine may take longer to notice
  [ "$(health room $wr '?within=1')" = 503 ] && break
  sleep 0.5
done
[ "$(health room $wr '?within=1')" = 503 ] && grep -q '^unhealthy: the upstream link last succeeded' "$dir/health" && ok ||
  bad "/health with the upstream gone: $(cat "$dir/health")"
C room health --within 1 >"$dir/out" 2>&1 && bad "cairn health exited 0 with the upstream gone" || ok
start central
web_up "http://127.0.0.1:$wc/"

# --- bundle imports
stop room
sed -i "s/^upstream = .*/upstream = 127.0.0.1:1/" "$dir/room/cairn.conf"
start room
web_up "http://127.0.0.1:$wr/"
C room evidence add "$ms" 3 --observed 2026-10-09 >/dev/null || bad "offline evidence"
C room bundle export --to "$dir/offline.bundle" >/dev/null 2>&1 || bad "bundle export"
scrape central $wc
[ "$(value central cairn_bundle_imports_total)" = 0 ] && ok || bad "bundle imports before one"
C central bundle import "$dir/offline.bundle" >/dev/null 2>&1 || bad "bundle import"
scrape central $wc
settles central $wc cairn_bundle_imports_total 1 && ok ||
  bad "bundle imports after one: $(value central cairn_bundle_imports_total)"

# --- served beyond loopback (TLS): /metrics and /health answer this
# computer only; a client from another address gets 403 and no count.
ip4=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
if [ -n "$ip4" ] && command -v openssl >/dev/null; then
  wf=$(free_port)
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
    -subj "/CN=localhost" 2>/dev/null
  C far init --campus north --classroom room-9 >/dev/null
  sed -i "s|^web =.*|web = 0.0.0.0:$wf|; s|^web_host =.*|web_host = $ip4:$wf|;
          s|^web_tls_cert =.*|web_tls_cert = $dir/cert.pem|;
          s|^web_tls_key =.*|web_tls_key = $dir/key.pem|" "$dir/far/cairn.conf"
  start far
  web_up "https://127.0.0.1:$wf/"
  for path in /metrics /health; do
    c=$(curl -sk -m 5 -o "$dir/body" -w '%{http_code}' "https://$ip4:$wf$path")
    [ "$c" = 403 ] && ! grep -q cairn_ "$dir/body" && ok ||
      bad "$path from $ip4 (not loopback) answered $c: $(head -3 "$dir/body")"
    c=$(curl -sk -m 5 -o "$dir/body" -w '%{http_code}' -H "Host: $ip4:$wf" "https://127.0.0.1:$wf$path")
    [ "$c" = 200 ] && ok || bad "$path from loopback over TLS answered $c"
  done
  stop far
else
  echo "metrics: no non-loopback IPv4 address or no openssl: the 403 case was not run"
fi

echo "metrics: $pass passed, $fail failed"
[ $fail -eq 0 ]
