//! Whether a failed export request is tried again, and when, as the OTLP exporter
//! specification says: pure functions of what the transport saw (a gRPC status and its cause, an
//! HTTP status and `Retry-After`, a typed transport error).

use std::time::Duration;

#[cfg(feature = "grpc")]
use super::failure::chain;
use super::failure::{ExportError, Kind};

/// One attempt's failure: what happened, and whether (and when) to try again.
pub(super) struct Attempt {
    pub(super) error: ExportError,
    pub(super) retry: Retry,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Retry {
    No,
    Backoff,
    After(Duration),
}

/// An HTTP answer that is not a success: retried for 429, 502, 503 and 504 (after the server's
/// `Retry-After` in seconds, when it gives one for 429 or 503).
#[cfg(feature = "http-proto")]
pub(super) fn http_retry(status: http::StatusCode, headers: &http::HeaderMap) -> Retry {
    let after = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match status.as_u16() {
        429 | 503 => after.map_or(Retry::Backoff, Retry::After),
        502 | 504 => Retry::Backoff,
        _ => Retry::No,
    }
}

/// A transport error of the HTTP client: retried when the connection could not be made or
/// broke.
#[cfg(feature = "http-proto")]
pub(super) fn transport_retry(error: &ExportError) -> Retry {
    match error.kind() {
        Kind::Connect | Kind::Transport => Retry::Backoff,
        _ => Retry::No,
    }
}

/// tonic's status, classified: the code, and for errors tonic made itself (connect, TLS, DNS,
/// a broken connection) their cause. The server's message is left out, as opentelemetry-otlp
/// does: a server may echo credentials in it.
#[cfg(feature = "grpc")]
pub(super) fn grpc_failure(status: &tonic::Status) -> Attempt {
    use tonic::Code;
    use tonic_types::StatusExt as _;
    let delay = status
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .filter(|d| !d.is_zero());
    let kind = grpc_kind(status);
    let retry = match kind {
        // A connection lost after it was made (tonic says `Unknown`), a GOAWAY or a refused
        // stream: the request was not processed, or may be sent again (OTLP is idempotent
        // enough: a duplicate is better than a loss).
        Kind::Connect | Kind::Transport => Retry::Backoff,
        Kind::Http(429 | 502 | 503 | 504) => Retry::Backoff,
        Kind::Timeout => Retry::Backoff,
        Kind::Grpc(_) => match status.code() {
            Code::ResourceExhausted => delay.map_or(Retry::No, Retry::After),
            Code::Unavailable => delay.map_or(Retry::Backoff, Retry::After),
            Code::Cancelled | Code::Aborted | Code::OutOfRange | Code::DataLoss => Retry::Backoff,
            _ => Retry::No,
        },
        _ => Retry::No,
    };
    let mut error = format!("export failed with gRPC code: {:?}", status.code());
    let mut only_code = false;
    if let Some(source) = std::error::Error::source(status) {
        error.push_str(": ");
        error.push_str(&chain(source));
    } else if let Kind::Http(code) = kind {
        error.push_str(&format!(": the endpoint answered HTTP {code}, not gRPC"));
    } else {
        only_code = true;
    }
    let error = ExportError::new(kind, error);
    Attempt {
        error: if only_code {
            error.only_a_code()
        } else {
            error
        },
        retry,
    }
}

/// What a gRPC failure was, from the errors tonic keeps as its source (typed: tonic's timeout
/// and connect errors, hyper's and HTTP/2's), and from tonic's one way of saying the answer was
/// plain HTTP (no `grpc-status`, mapped from the HTTP status).
#[cfg(feature = "grpc")]
fn grpc_kind(status: &tonic::Status) -> Kind {
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if e.downcast_ref::<tonic::TimeoutExpired>().is_some() {
            return Kind::Timeout;
        }
        if e.downcast_ref::<tonic::ConnectError>().is_some() {
            return Kind::Connect;
        }
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            // Detected here, in what the peer sent: not HTTP/2 at all (an HTTP/1 server's
            // answer read as frames). A GOAWAY, a reset or an I/O error is a real HTTP/2 peer.
            let garbage = h2.is_library()
                && matches!(
                    h2.reason(),
                    Some(h2::Reason::PROTOCOL_ERROR | h2::Reason::FRAME_SIZE_ERROR)
                );
            return if garbage {
                Kind::WrongProtocol
            } else {
                Kind::Transport
            };
        }
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            return if hyper.is_parse() {
                Kind::WrongProtocol
            } else if hyper.is_timeout() {
                Kind::Timeout
            } else {
                Kind::Transport
            };
        }
        source = e.source();
    }
    if let Some(code) = status
        .message()
        .strip_prefix("grpc-status header missing, mapped from HTTP status code ")
        .and_then(|c| c.trim().parse::<u16>().ok())
    {
        return Kind::Http(code);
    }
    match status.code() {
        tonic::Code::DeadlineExceeded => Kind::Timeout,
        code => Kind::Grpc(code as i32),
    }
}
