#!/usr/bin/env bash
# Installs what cairn needs to build and test on Debian 12, if missing.
# Runs apt-get update once, and only when something is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libuv1-dev libmsgpack-dev liblmdb-dev
      libsodium-dev libzstd-dev libcmocka-dev libsystemd-dev libinih-dev libjansson-dev libcsv-dev
      clang-14 libclang-rt-14-dev valgrind iproute2 nftables jq
      libwebsockets-dev libwebsockets-evlib-uv chromium poppler-utils bc openssl faketime python3
      dpkg-dev lintian lmdb-utils libpq-dev postgresql-15)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# bench/run's peer (PouchDB) and the web page's browser tests (playwright-core
# driving the chromium above; tests/web installs its pinned packages with
# npm ci and never downloads a browser) run on node; any node >= 18 will
# do, Debian's or one already on the machine.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
