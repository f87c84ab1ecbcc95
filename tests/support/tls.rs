//! A TLS front for the real collector: Debian's nginx terminating TLS (HTTP/2 `grpc_pass` for
//! OTLP/gRPC, `proxy_pass` for OTLP/HTTP) on 127.0.0.1, with a throw-away CA, server and client
//! certificates made by the `openssl` command for each test. Dropping it stops nginx.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Collector, accepts, free_port};

pub struct TlsFront {
    child: Child,
    pub dir: tempfile::TempDir,
    /// TLS in front of the collector's gRPC and HTTP ports.
    pub grpc_port: u16,
    pub http_port: u16,
    /// The same, requiring a client certificate signed by the CA (mutual TLS).
    pub grpc_mtls_port: u16,
    pub http_mtls_port: u16,
    /// The same (TLS), answering 401 unless the request carries `x-api-key: `[`API_KEY`], as a
    /// hosted backend does.
    pub grpc_auth_port: u16,
    pub http_auth_port: u16,
}

/// The key the `*_auth_port` servers want in `x-api-key`.
pub const API_KEY: &str = "k3y-for-tests";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (installed by scripts/install-nginx.sh)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`{name}-ca.pem`) and, signed by it, a `server` certificate for 127.0.0.1/localhost and
/// a `client` certificate, each with its key (`.key`).
fn make_pki(dir: &Path, name: &str) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca = format!("{name}-ca");
    let mut args = vec!["req", "-x509", "-days", "2", "-subj"];
    let subj = format!("/CN=tracewire test {name} CA");
    args.push(&subj);
    args.extend(ec);
    let (ca_key, ca_pem) = (format!("{ca}.key"), format!("{ca}.pem"));
    args.extend(["-keyout", &ca_key, "-out", &ca_pem]);
    openssl(dir, &args);
    for (who, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
        let base = format!("{name}-{who}");
        let (key, csr, pem, ext) = (
            format!("{base}.key"),
            format!("{base}.csr"),
            format!("{base}.pem"),
            format!("{base}.ext"),
        );
        let subj = format!("/CN={who}");
        let mut args = vec!["req", "-subj", &subj, "-keyout", &key, "-out", &csr];
        args.extend(ec);
        openssl(dir, &args);
        std::fs::write(
            dir.join(&ext),
            format!(
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage={usage}\n"
            ),
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_pem,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &pem,
                "-extfile",
                &ext,
            ],
        );
    }
}

fn nginx_bin() -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/install-nginx.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .expect("run install-nginx.sh");
    assert!(out.status.success(), "scripts/install-nginx.sh failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("NGINX="))
        .expect("NGINX=path")
        .to_string()
}

impl TlsFront {
    /// nginx in front of `collector`, with a fresh `test` PKI and an `other` one (a CA the
    /// server's certificate does not come from).
    pub fn start(collector: &Collector) -> TlsFront {
        let bin = nginx_bin();
        let dir = tempfile::tempdir().unwrap();
        make_pki(dir.path(), "test");
        make_pki(dir.path(), "other");
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        for _ in 0..3 {
            let ports = [
                free_port(),
                free_port(),
                free_port(),
                free_port(),
                free_port(),
                free_port(),
            ];
            let d = dir.path().display();
            let server = |port: u16, grpc: bool, mtls: bool, auth: bool| {
                let (listen, pass) = if grpc {
                    (
                        "ssl http2",
                        format!("grpc_pass grpc://127.0.0.1:{};", collector.grpc_port),
                    )
                } else {
                    (
                        "ssl",
                        format!("proxy_pass http://127.0.0.1:{};", collector.http_port),
                    )
                };
                let verify = if mtls {
                    format!("ssl_client_certificate {d}/test-ca.pem; ssl_verify_client on;")
                } else {
                    String::new()
                };
                let check = if auth {
                    format!("if ($http_x_api_key != \"{API_KEY}\") {{ return 401; }}")
                } else {
                    String::new()
                };
                format!(
                    "server {{ listen 127.0.0.1:{port} {listen}; ssl_certificate {d}/test-server.pem; ssl_certificate_key {d}/test-server.key; {verify} location / {{ {check} {pass} }} }}\n"
                )
            };
            let conf = format!(
                "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log info;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{ access_log off; client_max_body_size 64m; client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy; fastcgi_temp_path {d}/tmp/fcgi; uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;\n{}{}{}{}{}{}}}\n",
                server(ports[0], true, false, false),
                server(ports[1], false, false, false),
                server(ports[2], true, true, false),
                server(ports[3], false, true, false),
                server(ports[4], true, false, true),
                server(ports[5], false, false, true),
            );
            std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
            let mut child = Command::new(&bin)
                .arg("-c")
                .arg(dir.path().join("nginx.conf"))
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn nginx");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if ports.iter().all(|p| accepts(*p)) {
                    return TlsFront {
                        child,
                        dir,
                        grpc_port: ports[0],
                        http_port: ports[1],
                        grpc_mtls_port: ports[2],
                        http_mtls_port: ports[3],
                        grpc_auth_port: ports[4],
                        http_auth_port: ports[5],
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        panic!("nginx did not start: {log}");
    }

    /// A file of this front's PKI: `test-ca.pem`, `test-client.pem`, `other-ca.pem`, ...
    pub fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
