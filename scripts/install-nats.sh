#!/usr/bin/env bash
# Installs the NATS server (Debian package nats-server) if it is not on PATH, and prints
#   NATS=/path/to/nats-server
# Concurrent callers wait for the first (flock).
set -euo pipefail
find_nats() { command -v nats-server || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; } || true; }
NATS=$(find_nats)
if [ -z "$NATS" ]; then
  exec 9> /tmp/tracewire-install-nats.lock
  flock 9
  NATS=$(find_nats)
  if [ -z "$NATS" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "install-nats: installing the Debian package nats-server" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2 || true
    $SUDO apt-get install -y -qq nats-server >&2
    NATS=$(find_nats)
  fi
fi
[ -n "$NATS" ] || { echo "install-nats: nats-server not found after install" >&2; exit 1; }
echo "NATS=$NATS"
