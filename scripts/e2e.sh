#!/usr/bin/env bash
# The CPU a traced request costs, end to end: an axum service (handler + 3 nested #[instrument]
# functions, one info! each) in each setup, driven at a fixed rate over keep-alive connections,
# every setup exporting to the same real collector (rotel over gRPC, counting what it receives).
# Per run: server CPU (user + sys, /proc) per request, p50/p99 latency, spans delivered (counted
# by the collector after the server's shutdown) against spans made, peak RSS. Setups are
# interleaved and repeated so that ratios come from one run; medians are printed.
# Usage: scripts/e2e.sh [SECONDS=10] [RATE=2000] [ROUNDS=3] [CONNECTIONS=8]
# The last two setups are the breakdown: without metrics, and with tracing off (the JSON log
# lines and the filter alone: metrics ride on the span pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}; RATE=${2:-2000}; ROUNDS=${3:-3}; CONNS=${4:-8}
eval "$(bash scripts/install-collector.sh | sed 's/^/export /')"
cargo build -q --release --features axum --example e2e
BIN=target/release/examples/e2e
# The peer (init-tracing-opentelemetry's production preset + OtelAxumLayer) is its own crate:
# when it does not build here, its row is left out and the run goes on.
PEER_BIN=target/e2e-peer/release/tracewire-e2e-peer
if ! (cd benches/e2e/peer && cargo build -q --release --target-dir ../../../target/e2e-peer); then
  echo "the peer setup does not build here: left out" >&2
  PEER_BIN=""
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.02; done; return 1; }
DIR=$(mktemp -d)
GRPC=$(free_port); HTTP=$(free_port)
COUNT_FILE=$DIR/count LD_LIBRARY_PATH="$LIBDIR" "$AGENT" start --otlp-grpc-endpoint "127.0.0.1:$GRPC" \
  --otlp-http-endpoint "127.0.0.1:$HTTP" --otlp-with-trace-processor benches/e2e/count.py \
  --exporter blackhole --pid-file "$DIR/rotel.pid" --log-file "$DIR/rotel.log" >"$DIR/rotel.out" 2>&1 &
