//! Redaction users can trust: the names services really give secrets (in any case style,
//! acronyms, plurals, percent-encoded), credentials inside innocent values (URLs with a user and
//! password, `Bearer` tokens, JSON Web Tokens), and URL query keys by the same rule. Nothing that
//! looks like one of the secrets below reaches the JSON log lines or the exported spans.

mod support;

use std::convert::Infallible;

use support::{Captured, file_sink_spans};
use tower::{Layer as _, ServiceExt as _};
use tracewire::http::ServerLayer;

const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTM0NSRVQifQ.c2lnbmF0dXJlUzNDUkVU";

#[test]
fn secrets_do_not_leave_by_name_or_by_shape() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let logs = Captured::default();
    let guard = support::to_file(&sink)
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    let rt = support::current_thread_runtime();
    rt.block_on(async {
        tracing::info_span!(
            "work",
            passWord = "S3CRET-a",
            DBPassword = "S3CRET-b",
            APIToken = "S3CRET-c",
            passwords = "S3CRET-d",
            sessionid = "S3CRET-e",
            bearer = "S3CRET-f",
            jwt = "S3CRET-g",
            access_key = "S3CRET-h",
            dsn = "S3CRET-i",
            connection_string = "S3CRET-j",
            pwd = "S3CRET-k",
            gen_ai.usage.input_tokens = 12,
            database = "postgres://app:S3CRET-l@db:5432/shop",
        )
        .in_scope(|| {
            tracing::info!(
                header = "Bearer S3CRET-m-0123456789",
                token_like = JWT,
                "connecting to redis://:S3CRET-n@cache:6379 with {}",
                "Basic UzNDUkVULW8tYWJjZGVm"
            );
            tracing::error!(error = %format!("auth failed for https://u:S3CRET-p@api/x"), "call failed");
        });

        let svc = ServerLayer::new().layer(tower::service_fn(|_req: http::Request<()>| async {
            Ok::<_, Infallible>(http::Response::new(()))
        }));
        let keys = [
            "user_password", "Authorization", "x-api-key", "api-key", "session_id",
            "private_key", "auth_token", "pass%77ord", "token%00", "%20token", "jwt",
            "access_key", "bearer", "token",
        ];
        let query: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k}=S3CRET-q{i}"))
            .chain(["page=2".to_string()])
            .collect();
        let req = http::Request::builder()
            .uri(format!("/search?{}", query.join("&")))
            .body(())
            .unwrap();
        svc.oneshot(req).await.unwrap();
    });
    drop(rt);
    guard.shutdown().unwrap();

    let spans = file_sink_spans(&sink);
    let raw_logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let raw_spans = std::fs::read_to_string(&sink).unwrap();
    for (what, text) in [("log lines", &raw_logs), ("exported spans", &raw_spans)] {
        for leak in ["S3CRET", "UzNDUkVU", JWT] {
            let at = text.find(leak);
            assert!(
                at.is_none(),
                "{what}: {leak} leaked: …{}…",
                &text[at.unwrap().saturating_sub(80)..(at.unwrap() + 40).min(text.len())]
            );
        }
    }
    // What stays readable: the shape of each value, the counter, the harmless parameter.
    let work = spans.iter().find(|s| s["name"] == "work").unwrap();
    assert_eq!(work["attributes"]["gen_ai.usage.input_tokens"], 12);
    assert_eq!(
        work["attributes"]["database"],
        "postgres://REDACTED:REDACTED@db:5432/shop"
    );
    let server = spans.iter().find(|s| s["kind"] == "SERVER").unwrap();
    let query = server["attributes"]["url.query"].as_str().unwrap();
    assert!(query.ends_with("&page=2"), "{query}");
    assert_eq!(query.matches("=REDACTED").count(), 14, "{query}");
    assert!(
        raw_logs.contains("redis://REDACTED:REDACTED@cache:6379"),
        "{raw_logs}"
    );
}
