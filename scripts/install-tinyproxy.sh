#!/usr/bin/env bash
# Installs the forward proxy tinyproxy (Debian package) if it is not on PATH, and prints
#   TINYPROXY=/path/to/tinyproxy
# The tests start their own instance on a free loopback port with a config of their own; the
# package's service, if the package started one, is stopped (it would hold port 8888).
# Concurrent callers wait for the first (flock).
set -euo pipefail
find_it() { command -v tinyproxy || { [ -x /usr/bin/tinyproxy ] && echo /usr/bin/tinyproxy; } || true; }
BIN=$(find_it)
if [ -z "$BIN" ]; then
  exec 9> /tmp/tracewire-install-tinyproxy.lock
  flock 9
  BIN=$(find_it)
  if [ -z "$BIN" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "install-tinyproxy: installing the Debian package tinyproxy" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2 || true
    $SUDO apt-get install -y -qq tinyproxy >&2
    $SUDO service tinyproxy stop >&2 2>/dev/null || true
    BIN=$(find_it)
  fi
fi
[ -n "$BIN" ] || { echo "install-tinyproxy: tinyproxy not found after install" >&2; exit 1; }
echo "TINYPROXY=$BIN"
