#!/usr/bin/env bash
# Installs the Redis server (Debian package redis-server) if it is not on PATH, and prints
#   REDIS=/path/to/redis-server
# Concurrent callers wait for the first (flock).
set -euo pipefail
find_redis() { command -v redis-server || { [ -x /usr/bin/redis-server ] && echo /usr/bin/redis-server; } || true; }
REDIS=$(find_redis)
if [ -z "$REDIS" ]; then
  exec 9> /tmp/tracewire-install-redis.lock
  flock 9
  REDIS=$(find_redis)
  if [ -z "$REDIS" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "install-redis: installing the Debian package redis-server" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2 || true
    $SUDO apt-get install -y -qq redis-server >&2
    REDIS=$(find_redis)
  fi
fi
[ -n "$REDIS" ] || { echo "install-redis: redis-server not found after install" >&2; exit 1; }
echo "REDIS=$REDIS"
