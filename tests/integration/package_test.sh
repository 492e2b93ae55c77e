#!/usr/bin/env bash
# The Debian package, installed for real: cpack builds cairn_VERSION_ARCH.deb
# from the install rules; lintian finds no error in it; installing it makes
# the cairn user and group and /var/lib/cairn (0750) and starts nothing;
# cairn init and cairnd run as that user from the installed paths and record
# evidence; dpkg -r keeps the data and the user, dpkg -P removes both. The
# unit passes systemd-analyze verify, and its exposure (systemd-analyze
# security, offline) is 2.0 or lower.
# Needs root and dpkg, and a machine where cairn is not installed; exits 77
# (ctest: skipped) otherwise. Removes the package on every exit path.
# usage: package_test.sh SOURCE_DIR
set -uo pipefail
src=$(cd "$1" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root to install a package"; exit 77; }
for tool in dpkg dpkg-deb dpkg-shlibdeps cpack setpriv; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is missing"; exit 77; }
done
if dpkg-query -W -f='${Status}' cairn 2>/dev/null | grep -q installed ||
   getent passwd cairn >/dev/null || getent group cairn >/dev/null || [ -e /var/lib/cairn ]; then
  echo "skipped: cairn is already installed here (package, user, group or /var/lib/cairn)"
  exit 77
fi

dir=$(mktemp -d /tmp/cairn-package-XXXXXX)
data=/var/lib/cairn
pid=
installed=0
pass=0
fail=0
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ $installed -eq 1 ] && dpkg -P cairn >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# setpriv execs: a cairnd started so is $! itself (runuser would fork).
as_cairn() { setpriv --reuid=cairn --regid=cairn --init-groups -- "$@"; }

# 1. Build the package from a tree configured for /usr.
cmake -S "$src" -B "$dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DCAIRN_TESTS=OFF >"$dir/build.log" 2>&1 &&
  cmake --build "$dir/build" -j2 >>"$dir/build.log" 2>&1 &&
  (cd "$dir/build" && cpack -G DEB >>"$dir/build.log" 2>&1) ||
  { tail -30 "$dir/build.log"; echo "FAIL: building the package"; exit 1; }
version=$(sed -n 's/^project(cairn VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
deb=$dir/build/cairn_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] && ok || { echo "FAIL: no $deb"; ls "$dir/build"; exit 1; }
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libuv1 liblmdb0 libsodium23 libmsgpackc2 adduser; do
  case "$depends" in *"$lib"*) ok ;; *) bad "Depends lacks $lib: $depends" ;; esac
done
if command -v lintian >/dev/null; then
  lintian "$deb" >"$dir/lintian.log" 2>&1
  grep -q '^E:' "$dir/lintian.log" && bad "lintian errors: $(grep '^E:' "$dir/lintian.log")" || ok
  grep '^W:' "$dir/lintian.log" | sed 's/^/lintian warning: /'
else
  echo "note: lintian is missing, not run"
fi

# 2. Install it: files, the user and group, the data directory; nothing started.
if command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$dir/install.log" 2>&1
else
  dpkg -i "$deb" >"$dir/install.log" 2>&1
fi
rc=$?
dpkg-query -W -f='${Status}' cairn 2>/dev/null | grep "install ok installed" >/dev/null && installed=1
[ $rc -eq 0 ] && [ $installed -eq 1 ] || { cat "$dir/install.log"; echo "FAIL: installing"; exit 1; }
unit=
for u in /usr/lib/systemd/system/cairnd.service /lib/systemd/system/cairnd.service; do
  [ -f "$u" ] && unit=$u
done
[ -n "$unit" ] && ok || bad "no cairnd.service installed"
for f in /usr/bin/cairn /usr/bin/cairnd; do
  [ -x "$f" ] && ok || bad "$f is not installed"
done
for f in /usr/share/man/man1/cairn.1.gz /usr/share/man/man8/cairnd.8.gz /usr/share/man/man5/cairn.conf.5.gz \
         /usr/share/bash-completion/completions/cairn; do
  [ -s "$f" ] && ok || bad "$f is not installed"
done
bash -c 'source /usr/share/bash-completion/completions/cairn; COMP_WORDS=(cairn evid); COMP_CWORD=1
         _cairn; echo "${COMPREPLY[*]}"' | grep -x evidence >/dev/null && ok ||
  bad "the installed completion does not complete cairn evid<TAB>"
