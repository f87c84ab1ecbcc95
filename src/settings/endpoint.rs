//! The endpoint rule: what an `otlp_endpoint` may look like, and the exact URL requests go to.
//!
//! The specification appends `/v1/traces` to `OTEL_EXPORTER_OTLP_ENDPOINT` for HTTP and uses
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is; tracewire's own keys append only to a bare host,
//! so that both `http://collector:4318` and a full URL work. Without a protocol, port 4317
//! means gRPC (its registered port), anything else OTLP/HTTP.

use std::path::PathBuf;

use super::{Export, Protocol, Source};

/// The protocol an endpoint implies when none is set: gRPC on its registered port 4317.
pub(super) fn implied_protocol(port: u16) -> Protocol {
    if port == 4317 {
        Protocol::Grpc
    } else {
        Protocol::HttpProtobuf
    }
}

/// Where spans go, for a parsed endpoint set at `src` and the protocol, if one applies.
pub(super) fn export(endpoint: Endpoint, src: &Source, protocol: Option<Protocol>) -> Export {
    match endpoint.with_rule(src) {
        Endpoint::File(path) => Export::File { path },
        url => {
            let (url, protocol) = signal_url(url, protocol, "traces");
            Export::Otlp { url, protocol }
        }
    }
}

/// The URL and protocol of one signal (`traces`, `metrics`, `logs`) for an endpoint given as a
/// URL (not `file:`) and set at `src`: the specification's rule for its variables (the generic
/// endpoint gets `/v1/<signal>`, a signal's own is used as is), tracewire's for its keys (only a
/// bare host gets the path).
pub(super) fn url_for(
    endpoint: Endpoint,
    src: &Source,
    protocol: Option<Protocol>,
    signal: &str,
) -> Option<(String, Protocol)> {
    match endpoint.with_rule(src) {
        Endpoint::File(_) => None,
        url => Some(signal_url(url, protocol, signal)),
    }
}

fn signal_url(endpoint: Endpoint, protocol: Option<Protocol>, signal: &str) -> (String, Protocol) {
    let Endpoint::Url {
        url,
        port,
        path_empty,
        rule,
    } = endpoint
    else {
        unreachable!("callers pass URLs only")
    };
    let protocol = protocol.unwrap_or_else(|| implied_protocol(port));
    let append = match rule {
        AppendRule::Always => true,
        AppendRule::IfNoPath => path_empty,
        AppendRule::Never => false,
    };
    let url = if protocol == Protocol::HttpProtobuf && append {
        format!("{}/v1/{signal}", url.trim_end_matches('/'))
    } else {
        url
    };
    (url, protocol)
}

/// Another signal's URL beside the span URL: the span endpoint for gRPC; for HTTP `…/v1/traces`
/// → `…/v1/<signal>`, and a custom path gets `/v1/<signal>` beside it.
pub(super) fn beside_traces(traces_url: &str, protocol: Protocol, signal: &str) -> String {
    if protocol != Protocol::HttpProtobuf {
        return traces_url.to_string();
    }
    match traces_url.strip_suffix("/v1/traces") {
        Some(base) => format!("{base}/v1/{signal}"),
        None => format!("{}/v1/{signal}", traces_url.trim_end_matches('/')),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum AppendRule {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the spec appends `/v1/traces` for HTTP.
    Always,
    /// `otlp_endpoint` in a file, `TRACEWIRE_OTLP_ENDPOINT`, code: append only to a bare host.
    IfNoPath,
    /// A signal's own variable (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `…_METRICS_…`,
    /// `…_LOGS_…`): used as is.
    Never,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Endpoint {
    File(PathBuf),
    Url {
        url: String,
        port: u16,
        path_empty: bool,
        rule: AppendRule,
    },
}

impl Endpoint {
    /// `insecure`: a URL without a scheme is `http://` (else `https://`), as the specification's
    /// `OTEL_EXPORTER_OTLP_INSECURE` says.
    pub(super) fn parse(s: &str, insecure: bool) -> std::result::Result<Endpoint, String> {
        const ALLOWED: &str = "an http:// or https:// URL with a host (e.g. http://localhost:4317, https://collector.example.com), or file:PATH";
        if let Some(path) = s.strip_prefix("file:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(format!("{ALLOWED}; file: needs a path"));
            }
            return Ok(Endpoint::File(PathBuf::from(path)));
        }
        let with_scheme;
        let s = if s.contains("://") {
            s
        } else {
            with_scheme = format!("{}://{s}", if insecure { "http" } else { "https" });
            &with_scheme
        };
        let (scheme, rest) = s.split_once("://").ok_or(ALLOWED)?;
        let default_port = match scheme {
            "http" => 80,
            "https" if cfg!(feature = "tls") => {
                if insecure {
                    return Err(format!(
                        "{ALLOWED}; otlp_insecure = true contradicts an https:// endpoint"
                    ));
                }
                443
            }
            // Refuse at start rather than fail every export.
            "https" => {
                return Err(format!(
                    "{ALLOWED}; https:// needs tracewire's `tls` cargo feature (on by default), which this build does not include"
                ));
            }
            _ => return Err(ALLOWED.into()),
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@')
            || authority
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ALLOWED.into());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or(ALLOWED)?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(ALLOWED.into());
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("{ALLOWED}; the port must be 1-65535"))?,
            None => default_port,
        };
        if port == 0 {
            return Err(format!("{ALLOWED}; the port must be 1-65535"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ALLOWED.into());
        }
        Ok(Endpoint::Url {
            url: s.to_string(),
            port,
            path_empty: path.is_empty() || path == "/",
            rule: AppendRule::IfNoPath,
        })
    }

    fn with_rule(self, src: &Source) -> Endpoint {
        let rule = match src {
            Source::Env {
                var: "OTEL_EXPORTER_OTLP_ENDPOINT",
            } => AppendRule::Always,
            Source::Env { var } if var.starts_with("OTEL_EXPORTER_OTLP_") => AppendRule::Never,
            _ => AppendRule::IfNoPath,
        };
        match self {
            Endpoint::Url {
                url,
                port,
                path_empty,
                ..
            } => Endpoint::Url {
                url,
                port,
                path_empty,
                rule,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_signals_go_beside_traces() {
        let http = Protocol::HttpProtobuf;
        assert_eq!(
            beside_traces("http://c:4318/v1/traces", http, "logs"),
            "http://c:4318/v1/logs"
        );
        assert_eq!(
            beside_traces("http://c:4318/custom", http, "logs"),
            "http://c:4318/custom/v1/logs"
        );
        assert_eq!(
            beside_traces("http://c:4317", Protocol::Grpc, "metrics"),
            "http://c:4317"
        );
    }

    #[test]
    fn a_signals_own_variable_is_used_as_is_the_generic_one_gets_the_path() {
        let e = || Endpoint::parse("http://c:4318", false).unwrap();
        let own = Source::Env {
            var: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        };
        let generic = Source::Env {
            var: "OTEL_EXPORTER_OTLP_ENDPOINT",
        };
        assert_eq!(
            url_for(e(), &own, None, "metrics").unwrap().0,
            "http://c:4318"
        );
        assert_eq!(
            url_for(e(), &generic, None, "metrics").unwrap().0,
            "http://c:4318/v1/metrics"
        );
        assert_eq!(
            url_for(e(), &Source::Code, None, "logs").unwrap().0,
            "http://c:4318/v1/logs"
        );
    }
}
