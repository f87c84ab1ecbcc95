#!/usr/bin/env bash
# Installs Debian's chromium if it is not on PATH, and prints
#   CHROMIUM=/path/to/chromium
# Exit 1 (and no CHROMIUM line) when it cannot be installed: callers report a skip.
set -euo pipefail
find_chromium() { command -v chromium || command -v chromium-browser || true; }
C=$(find_chromium)
if [ -z "$C" ]; then
  exec 9> /tmp/tracewire-install-chromium.lock
  flock 9
  C=$(find_chromium)
  if [ -z "$C" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "install-chromium: installing the Debian package chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2 || true
    $SUDO apt-get install -y -qq --no-install-recommends chromium >&2 || true
    C=$(find_chromium)
  fi
fi
[ -n "$C" ] || { echo "install-chromium: chromium could not be installed" >&2; exit 1; }
echo "CHROMIUM=$C"
