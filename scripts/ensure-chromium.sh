#!/bin/sh
# Makes sure Debian's `chromium` is installed for the browser tests (driven by playwright-core; no browser is ever
# downloaded by npm). Idempotent: does nothing when /usr/bin/chromium exists. Installs it with apt-get when run as
# root; otherwise prints how to install it and exits 1 (the browser tests then skip outside CI).
set -eu
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium package" >&2
  export DEBIAN_FRONTEND=noninteractive
  # One install at a time: test files run in parallel and each makes sure of its package, and a second apt-get
  # fails at once on dpkg's lock. Whoever waited finds the package there when another install brought it.
  exec 9>/tmp/bursar-apt-install.lock
  flock 9
  [ -x "$CHROMIUM" ] && exit 0
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium >&2
  [ -x "$CHROMIUM" ] && exit 0
  echo "ensure-chromium: apt-get ran but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "ensure-chromium: $CHROMIUM not found. Install it with: sudo apt-get install chromium" >&2
exit 1
