//! TLS for both transports, from the same settings and the same PEM checks: tonic's
//! `ClientTlsConfig` for gRPC, a rustls `ClientConfig` (ring provider) for tracewire's HTTP client
//! and the gRPC probe. Server certificates are checked against the system's root certificates
//! (what an operator installs, corporate CAs included, updated with the OS), or only against
//! `otlp_certificate` when it is set, as the specification's `OTEL_EXPORTER_OTLP_CERTIFICATE`
//! says. A file that is not what its key says fails `init()` with the key and the path.

#![cfg(feature = "tls")]

#[allow(unused_imports)]
use super::{BuildResult, is_https};
use crate::settings::OtlpExport;

/// A PEM file's bytes; the path was checked readable when the settings were resolved, but it
/// may have changed since.
pub(super) fn read_pem(key: &str, path: &std::path::Path) -> BuildResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("{key} {}: {e}", path.display()))
}

/// tonic's TLS settings for an `https://` endpoint.
#[cfg(all(feature = "grpc", feature = "tls"))]
pub(super) fn tonic_tls(
    s: &OtlpExport,
) -> BuildResult<opentelemetry_otlp::tonic_types::transport::ClientTlsConfig> {
    use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
    let mut tls = ClientTlsConfig::new();
    tls = match &s.certificate {
        Some(ca) => {
            let pem = read_pem("otlp_certificate", ca)?;
            check_certs("otlp_certificate", ca, &pem)?;
            tls.ca_certificate(Certificate::from_pem(pem))
        }
        None => tls.with_native_roots(),
    };
    if let (Some(cert), Some(key)) = (&s.client_certificate, &s.client_key) {
        let cert_pem = read_pem("otlp_client_certificate", cert)?;
        check_certs("otlp_client_certificate", cert, &cert_pem)?;
        let key_pem = read_pem("otlp_client_key", key)?;
        check_key(key, &key_pem)?;
        tls = tls.identity(Identity::from_pem(cert_pem, key_pem));
    }
    Ok(tls)
}

pub(super) fn check_certs(
    key: &str,
    path: &std::path::Path,
    pem: &[u8],
) -> BuildResult<Vec<rustls_pki_types::CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject as _;
    let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| format!("{key} {}: not a PEM certificate file ({e})", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{key} {}: holds no certificate", path.display()));
    }
    Ok(certs)
}

pub(super) fn check_key(
    path: &std::path::Path,
    pem: &[u8],
) -> BuildResult<rustls_pki_types::PrivateKeyDer<'static>> {
    use rustls_pki_types::pem::PemObject as _;
    rustls_pki_types::PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        format!(
            "otlp_client_key {}: not a PEM private key ({e})",
            path.display()
        )
    })
}

/// The rustls configuration of the HTTP client: roots and client certificate.
#[cfg(all(feature = "http-proto", feature = "tls"))]
pub(super) fn rustls_config(url: &str, s: &OtlpExport) -> BuildResult<rustls::ClientConfig> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    if is_https(url) {
        match &s.certificate {
            Some(ca) => {
                let pem = read_pem("otlp_certificate", ca)?;
                for cert in check_certs("otlp_certificate", ca, &pem)? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("otlp_certificate {}: {e}", ca.display()))?;
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
                if roots.is_empty() {
                    return Err(format!(
                        "{url} needs TLS, and this system has no root certificates (install the ca-certificates package, or set otlp_certificate / OTEL_EXPORTER_OTLP_CERTIFICATE)"
                    ));
                }
            }
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots);
    Ok(match (&s.client_certificate, &s.client_key) {
        (Some(cert), Some(key)) if is_https(url) => {
            let certs = check_certs(
                "otlp_client_certificate",
                cert,
                &read_pem("otlp_client_certificate", cert)?,
            )?;
            let key = check_key(key, &read_pem("otlp_client_key", key)?)?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("otlp_client_certificate / otlp_client_key: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    })
}
