#!/usr/bin/env bash
# cairnd takes its device key from a systemd credential: with
# CREDENTIALS_DIRECTORY/cairn-device-key and no DATA/device.key the node
# keeps its device id and writes; a different DATA/device.key beside the
# credential stops it before anything starts; an equal one is named; the
# backup still holds the key; and, where systemd-creds runs, a key
# encrypted with it and decrypted again starts the node.
# usage: keycred_test.sh CAIRN CAIRND
set -uo pipefail
cairn=$1
cairnd=$2
dir=$(mktemp -d /tmp/cairn-keycred-XXXXXX)
. "$(dirname "$0")/nodes.sh"

data=$dir/n
creds=$dir/creds
mkdir -m 0700 "$creds"
device=$("$cairn" init --data "$data" --campus C --classroom R)
[ ${#device} -eq 64 ] && ok || bad "init printed a device id: $device"
sed -i 's/^web =.*/web = off/' "$data/cairn.conf" # no page: no port to share

# the key moves into the credential directory as systemd exposes it: read-only
mv "$data/device.key" "$creds/cairn-device-key"
chmod 0400 "$creds/cairn-device-key"

# start_cred NODE: start with CREDENTIALS_DIRECTORY=$creds
start_cred() {
  CREDENTIALS_DIRECTORY=$creds "$cairnd" --data "$dir/$1" 2>>"$dir/$1.log" &
  pid[$1]=$!
  for _ in $(seq 200); do
    [ -S "$dir/$1/cairnd.sock" ] && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || break
    sleep 0.05
  done
  unset "pid[$1]"
  bad "cairnd $1 did not start with the key in a credential"; return 1
}
# the device id cairnd reports (cairn ping)
device_of() { C "$1" ping 2>&1 | sed -n 's/^  device *//p'; }

if start_cred n; then
  [ "$(device_of n)" = "$device" ] && ok || bad "device id from the credential: $(C n ping 2>&1)"
  C n student add --id s1 --name "Ada Credential" >/dev/null 2>&1 && ok || bad "write with the key in a credential"
  grep -q "device key from the credential $creds/cairn-device-key" "$dir/n.log" && ok ||
    bad "the log names the credential: $(tail -3 "$dir/n.log")"
  [ ! -e "$data/device.key" ] && ok || bad "cairnd wrote DATA/device.key"
  # the backup holds the key cairnd loaded, from wherever it came
  C n backup --to "$dir/n.cairnbackup" >/dev/null 2>&1 && ok || bad "backup with the key in a credential"
  stop n
  "$cairnd" --restore "$dir/n.cairnbackup" --data "$dir/r" >"$dir/restore.out" 2>&1 && ok ||
    bad "restore: $(cat "$dir/restore.out")"
  cmp -s "$dir/r/device.key" "$creds/cairn-device-key" && ok || bad "the restored device.key is the credential's key"
fi

# (a refused cairnd exits at once: timeout 30 only keeps a wrong start from
# hanging the test)
# without CREDENTIALS_DIRECTORY the node has no key: today's refusal
timeout 30 "$cairnd" --data "$data" >"$dir/nokey.out" 2>&1 && bad "started with no key at all" || ok
grep -q "device.key" "$dir/nokey.out" && ok || bad "names the missing device.key: $(cat "$dir/nokey.out")"
# a credential directory without cairn-device-key: as without one (device.key)
mkdir -m 0700 "$dir/othercreds"
CREDENTIALS_DIRECTORY=$dir/othercreds timeout 30 "$cairnd" --data "$data" >"$dir/other.out" 2>&1 &&
  bad "started from an empty credential directory" || ok
grep -q "$data/device.key" "$dir/other.out" && ok || bad "falls back to device.key: $(cat "$dir/other.out")"

# cairn init on the node whose key is in a credential makes no second key
"$cairn" init --data "$data" >"$dir/reinit.out" 2>&1 && bad "init over a node whose key moved" || ok
grep -q "already initialised" "$dir/reinit.out" && ok || bad "init says why: $(cat "$dir/reinit.out")"
[ ! -e "$data/device.key" ] && ok || bad "init wrote a second device key"

# a different DATA/device.key beside the credential: two identities, refused
"$cairn" init --data "$dir/other" >/dev/null
cp -p "$dir/other/device.key" "$data/device.key"
CREDENTIALS_DIRECTORY=$creds timeout 30 "$cairnd" --data "$data" >"$dir/two.out" 2>&1 &&
  bad "started with two different device keys" || ok
grep -q "two device keys" "$dir/two.out" && grep -q "$creds/cairn-device-key" "$dir/two.out" &&
  grep -q "$data/device.key" "$dir/two.out" && ok || bad "the refusal names both keys: $(cat "$dir/two.out")"
[ ! -S "$data/cairnd.sock" ] && ok || bad "a socket was made although cairnd refused"
CREDENTIALS_DIRECTORY=$creds timeout 30 "$cairnd" --check --data "$data" >"$dir/twocheck.out" 2>&1 &&
  bad "--check ran with two different device keys" || ok
grep -q "two device keys" "$dir/twocheck.out" && ok || bad "--check refuses too: $(cat "$dir/twocheck.out")"

# the same key in both places: the credential is used, and the log says so
install -m 0600 "$creds/cairn-device-key" "$data/device.key"
if start_cred n; then
  [ "$(device_of n)" = "$device" ] && ok || bad "device id with both equal"
  grep -q "$data/device.key holds the same key" "$dir/n.log" && ok ||
    bad "says device.key is the same key: $(tail -3 "$dir/n.log")"
  stop n
fi
rm -f "$data/device.key"

# a credential open to others is refused, naming the file
chmod 0404 "$creds/cairn-device-key"
CREDENTIALS_DIRECTORY=$creds timeout 30 "$cairnd" --data "$data" >"$dir/loose.out" 2>&1 &&
  bad "started with a credential others can read" || ok
grep -q "$creds/cairn-device-key: readable by others" "$dir/loose.out" && ok ||
  bad "names the loose credential: $(cat "$dir/loose.out")"
# as systemd shows it with a read ACL for the service user (group bits: the mask)
chmod 0440 "$creds/cairn-device-key"
CREDENTIALS_DIRECTORY=$creds timeout 30 "$cairnd" --check --data "$data" >"$dir/acl.out" 2>&1 && ok ||
  bad "a credential mode 0440 (an ACL's mask) is refused: $(cat "$dir/acl.out")"
chmod 0400 "$creds/cairn-device-key"

# an encrypted credential, as LoadCredentialEncrypted= would decrypt it
skip=""
if ! command -v systemd-creds >/dev/null 2>&1; then
  skip="systemd-creds is not installed"
elif [ "$(id -u)" != 0 ]; then
  skip="systemd-creds encrypt --with-key=host needs root (the host key is root's)"
elif ! systemd-creds encrypt --name=cairn-device-key --with-key=host "$creds/cairn-device-key" \
  "$dir/cairn-device-key.cred" >"$dir/creds.out" 2>&1; then
  skip="systemd-creds encrypt --with-key=host failed here: $(tr '\n' ' ' <"$dir/creds.out")"
fi
if [ -n "$skip" ]; then
  echo "skipped: encrypted credential round trip: $skip"
else
  cmp -s "$dir/cairn-device-key.cred" "$creds/cairn-device-key" && bad "the encrypted credential is the plain key" || ok
  mkdir -m 0700 "$dir/decrypted"
  systemd-creds decrypt --name=cairn-device-key "$dir/cairn-device-key.cred" \
    "$dir/decrypted/cairn-device-key" >"$dir/creds.out" 2>&1 && ok ||
    bad "systemd-creds decrypt: $(cat "$dir/creds.out")"
  chmod 0400 "$dir/decrypted/cairn-device-key"
  creds=$dir/decrypted
  if start_cred n; then
    [ "$(device_of n)" = "$device" ] && ok || bad "device id through an encrypted credential"
    C n student add --id s2 --name "Bo Encrypted" >/dev/null 2>&1 && ok ||
      bad "write through an encrypted credential"
    stop n
  fi
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