AGENT_PID=$!
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  kill $AGENT_PID 2>/dev/null || true; wait $AGENT_PID 2>/dev/null || true; rm -rf "$DIR"
}
trap cleanup EXIT
wait_port "$GRPC"
count() { cat "$DIR/count" 2>/dev/null || echo 0; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU of the process's export threads (tracewire's runtime `tracewire-export`, the SDK's batch
# processor `OpenTelemetry.Traces.BatchProcessor`, the metrics reader), apart from the request path.
export_ticks() {
  local t=0 d
  for d in /proc/"$1"/task/*; do
    case "$(cat "$d/comm" 2>/dev/null)" in
      tracewire-expor*|OpenTelemetry*) t=$(( t + $(awk '{print $14 + $15}' "$d/stat") )) ;;
    esac
  done
  echo $t
}
HZ=$(getconf CLK_TCK)
# name | setup | environment | spans per request
SETUPS="untraced|untraced||0
stock|stock||4
peer|peer||5
tracewire|tracewire||5
tracewire_10pct|tracewire|TRACEWIRE_SAMPLING_RATE=0.1|5
tracewire_traceresponse_off|tracewire|TRACEWIRE_TRACERESPONSE=off|5
tracewire_10pct_traceresponse_off|tracewire|TRACEWIRE_SAMPLING_RATE=0.1 TRACEWIRE_TRACERESPONSE=off|5
tracewire_tail|tracewire|TRACEWIRE_SAMPLING_RATE=0.1 TRACEWIRE_KEEP_ERRORS=true TRACEWIRE_SLOW_THRESHOLD_MS=500|5
tracewire_metrics_off|tracewire|TRACEWIRE_METRICS_ENABLED=false|5
tracewire_logs_only|tracewire|TRACEWIRE_TRACING_ENABLED=false|0"
# ONLY="untraced stock tracewire" measures those setups alone (the breakdown rows are extra).
if [ -z "$PEER_BIN" ]; then
  SETUPS=$(echo "$SETUPS" | grep -v '^peer|')
fi
if [ -n "${ONLY:-}" ]; then
  SETUPS=$(echo "$SETUPS" | awk -v only=" $ONLY " -F'|' 'index(only, " " $1 " ")')
fi
RESULTS=$DIR/results
for round in $(seq "$ROUNDS"); do
  while IFS='|' read -r name setup extra per; do
    port=$(free_port)
    before=$(count)
    server=$BIN; [ "$setup" = peer ] && server=$PEER_BIN
    # shellcheck disable=SC2086
    env OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$GRPC" OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_SERVICE_NAME="e2e-$name" $extra \
      "$server" serve "$setup" "$port" >/dev/null 2>"$DIR/server.err" &
    SERVER_PID=$!
    wait_port "$port"
    cpu0=$(ticks $SERVER_PID); exp0=$(export_ticks $SERVER_PID)
    read -r sent ok p50 p99 < <("$BIN" drive "$port" "$RATE" "$SECS" "$CONNS")
    cpu1=$(ticks $SERVER_PID); exp1=$(export_ticks $SERVER_PID)
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
    kill -TERM $SERVER_PID; wait $SERVER_PID || true; SERVER_PID=""
    # What the collector still receives from the last batches, then nothing more.
    last=-1; for _ in $(seq 50); do now=$(count); [ "$now" = "$last" ] && break; last=$now; sleep 0.2; done
    delivered=$(( $(count) - before ))
    echo "$name $round $sent $ok $(( cpu1 - cpu0 )) $p50 $p99 $delivered $(( sent * per )) $rss $(( exp1 - exp0 ))" >> "$RESULTS"
    printf '%-16s round %s: %s requests, %s ok, cpu %s ticks, p50 %s µs, p99 %s µs, spans %s of %s, rss %s KiB\n' \
      "$name" "$round" "$sent" "$ok" "$(( cpu1 - cpu0 ))" "$p50" "$p99" "$delivered" "$(( sent * per ))" "$rss" >&2
  done <<< "$SETUPS"
done
python3 - "$RESULTS" "$HZ" "$RATE" "$SECS" "$CONNS" "$(nproc)" <<'PY'
import statistics, sys
path, hz, rate, secs, conns, cores = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
rows = {}
for line in open(path):
    name, _, sent, ok, ticks, p50, p99, delivered, made, rss, exp = line.split()
    r = rows.setdefault(name, [])
    r.append(dict(sent=int(sent), ok=int(ok), cpu=int(ticks) / hz * 1e6 / int(sent), p50=int(p50), p99=int(p99),
                  delivered=int(delivered), made=int(made), rss=int(rss), exp=int(exp) / hz * 1e6 / int(sent)))
med = lambda name, k: statistics.median(x[k] for x in rows[name])
base = med("untraced", "cpu") if "untraced" in rows else 0.0
stock = med("stock", "cpu") - base if "stock" in rows else None
runs = len(next(iter(rows.values())))
print(f"{cores} cores, {rate} requests/s over {conns} connections, {secs} s per run, medians of {runs} interleaved runs")
print("| setup | CPU µs / request | of which export threads | tracing overhead µs | × stock overhead | p50 µs | p99 µs | spans delivered | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in rows:
    cpu = med(name, "cpu")
    over = cpu - base
    ratio = "–" if name in ("untraced", "stock") or not stock else f"{over / stock:.2f}×"
    made = sum(x["made"] for x in rows[name]); delivered = sum(x["delivered"] for x in rows[name])
    spans = "–" if made == 0 else f"{delivered:,} of {made:,} made ({100 * delivered / made:.1f}%)"
    print(f"| {name} | {cpu:.1f} | {med(name, 'exp'):.1f} | {over:.1f} | {ratio} | {med(name, 'p50'):.0f} | {med(name, 'p99'):.0f} | {spans} | {med(name, 'rss') / 1024:.0f} |")
PY
