//! The OTLP exporters, spans and log records alike, built in one place from the settings:
//! endpoint, protocol, headers, timeout, compression and TLS.
//!
//! One builder for both signals, so that what one gets the other gets too (the gRPC log
//! exporter once missed `otlp_headers`). TLS is rustls with the ring provider: for gRPC through
//! tonic's `ClientTlsConfig`, for HTTP through tracewire's own reqwest client, which is also
//! the HTTP transport whatever HTTP-client features other crates enable on opentelemetry-otlp.
//! Server certificates are checked against the system's root certificates (what an operator
//! installs, corporate CAs included, updated with the OS), or only against `otlp_certificate`
//! when it is set, as the specification's `OTEL_EXPORTER_OTLP_CERTIFICATE` says.

use crate::lock::LockExt as _;
use crate::settings::{OtlpExport, Protocol};

/// The latest transport error of tracewire's HTTP client (the exporter keeps only "network
/// error"), for the report.
pub(crate) type LastTransportError = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// What can say more about a failed export than the exporter does: the HTTP client's last
/// transport error, or a probe of the gRPC endpoint.
#[derive(Debug, Clone, Default)]
pub(crate) struct Diagnosis {
    last_error: Option<LastTransportError>,
    #[cfg(feature = "http-proto")]
    probe: Option<super::http_client::GrpcProbe>,
}

impl Diagnosis {
    /// The reason behind `error`, found within `within`: the HTTP transport's last error for a
    /// dependency's exporter that kept only "network error", or the gRPC endpoint's own answer
    /// when the failure says only a code.
    pub(crate) async fn explain(
        &self,
        error: &super::failure::ExportError,
        within: std::time::Duration,
    ) -> Option<String> {
        use super::failure::Kind;
        if let Some(last) = &self.last_error
            && matches!(error.kind(), Kind::Transport | Kind::Http(_))
        {
            return last.lock_or_recover().clone();
        }
        // tonic's transport errors carry their reason already.
        #[cfg(feature = "http-proto")]
        if let Some(probe) = &self.probe
            && error.says_only_a_code()
        {
            return probe.ask(within).await;
        }
        let _ = within;
        None
    }
}

/// `error: source: source …`: hyper's and tonic's errors say little at the top ("client error
/// (Connect)", "transport error"); the reason (refused, certificate unknown) is further down.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
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

/// The error for a protocol this build cannot speak.
fn missing_feature(protocol: Protocol) -> String {
    let feature = if protocol == Protocol::Grpc {
        "grpc"
    } else {
        "http-proto"
    };
    format!("otlp_protocol {protocol} needs tracewire's `{feature}` cargo feature")
}

/// What went wrong, for the error `init()` returns.
type BuildResult<T> = std::result::Result<T, String>;

/// A PEM file's bytes; the path was checked readable when the settings were resolved, but it
/// may have changed since.
#[cfg(feature = "tls")]
fn read_pem(key: &str, path: &std::path::Path) -> BuildResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("{key} {}: {e}", path.display()))
}

/// Whether this endpoint needs TLS.
#[cfg_attr(not(any(feature = "tls", feature = "http-proto")), allow(dead_code))]
fn is_https(url: &str) -> bool {
    url.starts_with("https://")
}

/// `otlp_headers` as an HTTP header map; `as_what` says where a refused one was to go.
pub(crate) fn header_map(s: &OtlpExport, as_what: &str) -> BuildResult<http::HeaderMap> {
    let mut headers = http::HeaderMap::new();
    for (k, v) in &s.headers {
        let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(k.as_str()),
            http::HeaderValue::try_from(v.as_str()),
        ) else {
            return Err(format!("otlp_headers: `{k}` cannot be sent as {as_what}"));
        };
        headers.insert(name, value);
    }
    Ok(headers)
}

#[cfg(feature = "grpc")]
fn metadata(s: &OtlpExport) -> BuildResult<opentelemetry_otlp::tonic_types::metadata::MetadataMap> {
    let headers = header_map(s, "gRPC metadata")?;
    Ok(opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers))
}

