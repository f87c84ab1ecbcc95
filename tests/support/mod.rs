//! Shared by the integration tests: a real OpenTelemetry collector (rotel) on loopback, and a
//! quickstart-like workload with the checks a user would make on what arrives.
#![allow(dead_code, unreachable_pub)]

pub mod grpc_service;
pub mod hops;
pub mod rabbitmq;
/// The in-process OTLP receiver (opentelemetry-proto's generated service needs `cli`; gzip bodies
/// need `gzip`).
#[cfg(all(feature = "cli", feature = "gzip"))]
pub mod receiver;
pub mod tls;
pub mod workload;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A rotel collector on two free loopback ports, capturing what it receives as JSON lines.
/// Dropping it kills the process, also when the test panics.
pub struct Collector {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub grpc_port: u16,
    pub http_port: u16,
}

struct Agent {
    path: String,
    libdir: String,
}

fn agent() -> &'static Agent {
    static AGENT: OnceLock<Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/install-collector.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/install-collector.sh");
        assert!(out.status.success(), "scripts/install-collector.sh failed");
        let text = String::from_utf8_lossy(&out.stdout);
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .unwrap_or_default()
                .to_string()
        };
        Agent {
            path: get("AGENT"),
            libdir: get("LIBDIR"),
        }
    })
}

/// A loopback port free now, and never handed out before in this process: two servers started
/// by tests running in parallel must not race for the same port (the loser exits, and the
/// winner's port answered for it).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

pub fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

impl Collector {
    /// Starts a collector; retries on fresh ports if another process took one meanwhile.
    pub fn start() -> Collector {
        let mut last = String::new();
        for _ in 0..3 {
            let mut c = Collector::unstarted(free_port(), free_port());
            match c.launch() {
                Ok(()) => return c,
                Err(e) => last = e,
            }
        }
        panic!("the collector did not start: {last}");
    }

    /// A collector on these ports that is not running yet (for "collector down at start").
    pub fn unstarted(grpc_port: u16, http_port: u16) -> Collector {
        Collector {
            child: None,
            dir: tempfile::tempdir().unwrap(),
            grpc_port,
            http_port,
        }
    }

