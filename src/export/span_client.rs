//! The OTLP span client: encodes a batch once (`encode.rs`) and sends it over gRPC (tonic's
//! channel, bytes passed through) or HTTP/protobuf (tracewire's hyper client), retrying as the
//! OTLP specification says, within the export timeout.
//!
//! Retries follow opentelemetry-otlp's policy, which this client replaces for spans: up to 3
//! retries, 100 ms doubling to 1.6 s with up to 100 ms of jitter; retried are gRPC
//! `UNAVAILABLE`, `CANCELLED`, `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`, `DATA_LOSS` and a
//! `RESOURCE_EXHAUSTED` that carries `RetryInfo`, HTTP 429/502/503/504 and transport errors; a
//! server's delay (`RetryInfo`, `Retry-After` in seconds) is honoured, capped at 10 minutes but
//! never past the timeout. The encoded request is shared by every attempt, not rebuilt.
//!
//! gRPC requests are spread over one HTTP/2 connection per concurrent export
//! (`batch_max_concurrent_exports`), each request on the least busy one: a receiver may serve
//! one connection's streams one after another (rotel does: a 512-span request takes ~2 ms on an
//! idle loopback connection, and one connection topped out near 250,000 spans/s where two
//! deliver 300,000 with none dropped, `scripts/throughput.sh`), and behind a load balancer
//! several connections reach several collector replicas. HTTP/1.1 gets the same from its pool.
//! A connection opens on its first request: with one export at a time only the first ever does.
//!
//! A collector's partial success (`rejected_spans`) is reported, not retried: the rejected
//! spans are counted as failed with the collector's message.

use std::time::{Duration, Instant};

use bytes::Bytes;
use opentelemetry_sdk::trace::SpanData;

use super::encode::SpanEncoder;
#[cfg(feature = "grpc")]
use super::failure::chain;
use super::failure::{ExportError, Kind};
#[cfg(feature = "grpc")]
use super::otlp_response::PassThrough;
use super::otlp_response::partial_success;
use super::queue::Delivery;
#[cfg(feature = "grpc")]
use super::retry::grpc_failure;
use super::retry::{Attempt, Retry};
use crate::settings::OtlpExport;

/// The gRPC method every OTLP trace receiver serves.
#[cfg(feature = "grpc")]
const GRPC_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The `User-Agent` the OTLP exporter specification asks for.
const USER_AGENT: &str = concat!(
    "OTel-OTLP-Exporter-Rust tracewire/",
    env!("CARGO_PKG_VERSION")
);

const MAX_RETRIES: u32 = 3;
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(1600);
const MAX_JITTER_MS: u64 = 100;
const MAX_SERVER_DELAY: Duration = Duration::from_secs(600);

/// Sends encoded span batches to one OTLP endpoint.
pub(crate) struct SpanClient {
    encoder: SpanEncoder,
    transport: Transport,
    timeout: Duration,
    /// The disk spool, with `spool_dir`.
    spool: Option<super::spooling::Spooling>,
}

/// An export that did not deliver: why, and whether waiting could help (the collector is
/// down, overloaded or slow, rather than refusing this request).
pub(crate) struct Undelivered {
    pub(crate) error: ExportError,
    pub(crate) retryable: bool,
}

impl std::fmt::Debug for SpanClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

// One per pipeline, built once: boxing a variant would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
enum Transport {
    #[cfg(feature = "grpc")]
    Grpc {
        connections: Vec<GrpcConnection>,
        metadata: tonic::metadata::MetadataMap,
    },
    #[cfg(feature = "http-proto")]
    Http {
        client: super::http_client::OtlpHttpClient,
        url: http::Uri,
        headers: http::HeaderMap,
        #[cfg_attr(not(feature = "gzip"), allow(dead_code))]
        gzip: bool,
    },
}

