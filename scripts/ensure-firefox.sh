#!/bin/sh
# Makes sure Debian's `firefox-esr` is installed for the dashboard's Firefox test (driven over WebDriver BiDi by
# test/support/firefox.ts; nothing downloads a browser). Idempotent: does nothing when the binary exists. Installs it
# with apt-get when run as root; otherwise prints how to install it and exits 1 (the test then skips outside CI).
set -eu
FIREFOX="${FIREFOX_PATH:-/usr/bin/firefox-esr}"
if [ -x "$FIREFOX" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-firefox: installing Debian's firefox-esr package" >&2
  export DEBIAN_FRONTEND=noninteractive
  # One install at a time: test files run in parallel and each makes sure of its package, and a second apt-get
  # fails at once on dpkg's lock. Whoever waited finds the package there when another install brought it.
  exec 9>/tmp/bursar-apt-install.lock
  flock 9
  [ -x "$FIREFOX" ] && exit 0
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends firefox-esr >&2
  [ -x "$FIREFOX" ] && exit 0
  echo "ensure-firefox: apt-get ran but $FIREFOX is still missing" >&2
  exit 1
fi
echo "ensure-firefox: $FIREFOX not found. Install it with: sudo apt-get install firefox-esr" >&2
exit 1
