//! gRPC (feature `tonic`): tower layers for tonic servers and channels, SERVER and CLIENT spans
//! named `{package.Service}/{Method}` with the RPC semantic conventions as the model has them
//! today: `rpc.system.name = "grpc"`, `rpc.method` fully qualified
//! (`shop.v1.OrderService/GetOrder`), `rpc.status_code` as the code's name (`NOT_FOUND`),
//! `error.type`, `server.address`/`server.port`. With `OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup`
//! (`semconv_stability_opt_in`) the spans also carry the names the conventions deprecated, for
//! backends that still read them: `rpc.system`, `rpc.service`, `rpc.grpc.status_code` (the
//! number); `rpc.method` keeps its new, fully qualified value (one attribute cannot hold both).
//!
//! They work on the HTTP/2 requests tonic is made of, so they need no generated code and no
//! tonic version of their own. The gRPC status arrives in the response headers (an error
//! answered at once) or in the trailers at the end of the body (every other call): the response
//! body is wrapped and the span ends when the body ends, so a streaming call's span lasts as
//! long as its stream. Status Error follows the conventions per side: on the server only the
//! codes that mean the server failed (`UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`,
//! `INTERNAL`, `UNAVAILABLE`, `DATA_LOSS`), on the client every code but `OK`. Trace context
//! travels in the metadata with the same W3C rules and sampling guarantees as HTTP; paths are
//! excluded as `exclude_paths` says (`/grpc.health.v1.Health/*`).
//!
//! A method the server does not have is `rpc.method = "_OTHER"`, the name the client sent in
//! `rpc.method_original` and the span named `grpc`, as the conventions ask: a client cannot
//! fill the metrics with names of its choosing. The server layer knows a method is not there by
//! tonic's answer to it (`UNIMPLEMENTED`, which its router gives every path it does not route),
//! or, with [`ServerLayer::with_methods`], by the list of the methods the server has.

mod calls;
mod layers;
mod service;

use std::sync::Arc;

pub use self::layers::{ClientLayer, ServerLayer};
pub use self::service::{CallBody, CallFuture, CallService};
pub use crate::hooks::{RequestHook, ResponseHook};

/// The hooks of a layer; cloned into each service.
#[derive(Clone, Default)]
struct Hooks {
    request: Option<Arc<dyn RequestHook>>,
    response: Option<Arc<dyn ResponseHook>>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("request", &self.request.is_some())
            .field("response", &self.response.is_some())
            .finish()
    }
}

/// Which end of a call a layer sits on.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Server,
    Client,
}