/// tonic's TLS settings for an `https://` endpoint.
#[cfg(all(feature = "grpc", feature = "tls"))]
fn tonic_tls(
    s: &OtlpExport,
) -> BuildResult<opentelemetry_otlp::tonic_types::transport::ClientTlsConfig> {
    use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
    let mut tls = ClientTlsConfig::new();
    tls = match &s.certificate {
        Some(ca) => {
            let pem = read_pem("otlp_certificate", ca)?;
            check_certs("otlp_certificate", ca, &pem)?;
            tls.ca_certificate(Certificate::from_pem(pem))
        }
        None => tls.with_native_roots(),
    };
    if let (Some(cert), Some(key)) = (&s.client_certificate, &s.client_key) {
        let cert_pem = read_pem("otlp_client_certificate", cert)?;
        check_certs("otlp_client_certificate", cert, &cert_pem)?;
        let key_pem = read_pem("otlp_client_key", key)?;
        check_key(key, &key_pem)?;
        tls = tls.identity(Identity::from_pem(cert_pem, key_pem));
    }
    Ok(tls)
}

#[cfg(feature = "tls")]
fn check_certs(
    key: &str,
    path: &std::path::Path,
    pem: &[u8],
) -> BuildResult<Vec<rustls_pki_types::CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject as _;
    let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| format!("{key} {}: not a PEM certificate file ({e})", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{key} {}: holds no certificate", path.display()));
    }
    Ok(certs)
}

#[cfg(feature = "tls")]
fn check_key(
    path: &std::path::Path,
    pem: &[u8],
) -> BuildResult<rustls_pki_types::PrivateKeyDer<'static>> {
    use rustls_pki_types::pem::PemObject as _;
    rustls_pki_types::PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        format!(
            "otlp_client_key {}: not a PEM private key ({e})",
            path.display()
        )
    })
}

/// A tonic channel through the egress proxy, when the proxy rules apply to `s.url` (`None`:
/// connect directly): the exporter's own channel has no proxy support.
#[cfg(feature = "grpc")]
#[cfg_attr(not(any(feature = "logs", feature = "metrics")), allow(dead_code))]
fn proxied_channel(s: &OtlpExport) -> BuildResult<Option<tonic::transport::Channel>> {
    let Some(rules) =
        super::proxy::matcher(&s.proxy).filter(|m| super::proxy::applies(Some(m), &s.url))
    else {
        return Ok(None);
    };
    let endpoint = tonic::transport::Endpoint::from_shared(s.url.clone())
        .map_err(|e| format!("invalid endpoint {}: {}", s.url, chain(&e)))?
        .timeout(s.timeout)
        .connect_timeout(s.timeout);
    #[cfg(feature = "tls")]
    let endpoint = if is_https(&s.url) {
        endpoint
            .tls_config(tonic_tls(s)?)
            .map_err(|e| format!("TLS for {}: {}", s.url, chain(&e)))?
    } else {
        endpoint
    };
    Ok(Some(endpoint.connect_with_connector_lazy(
        super::proxy::connector(&rules),
    )))
}

