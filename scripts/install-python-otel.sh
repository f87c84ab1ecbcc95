#!/usr/bin/env bash
# Installs Python's OpenTelemetry SDK with its B3, Jaeger and AWS X-Ray propagators (PyPI) into
# a cached virtual environment, once; concurrent callers wait for the first. Prints
#   PYTHON=/path/to/venv/bin/python
# The tests use it as a peer from another SDK on the other side of real HTTP calls
# (tests/support/fleet_peer.py). Knobs: PYTHON_OTEL_HOME (cache dir), PYTHON_OTEL_VERSION.
set -euo pipefail

VERSION=${PYTHON_OTEL_VERSION:-1.45.2}
PROPAGATORS_VERSION=${PYTHON_OTEL_PROPAGATORS_VERSION:-1.45.1}
XRAY_VERSION=${PYTHON_OTEL_XRAY_VERSION:-1.0.2}
HOME_DIR=${PYTHON_OTEL_HOME:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tracewire-python-otel}
VENV=$HOME_DIR/otel-$VERSION
mkdir -p "$HOME_DIR"

exec 9> "$HOME_DIR/.lock"
flock 9
if ! "$VENV/bin/python" -c 'import opentelemetry.propagators.b3, opentelemetry.propagators.jaeger, opentelemetry.propagators.aws, opentelemetry.sdk' 2>/dev/null; then
  echo "install-python-otel: installing opentelemetry-sdk==$VERSION and its propagators into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "opentelemetry-sdk==$VERSION" "opentelemetry-api==$VERSION" \
    "opentelemetry-propagator-b3==$PROPAGATORS_VERSION" \
    "opentelemetry-propagator-jaeger==$PROPAGATORS_VERSION" \
    "opentelemetry-propagator-aws-xray==$XRAY_VERSION" >&2
fi
echo "PYTHON=$VENV/bin/python"
