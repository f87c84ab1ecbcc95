#!/usr/bin/env bash
# Instructions per span on the export thread: examples/throughput.rs under callgrind
# (--separate-threads), exporting one-field spans at a steady rate to a real collector (rotel,
# blackhole) over gRPC or HTTP/protobuf. Deterministic enough to compare builds; the wall-clock
# figures are scripts/throughput.sh's. Usage: scripts/export-instructions.sh [SECONDS=3] [RATE=20000] [PROTOCOL=grpc]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-3}; RATE=${2:-20000}; PROTOCOL=${3:-grpc}
eval "$(bash scripts/install-collector.sh | sed 's/^/export /')"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build -q --release --example throughput
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GRPC=$(free_port); HTTP=$(free_port); DIR=$(mktemp -d)
LD_LIBRARY_PATH="$LIBDIR" "$AGENT" start --otlp-grpc-endpoint "127.0.0.1:$GRPC" \
  --otlp-http-endpoint "127.0.0.1:$HTTP" --exporter blackhole \
  --pid-file "$DIR/rotel.pid" --log-file "$DIR/rotel.log" >"$DIR/out.log" 2>&1 &
AGENT_PID=$!
trap 'kill $AGENT_PID 2>/dev/null || true; wait $AGENT_PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$GRPC") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$HTTP") 2>/dev/null && break
  sleep 0.1
done
[ "$PROTOCOL" = grpc ] && URL="http://127.0.0.1:$GRPC" || URL="http://127.0.0.1:$HTTP"
OTEL_EXPORTER_OTLP_PROTOCOL=$PROTOCOL OTEL_EXPORTER_OTLP_ENDPOINT=$URL \
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$DIR/cg" \
  ./target/release/examples/throughput "$SECS" 1 "$RATE" >"$DIR/run.log" 2>&1
DELIVERED=$(grep -o 'delivered [0-9]*' "$DIR/run.log" | awk '{print $2}')
echo "$PROTOCOL, $RATE spans/s for $SECS s under callgrind: $DELIVERED spans delivered"
# One file per thread: each thread's instructions per delivered span.
MAX=$(grep -h '^summary:' "$DIR"/cg-* | awk '$2 > m {m = $2} END {print m}')
for f in "$DIR"/cg-*; do
  n=$(grep -h '^summary:' "$f" | awk '{print $2}')
  top=other
  grep -q 'export_loop' "$f" && top="export task"
  [ "$n" = "$MAX" ] && top="producer (makes the spans)"
  printf '%-8s %12d instructions  %8d per span  %s\n' "${f##*-}" "$n" $(( n / DELIVERED )) "$top"
done
