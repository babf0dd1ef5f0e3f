#!/bin/sh
# Makes sure Debian's `xmllint` (package libxml2-utils) is installed: the camt acceptance test judges every generated
# document with `xmllint --noout --schema` against the official ISO 20022 XSDs and requires the reader to agree.
# Idempotent: does nothing when xmllint is on the PATH. Installs it with apt-get (one `apt-get update` first) when run
# as root; otherwise prints how to install it and exits 1 (the test then fails in CI, naming what is missing).
set -eu
if command -v xmllint >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-xmllint: installing Debian's libxml2-utils package" >&2
  export DEBIAN_FRONTEND=noninteractive
  # One install at a time: test files run in parallel and each makes sure of its package, and a second apt-get
  # fails at once on dpkg's lock. Whoever waited finds the package there when another install brought it.
  exec 9>/tmp/bursar-apt-install.lock
  flock 9
  command -v xmllint >/dev/null 2>&1 && exit 0
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends libxml2-utils >&2
  command -v xmllint >/dev/null 2>&1 && exit 0
  echo "ensure-xmllint: apt-get ran but xmllint is still missing" >&2
  exit 1
fi
echo "ensure-xmllint: xmllint not found. Install it with: sudo apt-get install libxml2-utils" >&2
exit 1
