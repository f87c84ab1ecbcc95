//! The gRPC transport's parts tonic does not build on its own: `otlp_headers` as metadata, a
//! channel through the egress proxy (the exporter's own channel has none), and the probe that
//! asks a failing gRPC endpoint what it is.

#![cfg(feature = "grpc")]

use super::{BuildResult, header_map};
use crate::export::failure::chain;
use crate::settings::OtlpExport;

pub(super) fn metadata(
    s: &OtlpExport,
) -> BuildResult<opentelemetry_otlp::tonic_types::metadata::MetadataMap> {
    let headers = header_map(s, "gRPC metadata")?;
    Ok(opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers))
}

/// A tonic channel through the egress proxy, when the proxy rules apply to `s.url` (`None`:
/// connect directly): the exporter's own channel has no proxy support.
#[cfg_attr(not(any(feature = "logs", feature = "metrics")), allow(dead_code))]
pub(super) fn proxied_channel(s: &OtlpExport) -> BuildResult<Option<tonic::transport::Channel>> {
    let Some(rules) = crate::export::proxy::matcher(&s.proxy)
        .filter(|m| crate::export::proxy::applies(Some(m), &s.url))
    else {
        return Ok(None);
    };
    let endpoint = tonic::transport::Endpoint::from_shared(s.url.clone())
        .map_err(|e| format!("invalid endpoint {}: {}", s.url, chain(&e)))?
        .timeout(s.timeout)
        .connect_timeout(s.timeout);
    #[cfg(feature = "tls")]
    let endpoint = if super::is_https(&s.url) {
        endpoint
            .tls_config(super::tls::tonic_tls(s)?)
            .map_err(|e| format!("TLS for {}: {}", s.url, chain(&e)))?
    } else {
        endpoint
    };
    Ok(Some(endpoint.connect_with_connector_lazy(
        crate::export::proxy::connector(&rules),
    )))
}

/// The probe for a gRPC endpoint (`None` when its TLS settings cannot be built: the exporter's
/// own build reports that).
#[cfg(feature = "http-proto")]
pub(super) fn probe(url: &str, s: &OtlpExport) -> Option<crate::export::http_client::GrpcProbe> {
    let proxy = crate::export::proxy::matcher(&s.proxy);
    #[cfg(feature = "tls")]
    return super::tls::rustls_config(url, s)
        .ok()
        .map(|tls| crate::export::http_client::GrpcProbe::new(url, proxy, tls));
    #[cfg(not(feature = "tls"))]
    Some(crate::export::http_client::GrpcProbe::new(url, proxy))
}
