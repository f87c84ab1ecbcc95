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
use super::failure::{ExportError, Kind};
#[cfg(feature = "grpc")]
use super::otlp::chain;
use super::queue::Delivery;
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

/// One attempt's failure: what happened, and whether (and when) to try again.
struct Attempt {
    error: ExportError,
    retry: Retry,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Retry {
    No,
    Backoff,
    After(Duration),
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
    ) -> Result<SpanClient, String> {
        let url = s.url.as_str();
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("invalid endpoint {url}: {e}"))?;
        let mut headers = http::HeaderMap::new();
        for (k, v) in &s.headers {
            let (Ok(name), Ok(value)) = (
                http::HeaderName::try_from(k.as_str()),
                http::HeaderValue::try_from(v.as_str()),
            ) else {
                return Err(format!(
                    "otlp_headers: `{k}` cannot be sent as an HTTP header"
                ));
            };
            headers.insert(name, value);
        }
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
                let response = client.post(request).await.map_err(|error| {
                    let retry = match error.kind() {
                        Kind::Connect | Kind::Transport => Retry::Backoff,
                        _ => Retry::No,
                    };
                    Attempt { error, retry }
                })?;
                let status = response.status();
                if status.is_success() {
                    return Ok(partial_success(response.body()));
                }
                let after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let retry = match status.as_u16() {
                    429 | 503 => after.map_or(Retry::Backoff, Retry::After),
                    502 | 504 => Retry::Backoff,
                    _ => Retry::No,
                };
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

/// tonic's status, classified: the code, and for errors tonic made itself (connect, TLS, DNS,
/// a broken connection) their cause. The server's message is left out, as opentelemetry-otlp
/// does: a server may echo credentials in it.
#[cfg(feature = "grpc")]
fn grpc_failure(status: &tonic::Status) -> Attempt {
    use tonic::Code;
    use tonic_types::StatusExt as _;
    let delay = status
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .filter(|d| !d.is_zero());
    let kind = grpc_kind(status);
    let retry = match kind {
        // A connection lost after it was made (tonic says `Unknown`), a GOAWAY or a refused
        // stream: the request was not processed, or may be sent again (OTLP is idempotent
        // enough: a duplicate is better than a loss).
        Kind::Connect | Kind::Transport => Retry::Backoff,
        Kind::Http(429 | 502 | 503 | 504) => Retry::Backoff,
        Kind::Timeout => Retry::Backoff,
        Kind::Grpc(_) => match status.code() {
            Code::ResourceExhausted => delay.map_or(Retry::No, Retry::After),
            Code::Unavailable => delay.map_or(Retry::Backoff, Retry::After),
            Code::Cancelled | Code::Aborted | Code::OutOfRange | Code::DataLoss => Retry::Backoff,
            _ => Retry::No,
        },
        _ => Retry::No,
    };
    let mut error = format!("export failed with gRPC code: {:?}", status.code());
    let mut only_code = false;
    if let Some(source) = std::error::Error::source(status) {
        error.push_str(": ");
        error.push_str(&chain(source));
    } else if let Kind::Http(code) = kind {
        error.push_str(&format!(": the endpoint answered HTTP {code}, not gRPC"));
    } else {
        only_code = true;
    }
    let error = ExportError::new(kind, error);
    Attempt {
        error: if only_code {
            error.only_a_code()
        } else {
            error
        },
        retry,
    }
}

/// What a gRPC failure was, from the errors tonic keeps as its source (typed: tonic's timeout
/// and connect errors, hyper's and HTTP/2's), and from tonic's one way of saying the answer was
/// plain HTTP (no `grpc-status`, mapped from the HTTP status).
#[cfg(feature = "grpc")]
fn grpc_kind(status: &tonic::Status) -> Kind {
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if e.downcast_ref::<tonic::TimeoutExpired>().is_some() {
            return Kind::Timeout;
        }
        if e.downcast_ref::<tonic::ConnectError>().is_some() {
            return Kind::Connect;
        }
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            // Detected here, in what the peer sent: not HTTP/2 at all (an HTTP/1 server's
            // answer read as frames). A GOAWAY, a reset or an I/O error is a real HTTP/2 peer.
            let garbage = h2.is_library()
                && matches!(
                    h2.reason(),
                    Some(h2::Reason::PROTOCOL_ERROR | h2::Reason::FRAME_SIZE_ERROR)
                );
            return if garbage {
                Kind::WrongProtocol
            } else {
                Kind::Transport
            };
        }
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            return if hyper.is_parse() {
                Kind::WrongProtocol
            } else if hyper.is_timeout() {
                Kind::Timeout
            } else {
                Kind::Transport
            };
        }
        source = e.source();
    }
    if let Some(code) = status
        .message()
        .strip_prefix("grpc-status header missing, mapped from HTTP status code ")
        .and_then(|c| c.trim().parse::<u16>().ok())
    {
        return Kind::Http(code);
    }
    match status.code() {
        tonic::Code::DeadlineExceeded => Kind::Timeout,
        code => Kind::Grpc(code as i32),
    }
}

