//! A small OTLP trace receiver in the test process, over gRPC (tonic, opentelemetry-proto's
//! generated service) and HTTP/protobuf (axum): records what each request carried and answers
//! with a chosen partial success. For what a real collector cannot show (the encoding a request
//! arrived in) or will not do (reject part of a batch); delivery itself is proven against rotel.
//! Stops itself when dropped.

use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// `grpc-encoding` (gRPC) or `content-encoding` (HTTP), if any.
    pub encoding: Option<String>,
    pub user_agent: Option<String>,
    /// The client's address: which connection the request came on (gRPC only).
    pub peer: Option<std::net::SocketAddr>,
    pub request: ExportTraceServiceRequest,
}

impl Received {
    pub fn span_names(&self) -> Vec<String> {
        self.request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.name.clone())
            .collect()
    }
}

type Log = Arc<Mutex<Vec<Received>>>;

pub struct Receiver {
    pub grpc_port: u16,
    pub http_port: u16,
    log: Log,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How a failing receiver answers its first requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Refusal {
    /// gRPC `UNAVAILABLE`, HTTP 503: the client should retry.
    Transient,
    /// gRPC `INVALID_ARGUMENT`, HTTP 400: it should not.
    Permanent,
}

#[derive(Clone)]
struct Service {
    log: Log,
    reject: i64,
    message: String,
    delay: Duration,
    /// The first `refuse.0` requests are answered with `refuse.1`.
    refuse: (usize, Refusal),
}

impl Service {
    /// Logs the request; whether it is one of the first, refused ones.
    fn arrived(&self, received: Received) -> Option<Refusal> {
        let mut log = self.log.lock().unwrap();
        log.push(received);
        (log.len() <= self.refuse.0).then_some(self.refuse.1)
    }
}

impl Service {
    fn answer(&self) -> ExportTraceServiceResponse {
        ExportTraceServiceResponse {
            partial_success: (self.reject > 0 || !self.message.is_empty()).then(|| {
                ExportTracePartialSuccess {
                    rejected_spans: self.reject,
                    error_message: self.message.clone(),
                }
            }),
        }
    }
}

#[tonic::async_trait]
impl TraceService for Service {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let header = |name: &str| {
            request
                .metadata()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let received = Received {
            encoding: header("grpc-encoding"),
            user_agent: header("user-agent"),
            peer: request.remote_addr(),
            request: request.get_ref().clone(),
        };
        let refused = self.arrived(received);
        tokio::time::sleep(self.delay).await;
        match refused {
            Some(Refusal::Transient) => Err(tonic::Status::unavailable("warming up")),
            Some(Refusal::Permanent) => Err(tonic::Status::invalid_argument("no")),
            None => Ok(tonic::Response::new(self.answer())),
        }
    }
}

async fn http_export(
    axum::extract::State(service): axum::extract::State<Service>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, Vec<u8>) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let encoding = header("content-encoding");
    let bytes = if encoding.as_deref() == Some("gzip") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .expect("a gzip body");
        out
    } else {
        body.to_vec()
    };
    let request = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("OTLP protobuf");
    let refused = service.arrived(Received {
        encoding,
        user_agent: header("user-agent"),
        peer: None,
        request,
    });
    tokio::time::sleep(service.delay).await;
    match refused {
        Some(Refusal::Transient) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, Vec::new()),
        Some(Refusal::Permanent) => (axum::http::StatusCode::BAD_REQUEST, Vec::new()),
        None => (axum::http::StatusCode::OK, service.answer().encode_to_vec()),
    }
}

impl Receiver {
    /// A receiver that accepts everything.
    pub fn start() -> Receiver {
        Receiver::rejecting(0, "")
    }

    /// A receiver that answers every request with `rejected_spans = reject` and `message`.
    pub fn rejecting(reject: i64, message: &str) -> Receiver {
        Receiver::with(reject, message, Duration::ZERO, (0, Refusal::Transient))
    }

    /// A receiver that accepts everything, answering each request after `delay`.
    pub fn slow(delay: Duration) -> Receiver {
        Receiver::with(0, "", delay, (0, Refusal::Transient))
    }

    /// A receiver that refuses its first `n` requests with `how`, then accepts everything.
    pub fn refusing_first(n: usize, how: Refusal) -> Receiver {
        Receiver::with(0, "", Duration::ZERO, (n, how))
    }

    fn with(reject: i64, message: &str, delay: Duration, refuse: (usize, Refusal)) -> Receiver {
        let log = Log::default();
        let service = Service {
            log: log.clone(),
            reject,
            message: message.to_string(),
            delay,
            refuse,
        };
        let grpc = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (grpc_port, http_port) = (
            grpc.local_addr().unwrap().port(),
            http.local_addr().unwrap().port(),
        );
        grpc.set_nonblocking(true).unwrap();
        http.set_nonblocking(true).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let grpc = tokio::net::TcpListener::from_std(grpc).unwrap();
                let http = tokio::net::TcpListener::from_std(http).unwrap();
                let app = axum::Router::new()
                    .route("/v1/traces", axum::routing::post(http_export))
                    .with_state(service.clone());
                let server = TraceServiceServer::new(service)
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
                let grpc = tonic::transport::Server::builder()
                    .add_service(server)
                    .serve_with_incoming(super::incoming(grpc));
                let http = axum::serve(http, app).into_future();
                // Bounded: a test that forgets to drop the receiver does not leave it running.
                tokio::select! {
                    _ = stopped => {}
                    _ = tokio::time::sleep(Duration::from_secs(120)) => {}
                    _ = grpc => {}
                    _ = http => {}
                }
            });
        });
        Receiver {
            grpc_port,
            http_port,
            log,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    pub fn http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// A builder aimed at this receiver over `protocol`, ignoring the developer's settings and
    /// environment.
    pub fn builder(&self, protocol: tracewire::settings::Protocol) -> tracewire::Builder {
        let endpoint = match protocol {
            tracewire::settings::Protocol::Grpc => self.grpc_endpoint(),
            _ => self.http_endpoint(),
        };
        tracewire::builder()
            .without_settings_file()
            .with_env::<[(&str, &str); 0], &str, &str>([])
            .with_otlp_endpoint(endpoint)
            .with_otlp_protocol(protocol)
    }

    /// Waits (bounded) until `n` requests have arrived; returns every request so far.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.log.lock().unwrap().clone();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
