//! The HTTP transport: tracewire's own HTTP client (hyper and rustls, `http_client.rs`) is the
//! OTLP/HTTP transport of every signal, whatever HTTP-client features other crates enable on
//! opentelemetry-otlp, with the egress proxy and TLS of the signal's settings.

#![cfg(feature = "http-proto")]

#[allow(unused_imports)]
use super::{BuildResult, is_https};
use crate::export::failure::LastTransportError;
use crate::settings::OtlpExport;

/// tracewire's HTTP client for OTLP/HTTP, and where it keeps the last transport error.
pub(super) fn client(
    url: &str,
    s: &OtlpExport,
) -> BuildResult<(
    crate::export::http_client::OtlpHttpClient,
    LastTransportError,
)> {
    let proxy = crate::export::proxy::matcher(&s.proxy);
    #[cfg(feature = "tls")]
    return Ok(crate::export::http_client::OtlpHttpClient::new(
        s.timeout,
        proxy,
        super::tls::rustls_config(url, s)?,
    ));
    #[cfg(not(feature = "tls"))]
    {
        if is_https(url) {
            return Err(format!("{url} needs tracewire's `tls` cargo feature"));
        }
        Ok(crate::export::http_client::OtlpHttpClient::new(
            s.timeout, proxy,
        ))
    }
}
