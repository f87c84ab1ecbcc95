//! What one call records: its span (name, kind, the RPC conventions' attributes, the target a
//! client was told), its status by number and name, whether the server has its method, and the
//! server's `traceresponse`.

use http::Request;
use tracing::field::Empty;

use super::Side;

/// The gRPC status codes, by number, as the conventions name them for `error.type`.
const CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// `/package.Service/Method` → (`package.Service`, `Method`).
fn service_method(path: &str) -> (&str, &str) {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.split_once('/').unwrap_or((path, ""))
}

pub(super) fn status_of(headers: &http::HeaderMap) -> Option<u16> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The call's method is not one the server has: `_OTHER`, the span named after the system.
pub(super) fn unrecognized(span: &tracing::Span, method: &str) {
    span.record("rpc.method", "_OTHER");
    span.record("rpc.method_original", method);
    crate::rename_span(span, "grpc");
}

/// `method` (`package.Service/Method`) is in `known` (entries `package.Service/Method`, or
/// `package.Service/*` for all of a service's methods).
pub(super) fn recognized(known: &[String], method: &str) -> bool {
    known.iter().any(|k| match k.strip_suffix('*') {
        Some(prefix) => method.starts_with(prefix),
        None => k == method,
    })
}

/// The server's `traceresponse` for a call that ended with `code`: in the trailers (or the
/// headers of a trailers-only answer), gRPC's place for what is known at the end.
pub(super) fn traceresponse(
    pending: Option<&crate::propagation::Pending>,
    span: &tracing::Span,
    code: u16,
) -> Option<http::HeaderValue> {
    let failed = matches!(code, 2 | 4 | 12 | 13 | 14 | 15);
    pending?.header(span, failed)
}

pub(super) fn method_of(path: Option<&http::uri::PathAndQuery>) -> Option<&str> {
    path.map(|p| p.path().strip_prefix('/').unwrap_or(p.path()))
}

/// Records a status on the span, once; the server marks only its own failures as errors.
pub(super) fn record_status(span: &tracing::Span, side: Side, code: u16, method: Option<&str>) {
    // tonic's router answers every path it does not route with UNIMPLEMENTED.
    if let (Side::Server, 12, Some(method)) = (side, code, method) {
        unrecognized(span, method);
    }
    let name = CODES.get(usize::from(code)).copied();
    match name {
        Some(name) => span.record("rpc.status_code", name),
        None => span.record("rpc.status_code", code.to_string().as_str()),
    };
    if previous_names() {
        span.record("rpc.grpc.status_code", i64::from(code));
    }
    if code == 0 {
        return;
    }
    let error = match side {
        Side::Client => true,
        Side::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
    };
    if error {
        span.record("error.type", name.unwrap_or("_OTHER"));
        span.record("otel.status_code", "error");
    }
}

/// `OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup` in the current stack: the deprecated names too.
fn previous_names() -> bool {
    crate::propagation::with_boundary(|b| b.rpc_dup).unwrap_or(false)
}

/// The span of a call: the name and kind are literals per side, so that each side is its own
/// callsite (the metrics layer tells the server's histogram from the client's by it).
macro_rules! rpc_span {
    ($req:expr, $server:expr, $name:literal, $kind:literal) => {{
        let req = $req;
        let (service, _) = service_method(req.uri().path());
        let (address, port): (Option<&str>, Option<i64>) = match ($server, req.uri().authority()) {
            (Some(Target { address, port }), _) => (Some(address), port.map(i64::from)),
            (None, Some(a)) => (Some(a.host()), a.port_u16().map(i64::from)),
            (None, None) => (None, None),
        };
        let full = req.uri().path().strip_prefix('/').unwrap_or(req.uri().path());
        let span = tracing::info_span!(
            target: "tracewire::grpc",
            $name,
            otel.name = full,
            otel.kind = $kind,
            otel.status_code = Empty,
            rpc.system.name = "grpc",
            rpc.method = full,
            rpc.method_original = Empty,
            rpc.status_code = Empty,
            server.address = address,
            server.port = port,
            error.type = Empty,
            rpc.system = Empty,
            rpc.service = Empty,
            rpc.grpc.status_code = Empty,
        );
        if previous_names() {
            span.record("rpc.system", "grpc");
            span.record("rpc.service", service);
        }
        span
    }};
}

pub(super) fn server_span<B>(req: &Request<B>) -> tracing::Span {
    rpc_span!(req, None::<&Target>, "gRPC request", "server")
}

pub(super) fn client_span<B>(req: &Request<B>, server: Option<&Target>) -> tracing::Span {
    rpc_span!(req, server, "gRPC client request", "client")
}

/// `server.address` / `server.port` of a client, from the target its channel was made for.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Target {
    address: String,
    port: Option<u16>,
}

impl Target {
    /// The conventions' reading of a gRPC target string: `host:port`, a URL
    /// (`http://host:port`), `dns://authority/host:port` give host and port; `unix:///path`
    /// gives the path; anything else is the whole string, without a port.
    pub(super) fn parse(target: &str) -> Target {
        let host_port = |s: &str| -> Option<Target> {
            let (host, port) = match s.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
                    (h.trim_matches(['[', ']']), Some(p.parse::<u16>().ok()?))
                }
                _ => (s, None),
            };
            (!host.is_empty() && !host.contains(['/', ','])).then(|| Target {
                address: host.to_string(),
                port,
            })
        };
        if let Some(path) = target.strip_prefix("unix://") {
            return Target {
                address: path.to_string(),
                port: None,
            };
        }
        let rest = match target.split_once("://") {
            Some(("http" | "https", rest)) => rest.trim_end_matches('/'),
            Some(("dns", rest)) => rest.rsplit_once('/').map_or(rest, |(_, r)| r),
            Some(_) => target,
            None => target,
        };
        host_port(rest).unwrap_or_else(|| Target {
            address: target.to_string(),
            port: None,
        })
    }
}

#[cfg(test)]
mod method_tests {
    #[test]
    fn listed_methods_and_whole_services_are_recognized() {
        let known = ["shop.v1.Orders/*".to_string(), "h.Health/Check".to_string()];
        assert!(super::recognized(&known, "shop.v1.Orders/Get"));
        assert!(super::recognized(&known, "h.Health/Check"));
        assert!(!super::recognized(&known, "h.Health/Watch"));
        assert!(!super::recognized(&known, "shop.v1.OrdersX/Get"));
    }
}

#[cfg(test)]
mod target_tests {
    use super::Target;

    #[test]
    fn targets_read_as_the_conventions_say() {
        let t = |s: &str| {
            let t = Target::parse(s);
            (t.address, t.port)
        };
        assert_eq!(t("grpc.io:50051"), ("grpc.io".into(), Some(50051)));
        assert_eq!(t("http://orders:50051"), ("orders".into(), Some(50051)));
        assert_eq!(
            t("dns://1.2.3.4/grpc.io:50051"),
            ("grpc.io".into(), Some(50051))
        );
        assert_eq!(
            t("unix:///run/containerd/containerd.sock"),
            ("/run/containerd/containerd.sock".into(), None)
        );
        assert_eq!(
            t("zk://zookeeper:2181/my-server"),
            ("zk://zookeeper:2181/my-server".into(), None)
        );
        assert_eq!(
            t("ipv4:198.51.100.123:50051,198.51.100.124:50051"),
            (
                "ipv4:198.51.100.123:50051,198.51.100.124:50051".into(),
                None
            )
        );
        assert_eq!(t("orders"), ("orders".into(), None));
    }
}
