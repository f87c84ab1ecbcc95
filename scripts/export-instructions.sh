#!/usr/bin/env bash
# Instructions per span on the export thread: examples/throughput.rs under callgrind
# (--separate-threads), exporting one-field spans at a steady rate to a real collector (rotel,
# blackhole) over gRPC or HTTP/protobuf. Deterministic enough to compare builds; the wall-clock
# figures are scripts/throughput.sh's. Usage: scripts/export-instructions.sh [SECONDS=3] [RATE=20000] [PROTOCOL=grpc]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-3}; RATE=${2:-20000}; PROTOCOL=${3:-grpc}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build -q --release --example throughput
source scripts/blackhole-collector.sh
DIR=$COLLECTOR_DIR
[ "$PROTOCOL" = grpc ] && URL="http://127.0.0.1:$GRPC" || URL="http://127.0.0.1:$HTTP"
OTEL_EXPORTER_OTLP_PROTOCOL=$PROTOCOL OTEL_EXPORTER_OTLP_ENDPOINT=$URL \
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$DIR/cg" \
  ./target/release/examples/throughput "$SECS" 1 "$RATE" >"$DIR/run.log" 2>&1
DELIVERED=$(grep -o 'delivered [0-9]*' "$DIR/run.log" | awk '{print $2}')
echo "$PROTOCOL, $RATE spans/s for $SECS s under callgrind: $DELIVERED spans delivered"
# One file per thread: each thread's instructions per delivered span.
# The busiest thread makes the spans; the next busiest is the export task.
grep -h '^summary:' "$DIR"/cg-* | awk '{print $2}' | sort -rn | head -2 > "$DIR/top"
for f in "$DIR"/cg-*; do
  n=$(grep -h '^summary:' "$f" | awk '{print $2}')
  top=other
  [ "$n" = "$(sed -n 2p "$DIR/top")" ] && top="export task"
  [ "$n" = "$(sed -n 1p "$DIR/top")" ] && top="producer (makes the spans)"
  printf '%-8s %12d instructions  %8d per span  %s\n' "${f##*-}" "$n" $(( n / DELIVERED )) "$top"
done
