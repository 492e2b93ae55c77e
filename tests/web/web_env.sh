# web_env.sh: what the web page's tests share, sourced by browser_test.sh and
# security_test.sh: the pinned npm packages installed (never a browser:
# playwright-core drives Debian's /usr/bin/chromium). (A free port is
# nodes.sh's free_port.)

# Installs tests/web/node_modules from package-lock.json when missing or
# older than the lock. Returns 1, with the reason, when it cannot.
web_env_ready() {
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  command -v node >/dev/null || { echo "FAIL: node is not installed (scripts/deps.sh)"; return 1; }
  [ -x /usr/bin/chromium ] || { echo "FAIL: /usr/bin/chromium is not installed (scripts/deps.sh)"; return 1; }
  command -v pdftotext >/dev/null || { echo "FAIL: pdftotext (poppler-utils) is not installed (scripts/deps.sh)"; return 1; }
  if [ ! -f "$here/node_modules/.package-lock.json" ] ||
     [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) ||
      { echo "FAIL: npm ci in $here"; return 1; }
  fi
}
