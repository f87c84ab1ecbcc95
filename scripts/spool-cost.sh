#!/usr/bin/env bash
# The disk spool's cost (README, Disk spool): examples/throughput.rs at 20,000 one-field spans/s
# for 5 s to a real collector (rotel, blackhole) with the spool off and on, then for 10 s with
# the collector down, spool off (spans dropped) and on (spans written to disk). Prints CPU per
# span and what the spool holds afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --example throughput
source scripts/blackhole-collector.sh
SPOOL=$(mktemp -d)
run() { # label endpoint seconds spool(on|off)
  rm -rf "$SPOOL"; mkdir -p "$SPOOL"
  if [ "$4" = on ]; then export TRACEWIRE_SPOOL_DIR=$SPOOL; else unset TRACEWIRE_SPOOL_DIR; fi
  printf '%-36s ' "$1"
  OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT=$2 TRACEWIRE_OTLP_TIMEOUT_MS=1000 \
    TRACEWIRE_SHUTDOWN_TIMEOUT_MS=2000 ./target/release/examples/throughput "$3" 1 20000
  [ "$4" = on ] && echo "    spool holds $(du -sb "$SPOOL" | cut -f1) bytes"
  true
}
run "healthy collector, spool off:" "http://127.0.0.1:$GRPC" 5 off
run "healthy collector, spool on:" "http://127.0.0.1:$GRPC" 5 on
run "collector down, spool off:" "http://127.0.0.1:9" 10 off
run "collector down, spool on:" "http://127.0.0.1:9" 10 on
rm -rf "$SPOOL"
