//! Why an export request did not deliver, classified once, where it happened: the transport
//! knows whether it could not connect, lost the connection, got no answer, got an error answer
//! (and which), or read something that is not its protocol at all. What follows from that (count
//! it as timed out or failed, the hint that the port speaks the other protocol, whether asking
//! the endpoint could say more) are pure functions of the kind, never searches of the text.

use std::fmt;

use crate::settings::Protocol;

/// Longest detail kept: a collector's error page or message can be megabytes, and the detail
/// goes into the warning and the report.
const MAX_DETAIL: usize = 512;

/// What kind of failure an export met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Without an OTLP transport only the file sink fails, locally.
#[cfg_attr(not(any(feature = "grpc", feature = "http-proto")), allow(dead_code))]
pub(crate) enum Kind {
    /// No connection could be made: refused, DNS, the TLS handshake, the proxy.
    Connect,
    /// The connection failed after it was made (reset, a broken stream), or the exporter of a
    /// dependency reported a failure only as text.
    Transport,
    /// No answer in time: the collector may still have received the request.
    Timeout,
    /// An HTTP answer with this status (for gRPC: a plain HTTP answer without `grpc-status`).
    Http(u16),
    /// A gRPC status with this code (`tonic::Code` as its number).
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    Grpc(i32),
    /// What came back is not the protocol this client speaks: HTTP/1 bytes on an HTTP/2
    /// connection, or the reverse.
    WrongProtocol,
    /// Nothing reached the network: encoding, compression, the file sink.
    Local,
}

/// gRPC `UNIMPLEMENTED`: the server has no such method (no OTLP trace service on that port).
#[cfg_attr(not(feature = "grpc"), allow(dead_code))]
pub(crate) const GRPC_UNIMPLEMENTED: i32 = 12;

/// One failed export request: its kind and what happened, bounded.
#[derive(Debug, Clone)]
pub(crate) struct ExportError {
    kind: Kind,
    detail: String,
    /// The transport learned nothing but a status code (a gRPC code without a cause).
    only_code: bool,
}

impl ExportError {
    pub(crate) fn new(kind: Kind, detail: impl Into<String>) -> ExportError {
        let mut detail = detail.into();
        if detail.len() > MAX_DETAIL {
            let mut end = MAX_DETAIL;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            detail.truncate(end);
            detail.push('…');
        }
        ExportError {
            kind,
            detail,
            only_code: false,
        }
    }

    /// Marks an error that says a status code and nothing else.
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    pub(crate) fn only_a_code(mut self) -> ExportError {
        self.only_code = true;
        self
    }

    #[cfg_attr(not(any(feature = "grpc", feature = "http-proto")), allow(dead_code))]
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// Adds what a diagnosis found (the endpoint's own answer to a probe, the transport's
    /// last error), bounded like the rest.
    pub(crate) fn with_reason(self, why: &str) -> ExportError {
        let text = format!("{}: {why}", self.detail);
        ExportError::new(self.kind, text)
    }

    /// No answer in time: counted as timed out, not failed (it may have arrived).
    pub(crate) fn is_timeout(&self) -> bool {
        self.kind == Kind::Timeout
    }

    /// A gRPC code and nothing else: asking the endpoint directly may say why (a TLS
    /// terminator's page, a proxy's answer).
    #[cfg_attr(not(all(feature = "grpc", feature = "http-proto")), allow(dead_code))]
    pub(crate) fn says_only_a_code(&self) -> bool {
        self.only_code
    }

