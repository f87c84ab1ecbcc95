#!/usr/bin/env bash
# Installs rotel (PyPI), an independently written OpenTelemetry collector, into a cached
# virtual environment, once; concurrent callers wait for the first. Prints two lines:
#   AGENT=/path/to/rotel-agent
#   LIBDIR=/dir/holding/libpython   (rotel-agent embeds CPython and links it dynamically)
# Knobs: ROTEL_HOME (cache dir), ROTEL_VERSION, COLLECTOR_PYTHON.
set -euo pipefail

ROTEL_VERSION=${ROTEL_VERSION:-0.0.1a15}
HOME_DIR=${ROTEL_HOME:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tracewire-collector}
VENV=$HOME_DIR/rotel-$ROTEL_VERSION
mkdir -p "$HOME_DIR"

agent_path() {
  "$VENV/bin/python" -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))' 2>/dev/null
}

exec 9> "$HOME_DIR/.lock"
flock 9
AGENT=$(agent_path || true)
if [ -z "$AGENT" ] || [ ! -x "$AGENT" ]; then
  PY=""
  for cand in ${COLLECTOR_PYTHON:-} python3 python3.13 python3.12 python3.11 python3.10; do
    command -v "$cand" >/dev/null 2>&1 || continue
    if "$cand" -c 'import sys, venv; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else 1)' 2>/dev/null; then
      PY=$cand; break
    fi
  done
  [ -n "$PY" ] || { echo "install-collector: need python 3.10-3.13 with venv (rotel ships cp310..cp313 wheels)" >&2; exit 1; }
  echo "install-collector: installing rotel==$ROTEL_VERSION into $VENV" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "rotel==$ROTEL_VERSION" >&2
  AGENT=$(agent_path)
  [ -x "$AGENT" ] || { echo "install-collector: rotel-agent not found after install" >&2; exit 1; }
fi
LIBDIR=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR") or "")')
echo "AGENT=$AGENT"
echo "LIBDIR=$LIBDIR"
