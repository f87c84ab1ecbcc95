#!/usr/bin/env bash
# Sustained export to a real collector (rotel, receiving only: blackhole exporter) on loopback:
# spans/s delivered and dropped, CPU per span, peak RSS, for gRPC and HTTP/protobuf, at a steady
# 200,000 spans/s and in a tight loop. Usage: scripts/throughput.sh [SECONDS] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}; RATE=${2:-200000}
eval "$(bash scripts/install-collector.sh | sed 's/^/export /')"
cargo build -q --release --example throughput
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GRPC=$(free_port); HTTP=$(free_port)
DIR=$(mktemp -d)
LD_LIBRARY_PATH="$LIBDIR" "$AGENT" start --otlp-grpc-endpoint "127.0.0.1:$GRPC" \
  --otlp-http-endpoint "127.0.0.1:$HTTP" --exporter blackhole \
  --pid-file "$DIR/rotel.pid" --log-file "$DIR/rotel.log" >"$DIR/out.log" 2>&1 &
AGENT_PID=$!
trap 'kill $AGENT_PID 2>/dev/null || true; wait $AGENT_PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$GRPC") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$HTTP") 2>/dev/null && break
  sleep 0.1
done
run() { # protocol endpoint [rate]
  printf '%-14s %-8s ' "$1" "${3:-tight}"
  OTEL_EXPORTER_OTLP_PROTOCOL=$1 OTEL_EXPORTER_OTLP_ENDPOINT=$2 \
    ./target/release/examples/throughput "$SECS" 1 ${3:-}
  echo
}
echo "machine: $(nproc) cores, $(uname -m), rotel blackhole on loopback, $SECS s per run"
run grpc "http://127.0.0.1:$GRPC" "$RATE"
run http/protobuf "http://127.0.0.1:$HTTP" "$RATE"
run grpc "http://127.0.0.1:$GRPC"
run http/protobuf "http://127.0.0.1:$HTTP"
