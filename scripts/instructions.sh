#!/usr/bin/env bash
# Instructions per span on the calling thread (callgrind, total minus the export thread is not
# separated: the figure includes everything the process did per extra span), for every setup ×
# workload of benches/common. Deterministic for a given binary: the figure that does not move
# with machine noise. Usage: scripts/instructions.sh [N_SMALL] [N_LARGE]
set -euo pipefail
cd "$(dirname "$0")/.."
# ONLY="setup1 setup2" limits the setups measured.
A=${1:-200}; B=${2:-2200}
# BIN=path measures a binary built earlier (e.g. of the commit before a change) instead.
if [ -z "${BIN:-}" ]; then
  cargo build -q --release --features http-server,tonic,redis --example instructions
  BIN=target/release/examples/instructions
fi
SETUPS="no_subscriber registry_empty_layer stock_otel stock_otel_json tracewire_sampled tracewire_unsampled tracewire_tail_10pct tracewire_tracing_disabled tracewire_disabled tracewire_metrics_off tracewire_span_metrics tracewire_span_metrics_unsampled own_layer_prototype"
WORKLOADS=${WORKLOADS:-"span_one_field:1 span_with_event:1 root_10_children:11 http_request:1 grpc_request:1 redis_command:1"}
count() { # setup workload n -> instructions of the main thread
  local out; out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" --separate-threads=yes "$BIN" "$1" "$2" "$3" >/dev/null 2>&1
  # the main thread's file ends in -01
  grep -h '^summary:' "$out"-01 | awk '{print $2}'
  rm -f "$out"*
}
printf "%-28s %-18s %14s\n" setup workload instr/span
SETUPS=${ONLY:-$SETUPS}
for w in $WORKLOADS; do
  name=${w%%:*}; spans=${w##*:}
  for s in $SETUPS; do
    a=$(count "$s" "$name" "$A"); b=$(count "$s" "$name" "$B")
    printf "%-28s %-18s %14d\n" "$s" "$name" $(( (b - a) / ((B - A) * spans) ))
  done
done
