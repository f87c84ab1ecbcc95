#!/usr/bin/env bash
# Installs the AMQP broker RabbitMQ (Debian package rabbitmq-server) if it is missing, and prints
#   RABBITMQ_SERVER=/path/to/rabbitmq-server
# The tests start their own broker on free loopback ports in a temp dir (tests/support/rabbitmq.rs);
# the package's own service, if the package started one, is stopped (it would hold 5672 and epmd's
# 4369). Concurrent callers wait for the first (flock).
set -euo pipefail
find_it() { for b in /usr/lib/rabbitmq/bin/rabbitmq-server /usr/sbin/rabbitmq-server; do [ -x "$b" ] && { echo "$b"; return; }; done; true; }
BIN=$(find_it)
if [ -z "$BIN" ]; then
  exec 9> /tmp/tracewire-install-rabbitmq.lock
  flock 9
  BIN=$(find_it)
  if [ -z "$BIN" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "install-rabbitmq: installing the Debian package rabbitmq-server" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2 || true
    $SUDO apt-get install -y -qq --no-install-recommends rabbitmq-server >&2
    $SUDO service rabbitmq-server stop >&2 2>/dev/null || true
    $SUDO pkill -u rabbitmq >&2 2>/dev/null || true
    BIN=$(find_it)
  fi
fi
[ -n "$BIN" ] || { echo "install-rabbitmq: rabbitmq-server not found after install" >&2; exit 1; }
echo "RABBITMQ_SERVER=$BIN"
