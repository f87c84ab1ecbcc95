#!/usr/bin/env bash
# Sustained export to a real collector (rotel, receiving only: blackhole exporter) on loopback:
# spans/s delivered and dropped, CPU per span, peak RSS, for gRPC and HTTP/protobuf, at a steady
# 200,000 spans/s and in a tight loop. Usage: scripts/throughput.sh [SECONDS] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}; RATE=${2:-200000}
cargo build -q --release --example throughput
source scripts/blackhole-collector.sh
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
