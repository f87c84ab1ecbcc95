#!/usr/bin/env bash
# The README's disk-spool figure: a collector outage of TRACEWIRE_OUTAGE_SECS (default 600) at
# 2,000 spans/s with a kill -9 halfway, then the collector back (tests/spool_process_killed.rs,
# run long). Prints what was produced, spooled, lost and duplicated, and how long the replay took.
set -euo pipefail
cd "$(dirname "$0")/.."
export TRACEWIRE_OUTAGE_SECS="${TRACEWIRE_OUTAGE_SECS:-600}"
cargo test -q --test spool_process_killed -- --nocapture --exact a_killed_service_leaves_its_spool_to_the_next_one 2>&1 \
  | grep -v '^ended='
