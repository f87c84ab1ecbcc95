//! What can say more about a failed export than the exporter does: the HTTP client's last
//! transport error (for a dependency's exporter that kept only "network error"), or a probe of a
//! gRPC endpoint that answered only a code. Apart from the OTLP builders, so that the generic
//! queue that holds one needs nothing of them; without an OTLP transport it is empty.

use super::failure::LastTransportError;
use crate::lock::LockExt as _;

/// What can say more about a failed export than the exporter does: the HTTP client's last
/// transport error, or a probe of the gRPC endpoint.
#[derive(Debug, Clone, Default)]
pub(crate) struct Diagnosis {
    pub(super) last_error: Option<LastTransportError>,
    #[cfg(feature = "http-proto")]
    pub(super) probe: Option<super::http_client::GrpcProbe>,
}

impl Diagnosis {
    /// The reason behind `error`, found within `within`: the HTTP transport's last error for a
    /// dependency's exporter that kept only "network error", or the gRPC endpoint's own answer
    /// when the failure says only a code.
    pub(crate) async fn explain(
        &self,
        error: &super::failure::ExportError,
        within: std::time::Duration,
    ) -> Option<String> {
        use super::failure::Kind;
        if let Some(last) = &self.last_error
            && matches!(error.kind(), Kind::Transport | Kind::Http(_))
        {
            return last.lock_or_recover().clone();
        }
        // tonic's transport errors carry their reason already.
        #[cfg(feature = "http-proto")]
        if let Some(probe) = &self.probe
            && error.says_only_a_code()
        {
            return probe.ask(within).await;
        }
        let _ = within;
        None
    }
}
