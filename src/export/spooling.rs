//! When the span client uses the disk spool: an export the collector cannot take now (no
//! connection, no answer in time, a retryable refusal once the retries are spent) is written to
//! the spool instead of being dropped, and the client is "in an outage": later requests go
//! straight to disk, without waiting for a collector that is not there, and so the queue keeps
//! draining at disk speed whatever the outage's length. Once a second one request is tried (the
//! probe); when one gets through, the outage is over and the spool is replayed, oldest first,
//! between exports and on the export task's idle ticks.
//!
//! A refusal that waiting cannot change (400, 401, 413, an unknown method) is not spooled: it
//! would be refused again forever. It fails and is counted as before.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::failure::{ExportError, Kind};
use super::queue::Delivery;
use super::span_client::SpanClient;
use super::spool::Spool;
use crate::lock::LockExt as _;

/// How often a request is tried during an outage.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// During an outage the export task drains the queue to disk at least this often: what a
/// `kill -9` can take with it is the spans of the last tick.
pub(crate) const OUTAGE_TICK: Duration = Duration::from_millis(100);
/// The export is given up this much before the caller's bound, to leave time to spool it.
const SPOOL_MARGIN: Duration = Duration::from_millis(100);

/// The spool and the outage state of one span client.
#[derive(Debug)]
pub(crate) struct Spooling {
    spool: Spool,
    outage: AtomicBool,
    last_try: Mutex<Option<Instant>>,
    replaying: AtomicBool,
}

impl Spooling {
    pub(crate) fn new(spool: Spool) -> Spooling {
        Spooling {
            spool,
            outage: AtomicBool::new(false),
            last_try: Mutex::new(None),
            replaying: AtomicBool::new(false),
        }
    }

    /// Whether to try the network now: always outside an outage, once a `PROBE_EVERY` in one.
    fn may_try(&self) -> bool {
        if !self.outage.load(Ordering::Relaxed) {
            return true;
        }
        let mut last = self.last_try.lock_or_recover();
        if last.is_some_and(|t| t.elapsed() < PROBE_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    fn outage_began(&self) {
        self.outage.store(true, Ordering::Relaxed);
        *self.last_try.lock_or_recover() = Some(Instant::now());
    }

    /// One export: to the collector, or to disk when it cannot take it.
    pub(crate) async fn export(
        &self,
        client: &SpanClient,
        encoded: Vec<u8>,
        spans: u64,
        limit: Duration,
    ) -> Result<Delivery, ExportError> {
        let why = if self.may_try() {
            let within = limit.min(client.timeout()).saturating_sub(SPOOL_MARGIN);
            // The payload is kept for the spool: a copy per export, the price of the option.
            match tokio::time::timeout(within, client.deliver(encoded.clone(), false)).await {
                Ok(Ok(delivery)) => {
                    self.outage.store(false, Ordering::Relaxed);
                    return Ok(delivery);
                }
                Ok(Err(u)) if !u.retryable => return Err(u.error),
                Ok(Err(u)) => u.error,
                Err(_) => ExportError::new(Kind::Timeout, format!("no answer within {within:?}")),
            }
        } else {
            ExportError::new(Kind::Transport, "the collector is unreachable (outage)")
        };
        self.outage_began();
        match self.spool.write(&encoded, spans) {
            Ok(()) => Ok(Delivery::Spooled {
                reason: why.to_string(),
            }),
            Err(full) => Err(why.with_reason(&full)),
        }
    }

    /// Whether the collector is taken as unreachable now.
    pub(crate) fn in_outage(&self) -> bool {
        self.outage.load(Ordering::Relaxed)
    }

    /// Whether the spool takes writes (not after a full or read-only disk refused one).
    pub(crate) fn usable(&self) -> bool {
        self.spool.usable()
    }

    /// Straight to disk: the collector is not keeping up (every export slot is waiting).
    pub(crate) fn spill(&self, encoded: Vec<u8>, spans: u64) -> Result<Delivery, ExportError> {
        match self.spool.write(&encoded, spans) {
            Ok(()) => Ok(Delivery::Spooled {
                reason: "the collector did not keep up: every export was waiting".into(),
            }),
            Err(why) => Err(ExportError::new(Kind::Local, why)),
        }
    }

    /// Sends spooled requests, oldest first, for up to `budget`; stops at the first that
    /// does not get through (the outage goes on). `true` when more is waiting and the
    /// collector answers: the export task comes back for it at once.
    pub(crate) async fn replay(&self, client: &SpanClient, budget: Duration) -> bool {
        if !self.spool.has_pending() || self.replaying.swap(true, Ordering::Acquire) {
            return false;
        }
        let end = Instant::now() + budget;
        while Instant::now() < end && self.may_try() {
            let Some(record) = self.spool.peek() else {
                break;
            };
            let within = client.timeout();
            match tokio::time::timeout(within, client.deliver(record.payload.clone(), false)).await
            {
                Ok(Ok(delivery)) => {
                    self.outage.store(false, Ordering::Relaxed);
                    let refused = match delivery {
                        Delivery::Partial { rejected, .. } => rejected,
                        _ => 0,
                    };
                    self.spool
                        .settle(&record, record.spans.saturating_sub(refused));
                }
                // Refused for good: waiting will not change it; lost, counted.
                Ok(Err(u)) if !u.retryable => self.spool.settle(&record, 0),
                _ => {
                    self.outage_began();
                    break;
                }
            }
        }
        self.replaying.store(false, Ordering::Release);
        self.spool.has_pending() && !self.in_outage()
    }
}