grep -q "^ExecStart=/usr/bin/cairnd --data $data\$" "$unit" && ok || bad "the unit does not run /usr/bin/cairnd on $data"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd cairn)
[ -n "${uid:-}" ] && [ "$uid" -lt 1000 ] && ok || bad "no cairn system user: uid '${uid:-}'"
[ "$(getent group cairn | cut -d: -f3)" = "${gid:-}" ] && ok || bad "the cairn user's group is not cairn"
[ "${home:-}" = "$data" ] && [ "${shell:-}" = /usr/sbin/nologin ] && ok ||
  bad "cairn's home and shell: '${home:-}' '${shell:-}'"
[ "$(stat -c '%a %U %G' "$data")" = "750 cairn cairn" ] && ok ||
  bad "$data is $(stat -c '%a %U %G' "$data"), not 750 cairn cairn"
ls /etc/systemd/system/*.wants/cairnd.service >/dev/null 2>&1 && bad "installing enabled the unit" || ok
pgrep -u cairn >/dev/null && bad "installing started a process as cairn" || ok

# 3. The unit: systemd-analyze verify, and its exposure offline.
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" >"$dir/verify.log" 2>&1 && ok || bad "systemd-analyze verify: $(cat "$dir/verify.log")"
  if systemd-analyze security --offline=true --threshold=20 "$unit" >"$dir/security.log" 2>&1; then
    ok
  else
    bad "systemd-analyze security: $(tail -1 "$dir/security.log")"
  fi
  tail -1 "$dir/security.log"
else
  echo "note: systemd-analyze is missing, the unit is not verified"
fi

# 4. The node, as the cairn user, from the installed paths.
as_cairn /usr/bin/cairn init --data "$data" --campus north-ms --classroom room-12 >/dev/null &&
  ok || bad "cairn init as cairn"
setpriv --reuid=cairn --regid=cairn --init-groups -- /usr/bin/cairnd --data "$data" 2>"$dir/cairnd.log" &
pid=$!
for _ in $(seq 200); do [ -S "$data/cairnd.sock" ] && break; sleep 0.05; done
[ -S "$data/cairnd.sock" ] && ok || bad "cairnd did not open its socket: $(cat "$dir/cairnd.log")"
export CAIRN_DATA=$data
as_cairn /usr/bin/cairn student add --id ana-8 --name "Ana Lopez" --grade 8 >/dev/null &&
  ok || bad "student add"
mid=$(as_cairn /usr/bin/cairn milestone add --student ana-8 --type academic \
  --statement "I will include a clear claim in a 3-paragraph response." --scale 0-4 \
  --baseline 1 --target 3 --start 2026-11-02 --end 2026-12-14 --json |
  sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
[ -n "$mid" ] && ok || bad "milestone add"
eid=$(as_cairn /usr/bin/cairn evidence add "$mid" 2.5 --observed 2026-11-09 --json |
  sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
[ -n "$eid" ] && ok || bad "evidence add"
as_cairn /usr/bin/cairn export --json >"$dir/export.before" && grep -q "$eid" "$dir/export.before" &&
  ok || bad "the evidence is not in the export"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] && ok || bad "cairnd exited $rc on SIGTERM"

# 5. Remove: the programs go, the data and the user stay.
dpkg -r cairn >"$dir/remove.log" 2>&1 && ok || bad "dpkg -r: $(cat "$dir/remove.log")"
[ ! -e /usr/bin/cairnd ] && [ ! -e "$unit" ] && ok || bad "dpkg -r left the programs"
[ -f "$data/cairn.conf" ] && [ -f "$data/device.key" ] && [ -n "$(find "$data" -name data.mdb)" ] &&
  ok || bad "dpkg -r did not keep $data: $(ls -R "$data" 2>&1)"
getent passwd cairn >/dev/null && ok || bad "dpkg -r removed the cairn user"

# ... and the data opens again under the reinstalled package.
dpkg -i "$deb" >"$dir/install2.log" 2>&1 && ok || bad "reinstalling: $(cat "$dir/install2.log")"
as_cairn /usr/bin/cairnd --check --data "$data" >"$dir/check.log" 2>&1 && ok ||
  bad "cairnd --check on the kept data: $(cat "$dir/check.log")"

# 6. Purge: the data, the user and the group go.
dpkg -P cairn >"$dir/purge.log" 2>&1 && ok || bad "dpkg -P: $(cat "$dir/purge.log")"
installed=0
[ ! -e "$data" ] && ok || bad "dpkg -P left $data"
getent passwd cairn >/dev/null && bad "dpkg -P left the cairn user" || ok
getent group cairn >/dev/null && bad "dpkg -P left the cairn group" || ok

echo "package: $pass passed, $fail failed"
[ $fail -eq 0 ]
