# Sourced by scripts/throughput.sh and scripts/export-instructions.sh: starts rotel (installed
# by scripts/install-collector.sh) receiving OTLP on two free loopback ports and discarding it,
# sets GRPC and HTTP to the ports, waits (bounded) until both accept, and stops it on exit.
eval "$(bash scripts/install-collector.sh | sed 's/^/export /')"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GRPC=$(free_port); HTTP=$(free_port)
COLLECTOR_DIR=$(mktemp -d)
LD_LIBRARY_PATH="$LIBDIR" "$AGENT" start --otlp-grpc-endpoint "127.0.0.1:$GRPC" \
  --otlp-http-endpoint "127.0.0.1:$HTTP" --exporter blackhole \
  --pid-file "$COLLECTOR_DIR/rotel.pid" --log-file "$COLLECTOR_DIR/rotel.log" >"$COLLECTOR_DIR/out.log" 2>&1 &
AGENT_PID=$!
trap 'kill $AGENT_PID 2>/dev/null || true; wait $AGENT_PID 2>/dev/null || true; rm -rf "$COLLECTOR_DIR"' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$GRPC") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$HTTP") 2>/dev/null && break
  sleep 0.1
done
