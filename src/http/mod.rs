//! HTTP: a tower layer for servers (`http-server`, `axum` features) and a reqwest middleware
//! for clients (`reqwest` feature), both following the stable HTTP semantic conventions.

#[cfg(feature = "actix-web")]
mod actix;
#[cfg(feature = "reqwest")]
mod client;
#[cfg(feature = "http-client")]
mod client_layer;
#[cfg(any(feature = "reqwest", feature = "http-server", feature = "http-client"))]
mod hooks;
#[cfg(feature = "http-server")]
mod server;

use std::borrow::Cow;

#[cfg(feature = "actix-web")]
pub use actix::{ActixMiddleware, ActixRequestHook, ActixService};
#[cfg(feature = "reqwest")]
pub use client::{ClientMiddleware, DisableTracing};
#[cfg(feature = "http-client")]
pub use client_layer::{ClientLayer, ClientResponseFuture, ClientService};
#[cfg(any(feature = "http-server", feature = "http-client"))]
pub use hooks::{RequestHook, ResponseHook};
#[cfg(feature = "reqwest")]
pub use hooks::{ReqwestRequestHook, ReqwestResponseHook};
#[cfg(feature = "http-server")]
pub use server::{ServerLayer, ServerResponseFuture, ServerService};

/// The methods the HTTP semantic conventions know (case-sensitive). Any other becomes `_OTHER`
/// in `http.request.method` and `HTTP` in the span name, with the original in
/// `http.request.method_original`: a client sending made-up methods cannot multiply span names.
const KNOWN_METHODS: &[&str] = &[
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE",
];

/// `(http.request.method, the method for the span name, http.request.method_original)`.
#[cfg_attr(
    not(any(feature = "reqwest", feature = "http-server", feature = "http-client")),
    allow(dead_code)
)]
pub(crate) fn method_attributes(method: &str) -> (&str, &str, Option<&str>) {
    match KNOWN_METHODS.iter().find(|m| **m == method) {
        Some(m) => (m, m, None),
        None => ("_OTHER", "HTTP", Some(method)),
    }
}

/// Query parameters whose values are credentials: replaced by `REDACTED` in `url.query` and
/// `url.full`, as the semantic conventions ask.
const SENSITIVE_PARAMS: &[&str] = &[
    "awsaccesskeyid",
    "signature",
    "sig",
    "x-goog-signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "api_key",
    "apikey",
    "key",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "code",
];

/// Whether a query parameter's value is a credential: the key (percent-decoded, `+` as a
/// space) is one of [`SENSITIVE_PARAMS`] exactly, or matches the default `redact_fields` by the
/// same word rule as field and attribute names (`user_password`, `x-api-key`, `pass%77ord`).
fn sensitive_param(key: &str) -> bool {
    static NAMES: std::sync::LazyLock<crate::redact::Redactor> = std::sync::LazyLock::new(|| {
        let defaults: Vec<String> = crate::settings::DEFAULT_REDACT
            .iter()
            .map(|s| s.to_string())
            .collect();
        crate::redact::Redactor::new(&defaults)
    });
    let spaced = key.replace('+', " ");
    let decoded = crate::text::percent_decode_lenient(&spaced);
    let bare = decoded.trim_matches(|c: char| !c.is_alphanumeric());
    SENSITIVE_PARAMS
        .iter()
        .any(|s| bare.eq_ignore_ascii_case(s))
        || NAMES.is_sensitive(&decoded)
}

/// `a=1&token=abc` → `a=1&token=REDACTED`.
pub(crate) fn redact_query(q: &str) -> Cow<'_, str> {
    let sensitive = sensitive_param;
    if !q
        .split('&')
        .any(|p| sensitive(p.split('=').next().unwrap_or("")))
    {
        return Cow::Borrowed(q);
    }
    Cow::Owned(
        q.split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if sensitive(k) => format!("{k}=REDACTED"),
                _ => p.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&"),
    )
}

/// A URL without user info, and with credentials in the query redacted.
#[cfg_attr(
    not(any(feature = "reqwest", feature = "http-client")),
    allow(dead_code)
)]
pub(crate) fn redact_url(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let userinfo = if authority.contains('@') {
                "REDACTED:REDACTED@"
            } else {
                ""
            };
            format!("{scheme}://{userinfo}{host}{path}")
        }
        None => before_query.to_string(),
    };
    if let Some(q) = query {
        out.push('?');
        out.push_str(&redact_query(q));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(redact_query("a=1&b=2"), "a=1&b=2");
        assert_eq!(
            redact_query("a=1&Token=abc&sig=x"),
            "a=1&Token=REDACTED&sig=REDACTED"
        );
        assert_eq!(
            redact_url("https://user:pw@host:8443/p?q=1&api_key=k"),
            "https://REDACTED:REDACTED@host:8443/p?q=1&api_key=REDACTED"
        );
        assert_eq!(redact_url("http://host/p"), "http://host/p");
    }
}
