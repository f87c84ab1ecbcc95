//! Resource detectors: what a span's resource says about where it was made, read once at start
//! from a few small files and the environment (no network, no command run, nothing that needs
//! privileges): `service.instance.id`, `host.*`, `os.*`, `process.*`, `container.id`, `k8s.*`.
//!
//! Each detector can be switched off (`resource_detectors`); what the user gives
//! (`resource_attributes`, `OTEL_RESOURCE_ATTRIBUTES`, which the OpenTelemetry Operator fills
//! with `k8s.*` and `service.instance.id`) wins over anything detected.

use opentelemetry::KeyValue;

use crate::settings::Settings;

/// What the enabled detectors find.
pub(super) fn detect(settings: &Settings) -> Vec<KeyValue> {
    let on = |name: &str| settings.resource_detectors.iter().any(|d| d == name);
    let mut out = Vec::new();
    if on("service_instance") {
        // One per process: every stack of this process is the same instance.
        static INSTANCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        out.push(KeyValue::new(
            "service.instance.id",
            INSTANCE.get_or_init(uuid_v4).clone(),
        ));
    }
    if on("host") {
        if let Some(host) = host_name() {
            out.push(KeyValue::new("host.name", host));
        }
        out.push(KeyValue::new("host.arch", host_arch()));
        if let Some(id) = first_line(&["/etc/machine-id", "/var/lib/dbus/machine-id"]) {
            out.push(KeyValue::new("host.id", id));
        }
    }
    if on("os") {
        out.push(KeyValue::new("os.type", os_type()));
        if let Some(v) = first_line(&["/proc/sys/kernel/osrelease"]) {
            out.push(KeyValue::new("os.version", v));
        }
        if let Some(name) = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| os_release(&t, "NAME"))
        {
            out.push(KeyValue::new("os.name", name));
        }
    }
    if on("process") {
        out.push(KeyValue::new("process.pid", i64::from(std::process::id())));
        if let Some(name) = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        {
            out.push(KeyValue::new("process.executable.name", name));
        }
    }
    if on("container")
        && let Some(id) = container_id(
            &std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default(),
            &std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default(),
        )
    {
        out.push(KeyValue::new("container.id", id));
    }
    if on("k8s") {
        out.extend(
            settings
                .kubernetes
                .iter()
                .map(|(k, v)| KeyValue::new(*k, v.clone())),
        );
        if !settings.kubernetes.is_empty()
            && !settings
                .kubernetes
                .iter()
                .any(|(k, _)| *k == "k8s.namespace.name")
            && let Some(ns) =
                first_line(&["/var/run/secrets/kubernetes.io/serviceaccount/namespace"])
        {
            out.push(KeyValue::new("k8s.namespace.name", ns));
        }
    }
    out
}

/// A random UUID (version 4), as the semantic conventions suggest for `service.instance.id`.
fn uuid_v4() -> String {
    let (a, b) = (crate::ids::next_u64(), crate::ids::next_u64());
    let a = (a & !0xF000) | 0x4000; // version 4 in bits 12..16 of the third group
    let b = (b & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

fn host_name() -> Option<String> {
    first_line(&["/proc/sys/kernel/hostname", "/etc/hostname"])
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
}

/// `host.arch` as the semantic conventions name architectures.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "x86",
        "arm" => "arm32",
        "powerpc" => "ppc32",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        other => other,
    }
}

/// `os.type` as the semantic conventions name systems (`darwin`, not Rust's `macos`).
fn os_type() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        "solaris" | "illumos" => "solaris",
        other => other,
    }
}

/// The first non-empty line of the first readable file.
fn first_line(paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| t.lines().next().map(|l| l.trim().to_string()))
            .filter(|l| !l.is_empty() && l.len() <= 256)
    })
}

/// A value of `/etc/os-release` (`NAME="Debian GNU/Linux"` → `Debian GNU/Linux`).
fn os_release(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// The container id: from a cgroup v1 path (`…/docker-<id>.scope`, `…/cri-containerd:<id>`,
/// `…/<id>`), else from cgroup v2's mount of `/etc/hostname`
/// (`…/containers/<id>/hostname`), as the other SDKs' detectors read them.
fn container_id(cgroup: &str, mountinfo: &str) -> Option<String> {
    let is_id = |s: &str| (32..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit());
    let from_cgroup = cgroup.lines().find_map(|line| {
        let last = line.rsplit('/').next()?;
        let last = last.rsplit([':', '-']).next()?;
        let id = last.split('.').next()?;
        is_id(id).then(|| id.to_string())
    });
    from_cgroup.or_else(|| {
        mountinfo
            .lines()
            .filter(|l| l.contains(" /etc/hostname "))
            .find_map(|l| {
                let root = l.split(' ').nth(3)?;
                let mut parts = root.split('/');
                parts
                    .by_ref()
                    .find(|p| *p == "containers" || *p == "overlay-containers")?;
                parts.next().filter(|id| is_id(id)).map(str::to_string)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn container_ids_from_cgroup_v1_and_v2() {
        for line in [
            format!("12:pids:/docker/{ID}"),
            format!("0::/system.slice/docker-{ID}.scope"),
            format!("1:name=systemd:/kubepods/burstable/pod1/crio-{ID}.scope"),
            format!("11:devices:/kubepods/besteffort/pod2/cri-containerd:{ID}"),
        ] {
            assert_eq!(container_id(&line, "").as_deref(), Some(ID), "{line}");
        }
        let v2 = format!(
            "734 720 0:160 /var/lib/docker/containers/{ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw"
        );
        assert_eq!(container_id("0::/", &v2).as_deref(), Some(ID));
        // Not in a container: this machine's own cgroups hold no id.
        assert_eq!(
            container_id("0::/\n4:memory:/process_api/df0fb6c24b44", ""),
            None
        );
    }

    #[test]
    fn uuid_v4_has_its_version_and_variant() {
        let a = uuid_v4();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert_ne!(a, uuid_v4());
    }

    #[test]
    fn os_release_values() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n";
        assert_eq!(
            os_release(text, "NAME").as_deref(),
            Some("Debian GNU/Linux")
        );
    }
}
