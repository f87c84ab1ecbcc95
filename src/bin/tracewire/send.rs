//! Replaying a file sink to a collector: each line is one OTLP export request, sent as is.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;

pub(crate) enum Protocol {
    Grpc,
    Http,
}

/// Sends every line of `text` to `endpoint`; returns (requests, spans) sent.
pub(crate) fn send(
    text: &str,
    endpoint: &str,
    protocol: Protocol,
) -> Result<(usize, usize), String> {
    let mut requests = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let req: ExportTraceServiceRequest = serde_json::from_str(line)
            .map_err(|e| format!("line {}: not an OTLP/JSON export request: {e}", n + 1))?;
        requests.push(req);
    }
    let spans: usize = requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum();
    match protocol {
        Protocol::Http => {
            for r in &requests {
                post(endpoint, &r.encode_to_vec())?;
            }
        }
        Protocol::Grpc => {
            use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let mut client = TraceServiceClient::connect(endpoint.to_string())
                    .await
                    .map_err(|e| {
                        format!(
                            "cannot connect to {endpoint}: {e} (is a collector listening there, speaking gRPC? for an OTLP/HTTP port, usually 4318, try --protocol http/protobuf)"
                        )
                    })?;
                for r in requests.iter().cloned() {
                    client.export(r).await.map_err(|e| {
                        // Connected, and the request still failed: what an HTTP/1 or OTLP/HTTP
                        // port makes of gRPC (Unimplemented, Internal, Unknown, or a connection
                        // error, depending on the server and the moment).
                        format!(
                            "export to {endpoint} failed: {} (code {:?}; if the endpoint is an OTLP/HTTP port, usually 4318, try --protocol http/protobuf)",
                            e.message().trim(),
                            e.code()
                        )
                    })?;
                }
                Ok::<(), String>(())
            })?;
        }
    }
    Ok((requests.len(), spans))
}

/// One OTLP/HTTP request over plain HTTP/1.1 (`http://host:port/path`).
fn post(url: &str, body: &[u8]) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// endpoints are supported for http/protobuf"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    // The URL comes from tracewire's endpoint rule, `/v1/traces` already added to a bare host.
    let path = if path.is_empty() { "/" } else { path };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut s = TcpStream::connect(&addr).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|_| s.write_all(body))
        .map_err(|e| {
            format!("{url}: {e} (the endpoint closed the connection: it may speak gRPC, port 4317?: try --protocol grpc)")
        })?;
    let mut response = Vec::new();
    let _ = s.take(64 * 1024).read_to_end(&mut response);
    if !response.starts_with(b"HTTP/1.") {
        // HTTP/2 frames (a gRPC port), or nothing: never print the raw bytes.
        return Err(format!(
            "{url} did not answer in HTTP/1.1 ({} bytes{}): it may speak gRPC (port 4317?): try --protocol grpc",
            response.len(),
            if response.starts_with(&[0, 0]) {
                ", HTTP/2 frames"
            } else {
                ""
            }
        ));
    }
    let status_line = String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    if status_line
        .split_whitespace()
        .nth(1)
        .is_some_and(|c| c.starts_with('2'))
    {
        Ok(())
    } else {
        let hint = if status_line.contains(" 404") || status_line.contains(" 415") {
            " (is the path /v1/traces of an OTLP/HTTP receiver?)"
        } else {
            ""
        };
        Err(format!("{url} answered {status_line:?}{hint}"))
    }
}