/// One HTTP/2 connection to the collector, and how many requests it carries now.
#[cfg(feature = "grpc")]
struct GrpcConnection {
    client: tonic::client::Grpc<tonic::transport::Channel>,
    in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a request on its connection until it ends, however it ends.
#[cfg(feature = "grpc")]
struct InFlight(std::sync::Arc<std::sync::atomic::AtomicUsize>);

#[cfg(feature = "grpc")]
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl SpanClient {
    /// A gRPC client for `url` (`http://` or, with `tls`, `https://`).
    #[cfg(feature = "grpc")]
    pub(crate) fn grpc(
        s: &OtlpExport,
        connections: usize,
        encoder: SpanEncoder,
        metadata: tonic::metadata::MetadataMap,
        #[cfg(feature = "tls")] tls: Option<tonic::transport::ClientTlsConfig>,
    ) -> Result<SpanClient, String> {
        let url = s.url.as_str();
        let endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
            .map_err(|e| format!("invalid endpoint {url}: {}", chain(&e)))?
            .timeout(s.timeout)
            .connect_timeout(s.timeout)
            .tcp_nodelay(true)
            .user_agent(USER_AGENT)
            .map_err(|e| format!("user agent: {e}"))?;
        #[cfg(feature = "tls")]
        let endpoint = match tls {
            Some(tls) => endpoint
                .tls_config(tls)
                .map_err(|e| format!("TLS for {url}: {}", chain(&e)))?,
            None => endpoint,
        };
        let proxy = super::proxy::matcher(&s.proxy).filter(|m| super::proxy::applies(Some(m), url));
        let connect = || {
            // `connect_lazy` opens a connection of its own for every call.
            let channel = match &proxy {
                Some(rules) => endpoint.connect_with_connector_lazy(super::proxy::connector(rules)),
                None => endpoint.connect_lazy(),
            };
            let client = tonic::client::Grpc::new(channel);
            #[cfg(feature = "gzip")]
            let client = if s.gzip {
                client.send_compressed(tonic::codec::CompressionEncoding::Gzip)
            } else {
                client
            };
            GrpcConnection {
                client,
                in_flight: Default::default(),
            }
        };
        let connections = (0..connections.clamp(1, 8)).map(|_| connect()).collect();
        #[cfg(not(feature = "gzip"))]
        if s.gzip {
            return Err(
                "otlp_compression = \"gzip\" needs tracewire's `gzip` cargo feature".into(),
            );
        }
        Ok(SpanClient {
            encoder,
            transport: Transport::Grpc {
                connections,
                metadata,
            },
            timeout: s.timeout,
            spool: None,
        })
    }

    /// An HTTP/protobuf client posting to `url` (the exact URL, `/v1/traces` in place).
    #[cfg(feature = "http-proto")]
    pub(crate) fn http(
        s: &OtlpExport,
        encoder: SpanEncoder,
        client: super::http_client::OtlpHttpClient,
        mut headers: http::HeaderMap,
    ) -> Result<SpanClient, String> {
        let url = s.url.as_str();
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("invalid endpoint {url}: {e}"))?;
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_static(USER_AGENT),
        );
        if s.gzip {
            #[cfg(not(feature = "gzip"))]
            return Err(
                "otlp_compression = \"gzip\" needs tracewire's `gzip` cargo feature".into(),
            );
            #[cfg(feature = "gzip")]
            headers.insert(
                http::header::CONTENT_ENCODING,
                http::HeaderValue::from_static("gzip"),
            );
        }
        Ok(SpanClient {
            encoder,
            transport: Transport::Http {
                client,
                url: uri,
                headers,
                gzip: s.gzip,
            },
            timeout: s.timeout,
            spool: None,
        })
    }

    /// Spools what the collector cannot take (see `spooling.rs`).
    pub(crate) fn with_spool(mut self, spool: super::spooling::Spooling) -> SpanClient {
        self.spool = Some(spool);
        self
    }

    /// The export timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Encodes `batch` once and sends it, retrying within the export timeout (and `limit`, the
    /// caller's bound, which the spool needs to know to act before it).
    pub(crate) async fn export(
        &self,
        batch: &[SpanData],
        limit: Duration,
    ) -> Result<Delivery, ExportError> {
        let encoded = self.encoder.encode(batch);
        match &self.spool {
            Some(spool) => spool.export(self, encoded, batch.len() as u64, limit).await,
            None => self.deliver(encoded, true).await.map_err(|u| u.error),
        }
    }

    /// Replays spooled requests for up to `budget`, when the collector is expected to answer;
    /// `true` when more is waiting and the collector answers.
    pub(crate) async fn replay(&self, budget: Duration) -> bool {
        match &self.spool {
            Some(spool) => spool.replay(self, budget).await,
            None => false,
        }
    }

    /// Writes `batch` to the disk spool without trying the collector (the queue is filling
    /// while every export slot waits); `None` without a usable spool.
    pub(crate) fn spill(&self, batch: &[SpanData]) -> Option<Result<Delivery, ExportError>> {
        let spool = self.spool.as_ref().filter(|s| s.usable())?;
        Some(spool.spill(self.encoder.encode(batch), batch.len() as u64))
    }

    /// The export task's sleep: short during an outage with the spool (see `spooling.rs`).
    pub(crate) fn wake_every(&self, delay: Duration) -> Duration {
        match &self.spool {
            Some(s) if s.in_outage() => delay.min(super::spooling::OUTAGE_TICK),
            _ => delay,
        }
    }

    /// Whether [`spill`](Self::spill) can take a batch.
    pub(crate) fn spills(&self) -> bool {
        self.spool.as_ref().is_some_and(|s| s.usable())
    }

    /// Sends an encoded request (compressed here as configured), retrying as the OTLP
    /// specification says within the export timeout (`retry`), or once (with the spool, which
    /// retries later instead of holding the queue).
    pub(crate) async fn deliver(
        &self,
        encoded: Vec<u8>,
        retry: bool,
    ) -> Result<Delivery, Undelivered> {
        let body = self.body(encoded).map_err(|error| Undelivered {
            error,
            retryable: false,
        })?;
        let started = Instant::now();
        let mut delay = FIRST_DELAY;
        let mut retries = 0;
        loop {
            let sent = self.send(body.clone()).await;
            let error = match sent {
                Ok(delivery) => return Ok(delivery),
                Err(e) => e,
            };
            let retryable = error.retry != Retry::No;
            let give_up = Undelivered {
                error: error.error,
                retryable,
            };
            let wait = match error.retry {
                Retry::No => return Err(give_up),
                _ if !retry || retries >= MAX_RETRIES => return Err(give_up),
                Retry::Backoff => {
                    let d = (delay + Duration::from_millis(crate::ids::next_u64() % MAX_JITTER_MS))
                        .min(MAX_DELAY);
                    delay = (delay * 2).min(MAX_DELAY);
                    d
                }
                Retry::After(d) => d.min(MAX_SERVER_DELAY),
            };
            if started.elapsed() + wait >= self.timeout {
                return Err(give_up);
            }
            retries += 1;
            tokio::time::sleep(wait).await;
        }
    }

    fn body(&self, encoded: Vec<u8>) -> Result<Bytes, ExportError> {
        match &self.transport {
            #[cfg(all(feature = "http-proto", feature = "gzip"))]
            Transport::Http { gzip: true, .. } => {
                use std::io::Write as _;
                let mut z = flate2::write::GzEncoder::new(
                    Vec::with_capacity(encoded.len() / 4),
                    flate2::Compression::default(),
                );
                z.write_all(&encoded)
                    .and_then(|()| z.finish())
                    .map(Bytes::from)
                    .map_err(|e| ExportError::new(Kind::Local, format!("gzip: {e}")))
            }
            _ => Ok(Bytes::from(encoded)),
        }
    }

    async fn send(&self, body: Bytes) -> Result<Delivery, Attempt> {
        match &self.transport {
            #[cfg(feature = "grpc")]
            Transport::Grpc {
                connections,
                metadata,
            } => {
                use std::sync::atomic::Ordering::Relaxed;
                let least_busy = connections
                    .iter()
                    .min_by_key(|c| c.in_flight.load(Relaxed))
                    .expect("at least one connection");
                least_busy.in_flight.fetch_add(1, Relaxed);
                let _counted = InFlight(least_busy.in_flight.clone());
                let mut client = least_busy.client.clone();
                client.ready().await.map_err(|e| Attempt {
                    error: ExportError::new(
                        Kind::Connect,
                        format!("export failed with gRPC code: Unavailable: {}", chain(&e)),
                    ),
                    retry: Retry::Backoff,
                })?;
                let mut request = tonic::Request::new(body);
                *request.metadata_mut() = metadata.clone();
                let path = http::uri::PathAndQuery::from_static(GRPC_PATH);
                match client.unary(request, path, PassThrough).await {
                    Ok(response) => Ok(partial_success(&response.into_inner())),
                    Err(status) => Err(grpc_failure(&status)),
                }
            }
            #[cfg(feature = "http-proto")]
            Transport::Http {
                client,
                url,
                headers,
                ..
            } => {
                let mut request = http::Request::new(body);
                *request.method_mut() = http::Method::POST;
                *request.uri_mut() = url.clone();
                *request.headers_mut() = headers.clone();
                let response = client.post(request).await.map_err(|error| Attempt {
                    retry: super::retry::transport_retry(&error),
                    error,
                })?;
                let status = response.status();
                if status.is_success() {
                    return Ok(partial_success(response.body()));
                }
                let retry = super::retry::http_retry(status, response.headers());
                Err(Attempt {
                    // "the endpoint answered HTTP 401: <the page's title>"
                    error: ExportError::new(
                        Kind::Http(status.as_u16()),
                        format!(
                            "HTTP export failed: {}",
                            super::http_client::answered(status, response.body())
                        ),
                    ),
                    retry,
                })
            }
        }
    }
}