/// An `ExportTraceServiceResponse`: `partial_success` (1) { `rejected_spans` (1),
/// `error_message` (2) }. Anything unreadable counts as full success: the collector said OK.
fn partial_success(response: &[u8]) -> Delivery {
    let Some(inner) = field(response, 1) else {
        return Delivery::Sent;
    };
    let rejected = varint_field(inner, 1).unwrap_or(0);
    // A collector's message can be megabytes: it goes into the warning and the report, cut.
    let message = field(inner, 2)
        .map(|m| String::from_utf8_lossy(&m[..m.len().min(512)]).into_owned())
        .unwrap_or_default();
    if rejected == 0 && message.is_empty() {
        Delivery::Sent
    } else {
        Delivery::Partial { rejected, message }
    }
}

/// The first length-delimited field `wanted` of a protobuf message.
fn field(mut msg: &[u8], wanted: u64) -> Option<&[u8]> {
    while !msg.is_empty() {
        let key = read_varint(&mut msg)?;
        match key & 7 {
            0 => {
                read_varint(&mut msg)?;
            }
            1 => msg = msg.get(8..)?,
            5 => msg = msg.get(4..)?,
            2 => {
                let len = usize::try_from(read_varint(&mut msg)?).ok()?;
                let body = msg.get(..len)?;
                msg = &msg[len..];
                if key >> 3 == wanted {
                    return Some(body);
                }
            }
            _ => return None,
        }
    }
    None
}

/// The first varint field `wanted` of a protobuf message.
fn varint_field(mut msg: &[u8], wanted: u64) -> Option<u64> {
    while !msg.is_empty() {
        let key = read_varint(&mut msg)?;
        match key & 7 {
            0 => {
                let v = read_varint(&mut msg)?;
                if key >> 3 == wanted {
                    return Some(v);
                }
            }
            1 => msg = msg.get(8..)?,
            5 => msg = msg.get(4..)?,
            2 => {
                let len = usize::try_from(read_varint(&mut msg)?).ok()?;
                msg = msg.get(len..)?;
            }
            _ => return None,
        }
    }
    None
}

fn read_varint(msg: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = msg.split_first()?;
        *msg = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// The request is already protobuf: tonic frames (and compresses) it as it is; the response is
/// kept as bytes for [`partial_success`].
#[cfg(feature = "grpc")]
struct PassThrough;

#[cfg(feature = "grpc")]
impl tonic::codec::Codec for PassThrough {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = PassThrough;
    type Decoder = PassThrough;

    fn encoder(&mut self) -> PassThrough {
        PassThrough
    }

    fn decoder(&mut self) -> PassThrough {
        PassThrough
    }
}

#[cfg(feature = "grpc")]
impl tonic::codec::Encoder for PassThrough {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut as _;
        dst.put_slice(&item);
        Ok(())
    }
}

#[cfg(feature = "grpc")]
impl tonic::codec::Decoder for PassThrough {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Bytes>, tonic::Status> {
        use bytes::Buf as _;
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_success_is_read_from_the_response() {
        // partial_success { rejected_spans: 3, error_message: "too old" }
        let mut inner = vec![0x08, 3, 0x12, 7];
        inner.extend_from_slice(b"too old");
        let mut response = vec![0x0a, inner.len() as u8];
        response.extend_from_slice(&inner);
        match partial_success(&response) {
            Delivery::Partial { rejected, message } => {
                assert_eq!((rejected, message.as_str()), (3, "too old"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(partial_success(&[]), Delivery::Sent));
        // An empty partial_success message: full success.
        assert!(matches!(partial_success(&[0x0a, 0]), Delivery::Sent));
        // Garbage is not a failure: the collector answered OK.
        assert!(matches!(partial_success(&[0xff, 0xff]), Delivery::Sent));
    }
}
