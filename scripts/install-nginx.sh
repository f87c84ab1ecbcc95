#!/usr/bin/env bash
# Installs nginx (Debian package nginx-light: TLS, HTTP/2 and gRPC proxying) if it is not on PATH,
# and prints
#   NGINX=/path/to/nginx
# The TLS tests put it in front of the real collector. Concurrent callers wait for the first
# (flock). The package's own service is not started (tests run nginx in the foreground).
set -euo pipefail
find_nginx() { command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }
NGINX=$(find_nginx)
if [ -z "$NGINX" ]; then
  exec 9> /tmp/tracewire-install-nginx.lock
  flock 9
  NGINX=$(find_nginx)
  if [ -z "$NGINX" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "install-nginx: installing the Debian packages nginx-light and openssl" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2 || true
    # policy-rc.d answering 101: the package must not start a system nginx on port 80.
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      echo 'exit 101' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
      $SUDO chmod +x /usr/sbin/policy-rc.d
      own_policy=1
    fi
    $SUDO apt-get install -y -qq nginx-light openssl >&2
    [ -z "$own_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
    NGINX=$(find_nginx)
  fi
fi
[ -n "$NGINX" ] || { echo "install-nginx: nginx not found after install" >&2; exit 1; }
command -v openssl >/dev/null || { echo "install-nginx: openssl not found" >&2; exit 1; }
echo "NGINX=$NGINX"
