//! tracewire's HTTP client for OTLP/HTTP: hyper on the export runtime, rustls for `https://`.
//!
//! Why its own: opentelemetry-otlp picks its HTTP client by cargo features, and cargo unifies
//! features across the whole build, so the choice of one crate (say `hyper-client`) breaks when
//! another enables a different one (`reqwest-blocking-client`: E0433 in opentelemetry-otlp
//! 0.33). Handing the exporter a client of its own means tracewire enables none of them. And the
//! exporter reduces every transport error to "network error": this client keeps the real reason
//! (a refused connection, an unknown certificate issuer) for the shutdown report.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};

/// A collector's answer is a small protobuf; anything longer is not read.
const MAX_RESPONSE_BYTES: usize = 4 << 20;

#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<ProxyConnector>;
#[cfg(not(feature = "tls"))]
type Connector = ProxyConnector;

use super::proxy::ProxyConnector;
use hyper_util::client::proxy::matcher::Matcher;
use std::sync::Arc;

use super::failure::{ExportError, Kind, LastTransportError, chain};
use crate::lock::LockExt as _;

/// An OTLP/HTTP client: one connection pool, a timeout per request.
#[derive(Clone)]
pub(crate) struct OtlpHttpClient {
    inner: Client<Connector, Full<Bytes>>,
    timeout: Duration,
    last_error: LastTransportError,
}

impl std::fmt::Debug for OtlpHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpHttpClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn connector(
    http2: bool,
    proxy: Option<Arc<Matcher>>,
    #[cfg(feature = "tls")] tls: rustls::ClientConfig,
) -> Connector {
    let mut direct = HttpConnector::new();
    direct.enforce_http(false);
    direct.set_nodelay(true);
    let http = ProxyConnector::new(direct, proxy);
    #[cfg(feature = "tls")]
    {
        let b = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        if http2 {
            b.enable_http2().wrap_connector(http)
        } else {
            b.enable_http1().wrap_connector(http)
        }
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = http2;
        http
    }
}

impl OtlpHttpClient {
    /// A client for plain `http://` and, with `tls`, `https://` with this configuration.
    pub(crate) fn new(
        timeout: Duration,
        proxy: Option<Arc<Matcher>>,
        #[cfg(feature = "tls")] tls: rustls::ClientConfig,
    ) -> (OtlpHttpClient, LastTransportError) {
        let last_error = LastTransportError::default();
        let client = OtlpHttpClient {
            inner: Client::builder(TokioExecutor::new()).build(connector(
                false,
                proxy,
                #[cfg(feature = "tls")]
                tls,
            )),
            timeout,
            last_error: last_error.clone(),
        };
        (client, last_error)
    }

    fn remember(&self, e: String) -> HttpError {
        *self.last_error.lock_or_recover() = Some(e.clone());
        e.into()
    }
}

/// Asks a gRPC endpoint, with one empty `Export` request, why exports fail: the exporter says
/// only "gRPC code: Internal". Finds what TLS said (an unknown issuer, a missing client
/// certificate), what a proxy answered (HTTP 400 and its page), or that the port does not speak
/// HTTP/2 at all (an OTLP/HTTP port).
#[derive(Clone)]
pub(crate) struct GrpcProbe {
    client: Client<Connector, Full<Bytes>>,
    url: String,
    last: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl std::fmt::Debug for GrpcProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcProbe").field("url", &self.url).finish()
    }
}

impl GrpcProbe {
    // Only a gRPC exporter asks for a probe.
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    pub(crate) fn new(
        url: &str,
        proxy: Option<Arc<Matcher>>,
        #[cfg(feature = "tls")] tls: rustls::ClientConfig,
    ) -> GrpcProbe {
        GrpcProbe {
            client: Client::builder(TokioExecutor::new())
                .http2_only(true)
                .build(connector(
                    true,
                    proxy,
                    #[cfg(feature = "tls")]
                    tls,
                )),
            url: url.trim_end_matches('/').to_string(),
            last: Default::default(),
        }
    }

