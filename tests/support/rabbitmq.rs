//! A RabbitMQ broker (Debian's rabbitmq-server, installed by scripts/install-rabbitmq.sh) of the
//! test's own: AMQP on a free loopback port, its own epmd (Erlang's port mapper) on another, node
//! name, data, logs and cookie in a temp dir. Both processes run in process groups of their own
//! and are killed with everything they started on Drop, also when the test panics.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, install, spawn_listening};

pub struct RabbitMqServer {
    broker: Child,
    epmd: Child,
    _dir: tempfile::TempDir,
    pub port: u16,
}

impl RabbitMqServer {
    pub fn start() -> RabbitMqServer {
        let bin = install("install-rabbitmq.sh", "RABBITMQ_SERVER");
        let epmd_bin = std::fs::read_dir("/usr/lib/erlang")
            .expect("Erlang (a dependency of rabbitmq-server)")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin/epmd"))
            .find(|p| p.exists())
            .unwrap_or_else(|| "epmd".into());
        let dir = tempfile::tempdir().unwrap();
        let (epmd, epmd_port) = spawn_listening("epmd", Duration::from_secs(10), |port| {
            let mut c = Command::new(&epmd_bin);
            c.args(["-port", &port.to_string(), "-address", "127.0.0.1"])
                .process_group(0);
            c
        });
        let path = dir.path();
        std::fs::write(path.join("enabled_plugins"), "[].\n").unwrap();
        std::fs::write(path.join("rabbitmq.conf"), "loopback_users = none\n").unwrap();
        let dist_port = free_port();
        let (broker, port) = spawn_listening("rabbitmq-server", Duration::from_secs(60), |port| {
            let mut c = Command::new(&bin);
            c.env("HOME", path)
                .env("RABBITMQ_NODENAME", format!("tracewire{port}@localhost"))
                .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
                .env("RABBITMQ_NODE_PORT", port.to_string())
                .env("RABBITMQ_DIST_PORT", dist_port.to_string())
                .env("ERL_EPMD_PORT", epmd_port.to_string())
                .env("ERL_EPMD_ADDRESS", "127.0.0.1")
                .env("RABBITMQ_MNESIA_BASE", path.join("mnesia"))
                .env("RABBITMQ_LOG_BASE", path.join("log"))
                .env("RABBITMQ_CONFIG_FILE", path.join("rabbitmq"))
                .env(
                    "RABBITMQ_ENABLED_PLUGINS_FILE",
                    path.join("enabled_plugins"),
                )
                .env("RABBITMQ_PID_FILE", path.join("pid"))
                .env("RABBITMQ_LOGS", path.join("broker.log"))
                .stdout(Stdio::null())
                .process_group(0);
            c
        });
        RabbitMqServer {
            broker,
            epmd,
            _dir: dir,
            port,
        }
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }
}

fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for RabbitMqServer {
    fn drop(&mut self) {
        kill_group(&mut self.broker);
        kill_group(&mut self.epmd);
    }
}
