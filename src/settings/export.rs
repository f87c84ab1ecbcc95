//! Where spans go ([`Export`]), a signal's OTLP transport settings ([`OtlpExport`]) and the
//! proxy environment they are sent through.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::Protocol;

/// Where finished spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Export {
    /// An OTLP endpoint: the exact URL requests are sent to.
    Otlp {
        /// For HTTP, the full URL including `/v1/traces`; for gRPC, the server's address.
        url: String,
        /// The transport.
        protocol: Protocol,
    },
    /// OTLP/JSON lines appended to a file (`otlp_endpoint = "file:PATH"`, or the default sink).
    File {
        /// The file spans are appended to.
        path: PathBuf,
    },
    /// No export (`traces_exporter = "none"`): ids are still made and propagated.
    None,
}

/// Where one signal's OTLP requests go and how they are made: the part of the settings each
/// OTLP transport receives. The span endpoint's is [`Settings::traces_otlp`](super::Settings::traces_otlp); metrics and log
/// records have their own ([`Settings::metrics_otlp`](super::Settings::metrics_otlp), [`Settings::logs_otlp`](super::Settings::logs_otlp)), each option
/// from the signal's own key or variable (`otlp_metrics_*`, `OTEL_EXPORTER_OTLP_METRICS_*`)
/// when set, else the span endpoint's.
///
/// ```
/// let s = tracewire::builder().without_settings_file()
///     .with_env([
///         ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
///         ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:4317"),
///     ])
///     .settings()?;
/// let metrics = s.metrics_otlp.unwrap();
/// assert_eq!(metrics.url, "http://metrics:4317");
/// assert_eq!(metrics.protocol, tracewire::settings::Protocol::Grpc);
/// assert_eq!(s.logs_otlp.unwrap().url, "http://collector:4318/v1/logs");
/// # Ok::<(), tracewire::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpExport {
    /// The exact URL: for HTTP with `/v1/<signal>` in place; for gRPC the server's address.
    pub url: String,
    /// The transport.
    pub protocol: Protocol,
    /// Headers sent with every request (values are secrets: never printed).
    pub headers: Vec<(String, String)>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// gzip-compress requests.
    pub gzip: bool,
    /// PEM file of the CA that signs the server's certificate; unset: the system's roots.
    pub certificate: Option<PathBuf>,
    /// PEM client certificate (chain) for mutual TLS.
    pub client_certificate: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub client_key: Option<PathBuf>,
    /// The egress proxy rules of the environment.
    pub(crate) proxy: ProxyEnv,
}

/// Header values redacted: they carry API keys.
impl fmt::Debug for OtlpExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, _)| (k.as_str(), crate::settings::REDACTED))
            .collect();
        f.debug_struct("OtlpExport")
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .field("headers", &headers)
            .field("timeout", &self.timeout)
            .field("gzip", &self.gzip)
            .field("certificate", &self.certificate)
            .field("client_certificate", &self.client_certificate)
            .field("client_key", &self.client_key)
            .finish()
    }
}

/// The egress proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, upper or
/// lower case; empty means unset), as the OTLP transports match them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProxyEnv {
    pub(crate) https: String,
    pub(crate) http: String,
    pub(crate) all: String,
    pub(crate) no: String,
}

impl ProxyEnv {
    pub(crate) fn from_env(env: &HashMap<String, String>) -> ProxyEnv {
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| env.get(*n).map(|v| v.trim()).filter(|v| !v.is_empty()))
                .unwrap_or_default()
                .to_string()
        };
        // Under CGI, `HTTP_PROXY` is the client's `Proxy:` request header ("httpoxy").
        let cgi = env.contains_key("REQUEST_METHOD");
        ProxyEnv {
            https: first(&["HTTPS_PROXY", "https_proxy"]),
            http: if cgi {
                first(&["http_proxy"])
            } else {
                first(&["HTTP_PROXY", "http_proxy"])
            },
            all: first(&["ALL_PROXY", "all_proxy"]),
            no: first(&["NO_PROXY", "no_proxy"]),
        }
    }

    /// The proxies as `explain()` shows them: host and port only, never credentials.
    pub(super) fn shown(&self) -> Option<String> {
        let host = |url: &str| {
            let rest = url.split_once("://").map_or(url, |(_, r)| r);
            let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
            rest.split('/').next().unwrap_or_default().to_string()
        };
        let mut parts = Vec::new();
        for (name, v) in [
            ("https", &self.https),
            ("http", &self.http),
            ("all", &self.all),
        ] {
            if !v.is_empty() {
                parts.push(format!("{name} via {}", host(v)));
            }
        }
        if parts.is_empty() {
            return None;
        }
        if !self.no.is_empty() {
            parts.push(format!("not for {}", self.no));
        }
        Some(parts.join("; "))
    }
}