    /// Starts (again) on the same ports, keeping what was captured.
    pub fn launch(&mut self) -> Result<(), String> {
        self.stop();
        let mut last = String::new();
        // A port just released may take a moment to be bindable again.
        for _ in 0..20 {
            match self.try_launch() {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last)
    }

    fn try_launch(&mut self) -> Result<(), String> {
        let agent = agent();
        let capture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/capture.py");
        let (grpc_port, http_port) = (self.grpc_port, self.http_port);
        let log = std::fs::File::create(self.dir.path().join("collector.log")).unwrap();
        let _ = std::fs::remove_file(self.dir.path().join("ready.jsonl"));
        let child = Command::new(&agent.path)
            .args(["start", "--otlp-grpc-endpoint"])
            .arg(format!("127.0.0.1:{grpc_port}"))
            .arg("--otlp-http-endpoint")
            .arg(format!("127.0.0.1:{http_port}"))
            .arg("--otlp-with-trace-processor")
            .arg(&capture)
            .arg("--otlp-with-logs-processor")
            .arg(&capture)
            .arg("--otlp-with-metrics-processor")
            .arg(&capture)
            .args(["--exporter", "blackhole", "--pid-file"])
            .arg(self.dir.path().join("rotel.pid"))
            .arg("--log-file")
            .arg(self.dir.path().join("rotel.log"))
            .env("CAPTURE_DIR", self.dir.path())
            .env("NO_COLOR", "1")
            .env("LD_LIBRARY_PATH", &agent.libdir)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", agent.path))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let log = std::fs::read_to_string(self.dir.path().join("collector.log"))
                    .unwrap_or_default();
                self.child = None;
                return Err(format!("rotel exited with {status}: {log}"));
            }
            if self.lines("ready.jsonl").len() >= 3 && accepts(grpc_port) && accepts(http_port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop();
                return Err("rotel not ready after 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    pub fn http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    fn lines(&self, name: &str) -> Vec<Value> {
        let Ok(f) = std::fs::File::open(self.dir.path().join(name)) else {
            return Vec::new();
        };
        BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect()
    }

    /// Every log record received so far.
    pub fn logs(&self) -> Vec<Value> {
        self.lines("logs.jsonl")
    }

    /// Every metric data point received so far, one object each (see capture.py).
    pub fn metric_points(&self) -> Vec<Value> {
        self.lines("metrics.jsonl")
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Value> {
        self.lines("spans.jsonl")
    }

    /// Waits (bounded) until at least `n` spans arrived, and returns all of them.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if spans.len() >= n || Instant::now() > deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stalls the collector (SIGSTOP): connections stay open, nothing is answered.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a stalled collector go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("collector running").id();
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} {pid}");
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL ends a stalled (SIGSTOP) collector too.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `Write` that tests can read back: JSON log lines.
#[derive(Clone, Default)]
pub struct Captured(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn json_lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

/// Reads a file sink (OTLP/JSON, one `ExportTraceServiceRequest` per line) into the shape of
/// the collector's capture, so the same checks apply to both.
pub fn file_sink_spans(path: &std::path::Path) -> Vec<Value> {
    fn any(v: &Value) -> Value {
        if let Some(s) = v.get("stringValue") {
            return s.clone();
        }
        if let Some(i) = v.get("intValue") {
            return match i {
                Value::String(s) => Value::from(s.parse::<i64>().expect("intValue is an integer")),
                other => other.clone(),
            };
        }
        if let Some(b) = v.get("boolValue") {
            return b.clone();
        }
        if let Some(d) = v.get("doubleValue") {
            return d.clone();
        }
        if let Some(a) = v.get("arrayValue") {
            return Value::Array(
                a["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(any)
                    .collect(),
            );
        }
        Value::Null
    }
    fn attrs(list: &Value) -> Value {
        let mut m = serde_json::Map::new();
        for kv in list.as_array().into_iter().flatten() {
            m.insert(kv["key"].as_str().unwrap().to_string(), any(&kv["value"]));
        }
        Value::Object(m)
    }
    const KINDS: [&str; 6] = [
        "UNSPECIFIED",
        "INTERNAL",
        "SERVER",
        "CLIENT",
        "PRODUCER",
        "CONSUMER",
    ];
    const CODES: [&str; 3] = ["UNSET", "OK", "ERROR"];
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let req: Value = serde_json::from_str(line).expect("each line is one JSON object");
        for rs in req["resourceSpans"].as_array().expect("resourceSpans") {
            let resource = attrs(&rs["resource"]["attributes"]);
            for ss in rs["scopeSpans"].as_array().unwrap() {
                for s in ss["spans"].as_array().unwrap() {
                    let events: Vec<Value> = s["events"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|e| serde_json::json!({"name": e["name"], "attributes": attrs(&e["attributes"])}))
                        .collect();
                    out.push(serde_json::json!({
                        "trace_id": s["traceId"],
                        "span_id": s["spanId"],
                        "parent_span_id": s["parentSpanId"],
                        "name": s["name"],
                        "kind": KINDS[s["kind"].as_u64().unwrap_or(0) as usize],
                        "attributes": attrs(&s["attributes"]),
                        "events": events,
                        "status": {
                            "code": CODES[s["status"]["code"].as_u64().unwrap_or(0) as usize],
                            "message": s["status"]["message"].as_str().unwrap_or(""),
                        },
                        "resource": resource,
                    }));
                }
            }
        }
    }
    out
}

/// A builder aimed at `collector` over `protocol`, ignoring the developer's settings and env.
pub fn to_collector(
    collector: &Collector,
    protocol: tracewire::settings::Protocol,
    service: &str,
) -> tracewire::Builder {
    let endpoint = match protocol {
        tracewire::settings::Protocol::Grpc => collector.grpc_endpoint(),
        _ => collector.http_endpoint(),
    };
    tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(endpoint)
        .with_otlp_protocol(protocol)
        .with_service_name(service)
        .with_service_version(workload::SERVICE_VERSION)
}

/// Waits for one workload run's spans and checks its tree; returns span ids by name.
pub fn check_delivered(
    collector: &Collector,
    trace_id: &str,
    service: &str,
) -> std::collections::HashMap<String, String> {
    let spans = collector.wait_for_spans(workload::SPANS, Duration::from_secs(10));
    workload::check_tree(&spans, trace_id, service)
}

/// Runs `scripts/<script>` (it installs a Debian package if missing) and returns the value of
/// its `KEY=value` line.
fn install(script: &str, key: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(script);
    let out = Command::new("bash")
        .arg(&path)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(out.status.success(), "scripts/{script} failed");
    let prefix = format!("{key}=");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()).map(str::to_string))
        .unwrap_or_else(|| panic!("{script} printed no {key}="))
}

/// Spawns `command(port)` on a free port until one listens (a port taken meanwhile, a slow
/// start: three tries, each bounded); the child and its port.
fn spawn_listening(
    what: &str,
    timeout: Duration,
    command: impl Fn(u16) -> Command,
) -> (Child, u16) {
    for _ in 0..3 {
        let port = free_port();
        let mut cmd = command(port);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            // Listening, and by this child: one that failed to bind has exited by now.
            if accepts(port) {
                std::thread::sleep(Duration::from_millis(50));
                if child.try_wait().unwrap().is_none() {
                    return (child, port);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("{what} did not start");
}

/// A NATS server (Debian's nats-server, installed by scripts/install-nats.sh) on a free
/// loopback port; killed on Drop.
pub struct NatsServer {
    child: Child,
    pub port: u16,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        let bin = install("install-nats.sh", "NATS");
        let (child, port) = spawn_listening("nats-server", Duration::from_secs(10), |port| {
            let mut c = Command::new(&bin);
            c.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
            c
        });
        NatsServer { child, port }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Redis server (Debian's redis-server, installed by scripts/install-redis.sh) on a free
/// loopback port, in a temp dir, persisting nothing; killed on Drop.
pub struct RedisServer {
    child: Child,
    _dir: tempfile::TempDir,
    pub port: u16,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let bin = install("install-redis.sh", "REDIS");
        let dir = tempfile::tempdir().unwrap();
        let (child, port) = spawn_listening("redis-server", Duration::from_secs(10), |port| {
            let mut c = Command::new(&bin);
            c.args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir.path());
            c
        });
        RedisServer {
            child,
            _dir: dir,
            port,
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL cluster of its own (Debian's postgresql, installed by
/// scripts/install-postgres.sh) in a temp dir on a free loopback port, trust authentication,
/// user `postgres`; as root the server runs as the `postgres` user (it refuses root). Stopped
/// (fast shutdown, then killed) on Drop.
pub struct PostgresServer {
    child: Child,
    _dir: tempfile::TempDir,
    pub port: u16,
}

impl PostgresServer {
    pub fn start() -> PostgresServer {
        let bin = PathBuf::from(install("install-postgres.sh", "PGBIN"));
        let dir = tempfile::tempdir().unwrap();
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let as_postgres = |program: PathBuf| {
            if root {
                let mut c = Command::new("setpriv");
                c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
                    .arg(program);
                c
            } else {
                Command::new(program)
            }
        };
        if root {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "chown the cluster's dir");
        }
        let data = dir.path().join("data");
        let ok = as_postgres(bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run initdb");
        assert!(ok.success(), "initdb failed");
        let (child, port) = spawn_listening("postgres", Duration::from_secs(20), |port| {
            let mut c = as_postgres(bin.join("postgres"));
            c.arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-k"])
                .arg(dir.path())
                .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
            c
        });
        PostgresServer {
            child,
            _dir: dir,
            port,
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // Fast shutdown (SIGINT): the server ends its backends and exits.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a fake endpoint misbehaves.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Accepts connections and never answers: an endpoint that hangs.
    Stall,
    /// Reads the request, answers `503 Service Unavailable` (HTTP/1.1).
    Http503,
    /// Accepts and closes the connection at once.
    Reset,
}

/// A small in-process endpoint that fails in one way; stops itself on Drop or after 2 minutes.
pub struct FaultyEndpoint {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultyEndpoint {
    pub fn start(fault: Fault) -> FaultyEndpoint {
        use std::io::{Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(120);
            while !flag.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((mut s, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                match fault {
                    Fault::Stall => held.push(s),
                    Fault::Reset => drop(s),
                    Fault::Http503 => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                        let mut buf = [0u8; 65536];
                        let _ = s.read(&mut buf);
                        let _ = s.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                    }
                }
            }
        });
        FaultyEndpoint {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FaultyEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The `N spans delivered, M not delivered (…), Q still queued` figures of a report
/// (`Stats`'s Display, carried by the shutdown error): (delivered, not delivered, queued).
pub fn report_totals(report: &str) -> (u64, u64, u64) {
    let num = |after: &str| -> u64 {
        let at = report
            .rfind(after)
            .unwrap_or_else(|| panic!("no `{after}` in {report:?}"));
        let before = report[..at].trim_end();
        let digits: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.chars().rev().collect::<String>().parse().unwrap()
    };
    (
        num(" spans delivered"),
        num(" not delivered"),
        num(" still queued"),
    )
}

/// This process's resident memory, from /proc.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

/// A current-thread tokio runtime with I/O and timers, for tests that drive services.
pub fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A builder that exports to a file sink at `path`, ignoring the developer's settings and env.
pub fn to_file(path: &std::path::Path) -> tracewire::Builder {
    tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(format!("file:{}", path.display()))
}

/// A scoped stack that makes trace ids but exports nothing, writing JSON log lines to `logs`.
pub fn ids_only(logs: impl std::io::Write + Send + 'static) -> tracewire::Guard {
    tracewire::builder()
        .without_settings_file()
        .with_env([("OTEL_TRACES_EXPORTER", "none")])
        .with_log_writer(logs)
        .set_default()
        .unwrap()
}

/// The accepted connections of `listener`, as tonic's `serve_with_incoming` takes them.
pub fn incoming(
    listener: tokio::net::TcpListener,
) -> impl futures_util::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(listener, |l| async move {
        let accepted = l.accept().await.map(|(s, _)| s);
        Some((accepted, l))
    })
}

/// A service written with Python's OpenTelemetry SDK and its B3, Jaeger and X-Ray propagators
/// (scripts/install-python-otel.sh, tests/support/fleet_peer.py) on a free loopback port;
/// killed on Drop (and it exits by itself after two minutes).
pub struct PythonOtelPeer {
    child: Child,
    pub port: u16,
}

impl PythonOtelPeer {
    pub fn start() -> PythonOtelPeer {
        let python = install("install-python-otel.sh", "PYTHON");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/fleet_peer.py");
        let (child, port) = spawn_listening("fleet_peer.py", Duration::from_secs(20), |port| {
            let mut c = Command::new(&python);
            c.arg(&script).arg(port.to_string());
            c
        });
        PythonOtelPeer { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for PythonOtelPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A forward proxy (Debian's tinyproxy, scripts/install-tinyproxy.sh) on a free loopback port,
/// in a temp dir, asking for Basic credentials `user`/`proxy-secret`, allowing CONNECT to any
/// port, logging each connection; killed on Drop.
pub struct ForwardProxy {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl ForwardProxy {
    pub const USER: &'static str = "user";
    pub const PASSWORD: &'static str = "proxy-secret";

    pub fn start() -> ForwardProxy {
        let bin = install("install-tinyproxy.sh", "TINYPROXY");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let (child, port) = spawn_listening("tinyproxy", Duration::from_secs(10), |port| {
            let conf = d.join("tinyproxy.conf");
            std::fs::write(
                &conf,
                format!(
                    "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{log}\"\nLogLevel Info\nPidFile \"{pid}\"\nMaxClients 50\nAllow 127.0.0.1\nBasicAuth {} {}\nDisableViaHeader Yes\n",
                    Self::USER,
                    Self::PASSWORD,
                    log = d.join("tinyproxy.log").display(),
                    pid = d.join("tinyproxy.pid").display(),
                ),
            )
            .unwrap();
            let mut c = Command::new(&bin);
            c.arg("-d").arg("-c").arg(&conf);
            c
        });
        ForwardProxy { child, port, dir }
    }

    /// `http://user:proxy-secret@127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!(
            "http://{}:{}@127.0.0.1:{}",
            Self::USER,
            Self::PASSWORD,
            self.port
        )
    }

    /// The proxy's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
