//! The HTTP API driven without a socket (`oneshot` on the router), over a local store with the
//! `hash` embedder (no model download): every route, auth, limits and bad input.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod api;
mod console;
mod guard;
mod hostile;
mod mem0;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use lakehouse_server::config::hash_token;
use lakehouse_server::{AppState, ServerConfig, TokenConfig, app};
use serde_json::Value;
use tower::ServiceExt;

pub(crate) const ADMIN: &str = "admin-token-0123456789";
pub(crate) const READER: &str = "reader-token-0123456789";
pub(crate) const TEAM_A: &str = "team-a-token-0123456789";

pub(crate) const PERMITS: &str = include_str!("../../../table/tests/data/permits_sample.jsonl");

/// A server over a fresh local folder with three tokens: admin, a reader of everything, and a
/// writer limited to names starting with `team_a`.
pub(crate) async fn server(adjust: impl FnOnce(&mut ServerConfig)) -> (tempfile::TempDir, Router) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig {
        store: dir.path().join("data").display().to_string(),
        embedder: "hash:64".into(),
        ..ServerConfig::default()
    };
    config.tokens = vec![
        token("admin", ADMIN, "admin", &[]),
        token("reader", READER, "read", &[]),
        token("team_a", TEAM_A, "write", &["team_a"]),
    ];
    adjust(&mut config);
    let state = AppState::open(config).await.unwrap();
    (dir, app(state))
}

fn token(name: &str, secret: &str, scope: &str, prefixes: &[&str]) -> TokenConfig {
    TokenConfig {
        name: name.into(),
        sha256: hash_token(secret),
        scopes: vec![serde_json::from_value(Value::String(scope.into())).unwrap()],
        prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        namespace: None,
    }
}

/// An answer: status, headers, body as JSON (or as a string when it is not JSON).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Value,
    pub(crate) text: String,
}

impl Answer {
    /// The error code of an error answer.
    pub(crate) fn code(&self) -> &str {
        self.body
            .pointer("/error/code")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    pub(crate) fn message(&self) -> &str {
        self.body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

pub(crate) async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// `method uri` with `token` and a JSON body.
pub(crate) async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            request = request.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    send(app, request.body(body).unwrap()).await
}

/// `GET uri` with `token`.
pub(crate) async fn get(app: &Router, uri: &str, token: Option<&str>) -> Answer {
    call(app, "GET", uri, token, None).await
}

/// `PUT` raw bytes.
pub(crate) async fn put_bytes(app: &Router, uri: &str, token: &str, bytes: &'static str) -> Answer {
    let request = Request::builder()
        .method("PUT")
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(bytes))
        .unwrap();
    send(app, request).await
}

/// Upload the permits sample as dataset `name` and wait for the ingest.
pub(crate) async fn permits(app: &Router, name: &str) {
    let a = put_bytes(
        app,
        &format!("/v1/datasets/{name}/upload?format=jsonl&wait=true"),
        ADMIN,
        PERMITS,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["state"], "succeeded", "{}", a.text);
}
