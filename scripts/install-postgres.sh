#!/usr/bin/env bash
# Installs PostgreSQL (Debian package postgresql) if its server binaries are missing, and prints
#   PGBIN=/usr/lib/postgresql/<version>/bin   (initdb, postgres)
# Concurrent callers wait for the first (flock). Tests run their own cluster in a temp dir.
set -euo pipefail
find_pg() { for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { echo "$d"; return; }; done; true; }
PGBIN=$(find_pg)
if [ -z "$PGBIN" ]; then
  exec 9> /tmp/tracewire-install-postgres.lock
  flock 9
  PGBIN=$(find_pg)
  if [ -z "$PGBIN" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "install-postgres: installing the Debian package postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2 || true
    $SUDO apt-get install -y -qq postgresql >&2
    PGBIN=$(find_pg)
  fi
fi
[ -n "$PGBIN" ] || { echo "install-postgres: initdb/postgres not found after install" >&2; exit 1; }
echo "PGBIN=$PGBIN"
