//! The OTLP clients of every signal, each built from its signal's [`OtlpExport`] (endpoint,
//! protocol, headers, timeout, compression, TLS, proxy): tracewire's span client
//! (`span_client.rs`), and opentelemetry-otlp's log-record and metric exporters through one
//! builder, so that what one gets the other gets too (the gRPC log exporter once missed
//! `otlp_headers`). Split by transport as opentelemetry-otlp is: [`grpc`] (metadata, the proxied
//! channel, the probe), [`http`] (tracewire's HTTP client), [`tls`] (both transports' TLS);
//! here, the builders and the errors `init()` returns (what explains a failure later is
//! `diagnosis.rs`).

mod grpc;
mod http;
mod tls;

use crate::export::diagnosis::Diagnosis;
use crate::settings::{OtlpExport, Protocol};

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

/// Whether this endpoint needs TLS.
#[cfg_attr(not(any(feature = "tls", feature = "http-proto")), allow(dead_code))]
fn is_https(url: &str) -> bool {
    url.starts_with("https://")
}

/// `otlp_headers` as an HTTP header map; `as_what` says where a refused one was to go.
pub(crate) fn header_map(s: &OtlpExport, as_what: &str) -> BuildResult<::http::HeaderMap> {
    let mut headers = ::http::HeaderMap::new();
    for (k, v) in &s.headers {
        let (Ok(name), Ok(value)) = (
            ::http::HeaderName::try_from(k.as_str()),
            ::http::HeaderValue::try_from(v.as_str()),
        ) else {
            return Err(format!("otlp_headers: `{k}` cannot be sent as {as_what}"));
        };
        headers.insert(name, value);
    }
    Ok(headers)
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
                    .with_metadata(grpc::metadata(s)?);
                $(b = {
                    let $b = b;
                    $configure
                };)?
                if let Some(channel) = grpc::proxied_channel(s)? {
                    b = b.with_channel(channel);
                } else {
                    #[cfg(feature = "tls")]
                    if is_https(url) {
                        b = b.with_tls_config(tls::tonic_tls(s)?);
                    }
                }
                if s.gzip {
                    b = b.with_compression(opentelemetry_otlp::Compression::Gzip);
                }
                b.build()
                    .map(|e| {
                        let diagnosis = Diagnosis {
                            #[cfg(feature = "http-proto")]
                            probe: grpc::probe(url, s),
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
                let (client, transport) = http::client(url, s)?;
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
) -> BuildResult<(crate::export::span_client::SpanClient, Diagnosis)> {
    let url = s.url.as_str();
    #[cfg(not(feature = "grpc"))]
    let _ = connections;
    let encoder = crate::export::encode::SpanEncoder::new(resource);
    let err = |e: String| format!("cannot build the OTLP exporter for {url}: {e}");
    match s.protocol {
        #[cfg(feature = "grpc")]
        Protocol::Grpc => {
            #[cfg(feature = "tls")]
            let tls = if is_https(url) {
                Some(tls::tonic_tls(s)?)
            } else {
                None
            };
            #[cfg(not(feature = "tls"))]
            if is_https(url) {
                return Err(format!("{url} needs tracewire's `tls` cargo feature"));
            }
            let client = crate::export::span_client::SpanClient::grpc(
                s,
                connections,
                encoder,
                grpc::metadata(s)?,
                #[cfg(feature = "tls")]
                tls,
            )
            .map_err(err)?;
            let diagnosis = Diagnosis {
                #[cfg(feature = "http-proto")]
                probe: grpc::probe(url, s),
                ..Diagnosis::default()
            };
            Ok((client, diagnosis))
        }
        #[cfg(feature = "http-proto")]
        Protocol::HttpProtobuf => {
            // The client's own messages carry the transport error: no diagnosis to add.
            let (client, _last) = http::client(url, s)?;
            let headers = header_map(s, "an HTTP header")?;
            let client = crate::export::span_client::SpanClient::http(s, encoder, client, headers)
                .map_err(err)?;
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
        crate::export::prepare::cut(error, 300)
            .as_deref()
            .unwrap_or(error)
    );
}
