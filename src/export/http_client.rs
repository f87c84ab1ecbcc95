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
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;

use super::otlp::LastTransportError;

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

impl OtlpHttpClient {
    /// A client for plain `http://` and, with `tls`, `https://` with this configuration.
    pub(crate) fn new(
        timeout: Duration,
        #[cfg(feature = "tls")] tls: rustls::ClientConfig,
    ) -> (OtlpHttpClient, LastTransportError) {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        #[cfg(feature = "tls")]
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        #[cfg(not(feature = "tls"))]
        let connector = http;
        let last_error = LastTransportError::default();
        let client = OtlpHttpClient {
            inner: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
            last_error: last_error.clone(),
        };
        (client, last_error)
    }

    fn remember(&self, e: String) -> HttpError {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
        e.into()
    }
}

/// `error: source: source …`: hyper's errors say little at the top ("client error (Connect)");
/// the reason (refused, certificate unknown) is further down the chain.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[async_trait::async_trait]
impl HttpClient for OtlpHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = request.map(Full::new);
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| self.remember(chain(&e)))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| self.remember(format!("reading the response: {e}")))?
                .to_bytes();
            Ok(Response::from_parts(parts, body))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(self.remember(format!("no answer within {:?}", self.timeout))),
        }
    }
}