    /// The hint for a failure that means the endpoint speaks the other protocol: which it seems
    /// to speak, and which setting to change. Only from evidence: bytes of the other protocol,
    /// a plain HTTP answer to gRPC, no OTLP method on a gRPC server, or no OTLP path on an HTTP
    /// one; never for a real endpoint of this protocol that refused or dropped a request.
    pub(crate) fn protocol_hint(&self, protocol: Protocol) -> Option<&'static str> {
        let evidence = matches!(
            (protocol, self.kind),
            (_, Kind::WrongProtocol)
                | (Protocol::Grpc, Kind::Http(_))
                | (Protocol::Grpc, Kind::Grpc(GRPC_UNIMPLEMENTED))
                | (Protocol::HttpProtobuf, Kind::Http(404 | 415))
        );
        if !evidence {
            return None;
        }
        Some(match protocol {
            Protocol::Grpc => {
                "the endpoint does not seem to speak OTLP/gRPC (an OTLP/HTTP port, usually 4318?): set otlp_protocol = \"http/protobuf\" (OTEL_EXPORTER_OTLP_PROTOCOL) or point otlp_endpoint at the gRPC port (usually 4317)"
            }
            Protocol::HttpProtobuf => {
                "the endpoint may not speak OTLP/HTTP (a gRPC port, usually 4317?): set otlp_protocol = \"grpc\" (OTEL_EXPORTER_OTLP_PROTOCOL) or point otlp_endpoint at the HTTP port (usually 4318)"
            }
        })
    }

    /// An error of a dependency's exporter (opentelemetry-otlp's log exporter), which reports
    /// failures only as text: its own timeout is read from its words, anything else is a
    /// transport failure the diagnosis may explain.
    #[cfg_attr(
        not(all(
            any(feature = "logs", feature = "metrics"),
            any(feature = "grpc", feature = "http-proto")
        )),
        allow(dead_code)
    )]
    pub(crate) fn from_dependency(text: String) -> ExportError {
        let lower = text.to_ascii_lowercase();
        // opentelemetry-otlp's HTTP exporter: "HTTP export failed with status code: 404".
        let http_status = text
            .split_once("status code: ")
            .and_then(|(_, rest)| rest.get(..3))
            .and_then(|code| code.parse::<u16>().ok());
        let kind = if let Some(code) = http_status {
            Kind::Http(code)
        } else if text.contains("Unimplemented") {
            Kind::Grpc(GRPC_UNIMPLEMENTED)
        } else if lower.contains("timed out") || lower.contains("deadline") {
            Kind::Timeout
        } else {
            Kind::Transport
        };
        ExportError::new(kind, text)
    }

    /// Whether the endpoint does not take this signal at all: gRPC `UNIMPLEMENTED` (a server
    /// without the signal's service) or HTTP 404 (no such path), as a trace-only backend
    /// answers metrics and log records.
    #[cfg_attr(
        not(all(
            any(feature = "logs", feature = "metrics"),
            any(feature = "grpc", feature = "http-proto")
        )),
        allow(dead_code)
    )]
    pub(crate) fn signal_not_served(&self) -> bool {
        matches!(self.kind, Kind::Grpc(GRPC_UNIMPLEMENTED) | Kind::Http(404))
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

/// The latest transport error of tracewire's HTTP client (an exporter of a dependency keeps
/// only "network error"): set by the client, read by the `Diagnosis` for the report.
pub(crate) type LastTransportError = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// `error: source: source …`: hyper's and tonic's errors say little at the top ("client error
/// (Connect)", "transport error"); the reason (refused, certificate unknown) is further down.
#[cfg_attr(not(any(feature = "grpc", feature = "http-proto")), allow(dead_code))]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dependencys_text_is_classified_once() {
        let of = |t: &str| ExportError::from_dependency(t.to_string());
        let http = of("HTTP export failed with status code: 404");
        assert_eq!(http.kind(), Kind::Http(404));
        assert!(http.signal_not_served());
        let grpc = of("export failed: status: Unimplemented, message: \"unknown service\"");
        assert!(grpc.signal_not_served());
        assert_eq!(
            of("HTTP export failed with status code: 503").kind(),
            Kind::Http(503)
        );
        assert!(!of("HTTP export failed with status code: 503").signal_not_served());
        assert_eq!(of("request timed out").kind(), Kind::Timeout);
        assert_eq!(
            of("connection refused (port 14045)").kind(),
            Kind::Transport
        );
        assert!(!of("connection refused (port 14045)").signal_not_served());
    }

    #[test]
    fn hints_come_from_evidence_only() {
        let e = |k| ExportError::new(k, "x");
        let (grpc, http) = (Protocol::Grpc, Protocol::HttpProtobuf);
        assert!(e(Kind::WrongProtocol).protocol_hint(grpc).is_some());
        assert!(e(Kind::WrongProtocol).protocol_hint(http).is_some());
        assert!(e(Kind::Http(404)).protocol_hint(grpc).is_some());
        assert!(
            e(Kind::Grpc(GRPC_UNIMPLEMENTED))
                .protocol_hint(grpc)
                .is_some()
        );
        assert!(e(Kind::Http(404)).protocol_hint(http).is_some());
        // A real endpoint of the right protocol that refused or dropped a request.
        for k in [
            Kind::Transport,
            Kind::Connect,
            Kind::Timeout,
            Kind::Grpc(14),
            Kind::Grpc(13),
        ] {
            assert!(e(k).protocol_hint(grpc).is_none(), "{k:?}");
        }
        assert!(e(Kind::Http(503)).protocol_hint(http).is_none());
    }

    #[test]
    fn details_are_bounded() {
        let e = ExportError::new(Kind::Http(500), "é".repeat(3 << 20));
        assert!(e.to_string().len() <= MAX_DETAIL + 4);
    }
}