/// The rustls configuration of the HTTP client: roots and client certificate.
#[cfg(all(feature = "http-proto", feature = "tls"))]
fn rustls_config(url: &str, s: &OtlpExport) -> BuildResult<rustls::ClientConfig> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    if is_https(url) {
        match &s.certificate {
            Some(ca) => {
                let pem = read_pem("otlp_certificate", ca)?;
                for cert in check_certs("otlp_certificate", ca, &pem)? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("otlp_certificate {}: {e}", ca.display()))?;
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
                if roots.is_empty() {
                    return Err(format!(
                        "{url} needs TLS, and this system has no root certificates (install the ca-certificates package, or set otlp_certificate / OTEL_EXPORTER_OTLP_CERTIFICATE)"
                    ));
                }
            }
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots);
    Ok(match (&s.client_certificate, &s.client_key) {
        (Some(cert), Some(key)) if is_https(url) => {
            let certs = check_certs(
                "otlp_client_certificate",
                cert,
                &read_pem("otlp_client_certificate", cert)?,
            )?;
            let key = check_key(key, &read_pem("otlp_client_key", key)?)?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("otlp_client_certificate / otlp_client_key: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    })
}

/// tracewire's HTTP client for OTLP/HTTP, and where it keeps the last transport error.
#[cfg(feature = "http-proto")]
fn http_client(
    url: &str,
    s: &OtlpExport,
) -> BuildResult<(super::http_client::OtlpHttpClient, LastTransportError)> {
    let proxy = super::proxy::matcher(&s.proxy);
    #[cfg(feature = "tls")]
    return Ok(super::http_client::OtlpHttpClient::new(
        s.timeout,
        proxy,
        rustls_config(url, s)?,
    ));
    #[cfg(not(feature = "tls"))]
    {
        if is_https(url) {
            return Err(format!("{url} needs tracewire's `tls` cargo feature"));
        }
        Ok(super::http_client::OtlpHttpClient::new(s.timeout, proxy))
    }
}

/// The probe for a gRPC endpoint (`None` when its TLS settings cannot be built: the exporter's
/// own build reports that).
#[cfg(all(feature = "http-proto", feature = "grpc"))]
fn grpc_probe(url: &str, s: &OtlpExport) -> Option<super::http_client::GrpcProbe> {
    let proxy = super::proxy::matcher(&s.proxy);
    #[cfg(feature = "tls")]
    return rustls_config(url, s)
        .ok()
        .map(|tls| super::http_client::GrpcProbe::new(url, proxy, tls));
    #[cfg(not(feature = "tls"))]
    Some(super::http_client::GrpcProbe::new(url, proxy))
}

#[cfg_attr(not(any(feature = "logs", feature = "metrics")), allow(unused_macros))]
macro_rules! build_exporter {
    ($exporter:ty, $s:expr $(, |$b:ident| $configure:expr)?) => {{
        let s: &OtlpExport = $s;
        let url = s.url.as_str();
        let err = |e: opentelemetry_otlp::ExporterBuildError| {
            format!("cannot build the OTLP exporter for {url}: {e}")
        };
        match s.protocol {
            #[cfg(feature = "grpc")]
            Protocol::Grpc => {
                use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
                let mut b = <$exporter>::builder()
                    .with_tonic()
                    .with_endpoint(url)
                    .with_protocol(opentelemetry_otlp::Protocol::Grpc)
                    .with_timeout(s.timeout)
                    .with_metadata(metadata(s)?);
                $(b = {
                    let $b = b;
                    $configure
                };)?
                if let Some(channel) = proxied_channel(s)? {
                    b = b.with_channel(channel);
                } else {
                    #[cfg(feature = "tls")]
                    if is_https(url) {
                        b = b.with_tls_config(tonic_tls(s)?);
                    }
                }
                if s.gzip {
                    b = b.with_compression(opentelemetry_otlp::Compression::Gzip);
                }
                b.build()
                    .map(|e| {
                        let diagnosis = Diagnosis {
                            #[cfg(feature = "http-proto")]
                            probe: grpc_probe(url, s),
                            ..Diagnosis::default()
                        };
                        (e, diagnosis)
                    })
                    .map_err(err)
            }
            #[cfg(feature = "http-proto")]
            Protocol::HttpProtobuf => {
                use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
                let headers: std::collections::HashMap<String, String> =
                    s.headers.iter().cloned().collect();
                let (client, transport) = http_client(url, s)?;
                let mut b = <$exporter>::builder()
                    .with_http()
                    .with_http_client(client)
                    .with_endpoint(url)
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_timeout(s.timeout)
                    .with_headers(headers);
                $(b = {
                    let $b = b;
                    $configure
                };)?
                if s.gzip {
                    b = b.with_compression(opentelemetry_otlp::Compression::Gzip);
                }
                b.build()
                    .map(|e| {
                        let diagnosis = Diagnosis {
                            last_error: Some(transport),
                            ..Diagnosis::default()
                        };
                        (e, diagnosis)
                    })
                    .map_err(err)
            }
            #[allow(unreachable_patterns)]
            other => Err(missing_feature(other)),
        }
    }};
}

/// The span client for `s` (the exact URL: `/v1/traces` already appended for HTTP), with the
/// pipeline's resource and up to `connections` gRPC connections, and what can explain its
/// failures (the gRPC probe).
pub(crate) fn span_client(
    s: &OtlpExport,
    connections: usize,
    resource: &opentelemetry_sdk::Resource,
) -> BuildResult<(super::span_client::SpanClient, Diagnosis)> {
    let url = s.url.as_str();
    #[cfg(not(feature = "grpc"))]
    let _ = connections;
    let encoder = super::encode::SpanEncoder::new(resource);
    let err = |e: String| format!("cannot build the OTLP exporter for {url}: {e}");
    match s.protocol {
        #[cfg(feature = "grpc")]
        Protocol::Grpc => {
            #[cfg(feature = "tls")]
            let tls = if is_https(url) {
                Some(tonic_tls(s)?)
            } else {
                None
            };
            #[cfg(not(feature = "tls"))]
            if is_https(url) {
                return Err(format!("{url} needs tracewire's `tls` cargo feature"));
            }
            let client = super::span_client::SpanClient::grpc(
                s,
                connections,
                encoder,
                metadata(s)?,
                #[cfg(feature = "tls")]
                tls,
            )
            .map_err(err)?;
            let diagnosis = Diagnosis {
                #[cfg(feature = "http-proto")]
                probe: grpc_probe(url, s),
                ..Diagnosis::default()
            };
            Ok((client, diagnosis))
        }
        #[cfg(feature = "http-proto")]
        Protocol::HttpProtobuf => {
            // The client's own messages carry the transport error: no diagnosis to add.
            let (client, _last) = http_client(url, s)?;
            let client = super::span_client::SpanClient::http(s, encoder, client).map_err(err)?;
            Ok((client, Diagnosis::default()))
        }
        #[allow(unreachable_patterns)]
        other => Err(missing_feature(other)),
    }
}

/// The log-record exporter for `s`.
#[cfg(feature = "logs")]
pub(crate) fn log_exporter(
    s: &OtlpExport,
) -> BuildResult<(opentelemetry_otlp::LogExporter, Diagnosis)> {
    build_exporter!(opentelemetry_otlp::LogExporter, s)
}

/// The metric exporter for `s` (`/v1/metrics` already in place for HTTP) with `temporality`.
#[cfg(feature = "metrics")]
pub(crate) fn metric_exporter(
    s: &OtlpExport,
    temporality: opentelemetry_sdk::metrics::Temporality,
) -> BuildResult<(opentelemetry_otlp::MetricExporter, Diagnosis)> {
    build_exporter!(opentelemetry_otlp::MetricExporter, s, |b| b
        .with_temporality(temporality))
}

/// Whether an export error says the endpoint does not take this signal at all: gRPC
/// `UNIMPLEMENTED` (a server without the signal's service) or HTTP 404 (no such path), as a
/// trace-only backend answers metrics and log records. opentelemetry-otlp's metric and log
/// exporters report failures only as text, so this reads their text; the span client's errors
/// never come here.
#[cfg_attr(not(any(feature = "logs", feature = "metrics")), allow(dead_code))]
pub(crate) fn signal_not_served(error: &str) -> bool {
    error.contains("Unimplemented") || error.contains("404")
}

/// The one warning when an endpoint does not take a signal, naming the settings to change.
#[cfg_attr(not(any(feature = "logs", feature = "metrics")), allow(dead_code))]
pub(crate) fn warn_signal_off(signal: &str, url: &str, error: &str) {
    let upper = signal.to_ascii_uppercase();
    let switch = if signal == "metrics" {
        "OTEL_METRICS_EXPORTER=none (metrics_enabled = false)"
    } else {
        "OTEL_LOGS_EXPORTER=none (logs_enabled = false)"
    };
    eprintln!(
        "tracewire: warning: {url} does not take OTLP {signal} ({}); {signal} export is off for this process. Point OTEL_EXPORTER_OTLP_{upper}_ENDPOINT (otlp_{signal}_endpoint) at an endpoint that takes them, or set {switch}",
        super::prepare::cut(error, 300).as_deref().unwrap_or(error)
    );
}
