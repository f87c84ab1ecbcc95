//! The two tower layers users build: [`ServerLayer`] (tonic servers) and
//! [`ClientLayer`] (tonic channels).

use std::sync::Arc;

use super::calls::Target;
use super::service::CallService;
use super::{Hooks, RequestHook, ResponseHook, Side};

/// A tower layer for tonic servers (`Server::builder().layer(ServerLayer::new())`): a
/// SERVER span per call, child of the caller's context in the metadata.
///
/// ```
/// let layer = tracewire::grpc::ServerLayer::new()
///     .with_exclude_paths(["/grpc.health.v1.Health/*"]);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Default)]
pub struct ServerLayer {
    exclude: Option<Arc<[String]>>,
    methods: Option<Arc<[String]>>,
    hooks: Hooks,
}

impl ServerLayer {
    /// Paths excluded as the current stack's `exclude_paths` says.
    pub fn new() -> Self {
        ServerLayer::default()
    }

    /// These paths (`/package.Service/Method`, or a prefix ending in `*`) are not traced.
    pub fn with_exclude_paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude = Some(paths.into_iter().map(Into::into).collect::<Vec<_>>().into());
        self
    }

    /// The methods this server has (`package.Service/Method`, or `package.Service/*`): a call
    /// to any other is `rpc.method = "_OTHER"` from its start. Without it, a method is taken as
    /// unknown when the server answers `UNIMPLEMENTED`, as tonic does for paths it does not
    /// route.
    ///
    /// ```
    /// let layer = tracewire::grpc::ServerLayer::new()
    ///     .with_methods(["shop.v1.Orders/*", "grpc.health.v1.Health/Check"]);
    /// # let _ = layer;
    /// ```
    pub fn with_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let methods = methods
            .into_iter()
            .map(|m| {
                let m: String = m.into();
                m.strip_prefix('/').map(str::to_string).unwrap_or(m)
            })
            .collect::<Vec<_>>();
        self.methods = Some(methods.into());
        self
    }

    /// Calls `hook` with each traced call's span and request head (see [`RequestHook`]).
    pub fn with_request_hook(mut self, hook: impl RequestHook) -> Self {
        self.hooks.request = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with each traced call's response head (see [`ResponseHook`]).
    pub fn with_response_hook(mut self, hook: impl ResponseHook) -> Self {
        self.hooks.response = Some(Arc::new(hook));
        self
    }
}

impl<S> tower::Layer<S> for ServerLayer {
    type Service = CallService<S>;
    fn layer(&self, inner: S) -> CallService<S> {
        CallService {
            inner,
            side: Side::Server,
            exclude: self.exclude.clone(),
            methods: self.methods.clone(),
            hooks: self.hooks.clone(),
            server: None,
        }
    }
}

/// A tower layer for tonic channels
/// (`ServiceBuilder::new().layer(ClientLayer::new()).service(channel)`): a CLIENT span per
/// call, the context injected into the metadata.
///
/// ```
/// let layer = tracewire::grpc::ClientLayer::new();
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClientLayer {
    hooks: Hooks,
    server: Option<Arc<Target>>,
}

impl ClientLayer {
    /// The layer.
    pub fn new() -> Self {
        ClientLayer::default()
    }

    /// The target the channel was made for (`"orders.internal:50051"`,
    /// `"http://orders:50051"`, `"unix:///run/app.sock"`): the spans' `server.address` and
    /// `server.port`, which the conventions require of a gRPC client. Without it they come from
    /// the request's URI, which has no host when the tonic client was made with
    /// `Client::new(channel)` (tonic fills the host in below this layer unless the client was
    /// made `with_origin`).
    ///
    /// ```
    /// let layer = tracewire::grpc::ClientLayer::new().with_server("orders.internal:50051");
    /// # let _ = layer;
    /// ```
    pub fn with_server(mut self, target: &str) -> Self {
        self.server = Some(Arc::new(Target::parse(target)));
        self
    }

    /// Calls `hook` with each call's span and request head, metadata injected (see
    /// [`RequestHook`]).
    pub fn with_request_hook(mut self, hook: impl RequestHook) -> Self {
        self.hooks.request = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with each call's response head (see [`ResponseHook`]).
    pub fn with_response_hook(mut self, hook: impl ResponseHook) -> Self {
        self.hooks.response = Some(Arc::new(hook));
        self
    }
}

impl<S> tower::Layer<S> for ClientLayer {
    type Service = CallService<S>;
    fn layer(&self, inner: S) -> CallService<S> {
        CallService {
            inner,
            side: Side::Client,
            exclude: None,
            methods: None,
            hooks: self.hooks.clone(),
            server: self.server.clone(),
        }
    }
}