    /// What the endpoint says, at most once per 10 s (`None`: not now, or nothing to add).
    pub(crate) async fn ask(&self, within: Duration) -> Option<String> {
        {
            let mut last = self.last.lock_or_recover();
            if last.is_some_and(|t| t.elapsed() < Duration::from_secs(10)) {
                return None;
            }
            *last = Some(std::time::Instant::now());
        }
        let request = http::Request::post(format!(
            "{}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            self.url
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        // One empty, uncompressed message: a valid, harmless request.
        .body(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])))
        .ok()?;
        let answer = async {
            let response = match self.client.request(request).await {
                Ok(r) => r,
                Err(e) => return Some(format!("the endpoint says: {}", chain(&e))),
            };
            let status = response.status();
            let grpc = |h: &http::HeaderMap| {
                let code = h.get("grpc-status")?.to_str().ok()?.to_string();
                let message = h
                    .get("grpc-message")
                    .and_then(|m| m.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                Some((code, message))
            };
            if let Some((code, message)) = grpc(response.headers()) {
                return (code != "0")
                    .then(|| format!("the endpoint says: grpc-status {code} {message}"));
            }
            let body = Limited::new(response.into_body(), 64 << 10)
                .collect()
                .await
                .ok();
            if status.is_success() {
                let trailers = body.as_ref().and_then(|b| b.trailers().cloned());
                return trailers.and_then(|t| grpc(&t)).and_then(|(code, message)| {
                    (code != "0")
                        .then(|| format!("the endpoint says: grpc-status {code} {message}"))
                });
            }
            let body = body.map(|b| b.to_bytes()).unwrap_or_default();
            Some(answered(status, &body))
        };
        tokio::time::timeout(within, answer).await.ok().flatten()
    }
}

/// `the endpoint answered HTTP 400: <the page's title, or its start>`.
pub(crate) fn answered(status: http::StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let title = text
        .split_once("<title>")
        .and_then(|(_, t)| t.split_once("</title>"))
        .map(|(t, _)| t.to_string())
        .unwrap_or_else(|| text.chars().take(120).collect());
    format!(
        "the endpoint answered HTTP {}: {}",
        status.as_u16(),
        title.trim()
    )
}

impl OtlpHttpClient {
    /// Sends `request` and reads the answer (at most 4 MiB), within the timeout; a failure is
    /// classified here, where hyper's error still says what it was. A success whose body cannot
    /// be read whole counts as a success with an empty body: the collector said OK, and sending
    /// the batch again would only duplicate it.
    pub(crate) async fn post(
        &self,
        request: Request<Bytes>,
    ) -> Result<Response<Bytes>, ExportError> {
        let request = request.map(Full::new);
        let exchange = async {
            let response = self.inner.request(request).await.map_err(|e| {
                let kind = if e.is_connect() {
                    Kind::Connect
                } else {
                    hyper_kind(&e)
                };
                let text = chain(&e);
                self.remember(text.clone());
                ExportError::new(kind, text)
            })?;
            let (parts, body) = response.into_parts();
            let body = match Limited::new(body, MAX_RESPONSE_BYTES).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) if parts.status.is_success() => Bytes::new(),
                Err(e) => {
                    let text = format!("reading the response: {e}");
                    self.remember(text.clone());
                    return Err(ExportError::new(Kind::Transport, text));
                }
            };
            if !parts.status.is_success() {
                // The exporter keeps the status only; a proxy's page says why.
                self.remember(answered(parts.status, &body));
            }
            Ok(Response::from_parts(parts, body))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => {
                let text = format!("no answer within {:?}", self.timeout);
                self.remember(text.clone());
                Err(ExportError::new(Kind::Timeout, text))
            }
        }
    }
}

/// What hyper's error in `e`'s chain says: bytes that are not HTTP/1 (an HTTP/2-only gRPC port
/// answering), a timeout, or a transport failure.
fn hyper_kind(e: &(dyn std::error::Error + 'static)) -> Kind {
    let mut source = Some(e);
    while let Some(e) = source {
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            return if h.is_parse() {
                Kind::WrongProtocol
            } else if h.is_timeout() {
                Kind::Timeout
            } else {
                Kind::Transport
            };
        }
        source = e.source();
    }
    Kind::Transport
}

/// For opentelemetry-otlp's log and metric exporters, which keep only the text.
#[async_trait::async_trait]
impl HttpClient for OtlpHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        self.post(request).await.map_err(|e| e.to_string().into())
    }
}
