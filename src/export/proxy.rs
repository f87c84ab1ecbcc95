//! Egress proxies for OTLP: `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY` (and the
//! lower-case forms), matched as hyper-util's `Matcher` (and so reqwest) matches them.
//!
//! A proxied connection is an HTTP `CONNECT` tunnel through the proxy, for OTLP/HTTP and
//! OTLP/gRPC alike (gRPC clients tunnel even plain-text targets; one rule for both transports),
//! with TLS to the collector inside the tunnel for `https://` endpoints. Proxy credentials
//! (`http://user:pass@proxy:3128`) go in `Proxy-Authorization` and are never printed: only the
//! proxy's host and port appear in `tracewire config` and errors.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::settings::ProxyEnv;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The proxy rules of the environment, or `None` when no proxy variable is set.
pub(crate) fn matcher(env: &ProxyEnv) -> Option<Arc<Matcher>> {
    if env.http.is_empty() && env.https.is_empty() && env.all.is_empty() {
        return None;
    }
    Some(Arc::new(
        Matcher::builder()
            .http(env.http.clone())
            .https(env.https.clone())
            .all(env.all.clone())
            .no(env.no.clone())
            .build(),
    ))
}

/// Whether requests to `url` go through a proxy (the gRPC transports ask; the HTTP client
/// asks its connector per connection).
#[cfg_attr(not(feature = "grpc"), allow(dead_code))]
pub(crate) fn applies(matcher: Option<&Arc<Matcher>>, url: &str) -> bool {
    let Ok(uri) = url.parse::<Uri>() else {
        return false;
    };
    matcher.is_some_and(|m| m.intercept(&uri).is_some())
}

/// A TCP connector that tunnels through the proxy the rules name for a destination, and
/// connects directly otherwise.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    direct: HttpConnector,
    rules: Option<Arc<Matcher>>,
}

impl std::fmt::Debug for ProxyConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyConnector")
            .field("proxied", &self.rules.is_some())
            .finish_non_exhaustive()
    }
}

impl ProxyConnector {
    pub(crate) fn new(direct: HttpConnector, rules: Option<Arc<Matcher>>) -> ProxyConnector {
        ProxyConnector { direct, rules }
    }
}

/// The connector for a tonic channel whose endpoint the rules proxy: TCP as tonic's own
/// connector makes it (no delay, any scheme: tonic adds TLS over it for `https://`).
#[cfg(feature = "grpc")]
pub(crate) fn connector(rules: &Arc<Matcher>) -> ProxyConnector {
    let mut direct = HttpConnector::new();
    direct.enforce_http(false);
    direct.set_nodelay(true);
    ProxyConnector::new(direct, Some(rules.clone()))
}

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        tower_service::Service::<Uri>::poll_ready(&mut self.direct, cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = self.rules.as_ref().and_then(|m| m.intercept(&dst));
        let mut direct = self.direct.clone();
        match intercept {
            None => Box::pin(async move {
                tower_service::Service::call(&mut direct, dst)
                    .await
                    .map_err(Into::into)
            }),
            Some(proxy) => {
                let shown = format!(
                    "{}:{}",
                    proxy.uri().host().unwrap_or("?"),
                    proxy.uri().port_u16().unwrap_or(80)
                );
                let mut tunnel = Tunnel::new(proxy.uri().clone(), direct);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move {
                    tower_service::Service::call(&mut tunnel, dst)
                        .await
                        .map_err(|e| {
                            format!("through the proxy {shown}: {}", super::failure::chain(&e))
                                .into()
                        })
                })
            }
        }
    }
}
