//! Who may call, how much, and what bad input gets: 401/403, 413, 429, malformed and
//! misshapen JSON, unknown fields, bad names — each with the one error shape and nothing
//! written.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::{ADMIN, READER, TEAM_A, call, get, send, server};

#[tokio::test]
async fn tokens_missing_wrong_or_out_of_scope() {
    let (_dir, app) = server(|_| {}).await;
    let none = get(&app, "/v1/datasets", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.code(), "unauthorized");
    let wrong = call(&app, "GET", "/v1/datasets", Some("not-a-token"), None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(!wrong.text.contains("not-a-token"), "{}", wrong.text);
    // health, readiness and the docs need no token
    assert_eq!(get(&app, "/healthz", None).await.status, StatusCode::OK);

    let draft = json!({"namespace": "team_b/x", "drafts": [{"kind": "pathway", "content": "c"}]});
    let reader_writes = call(
        &app,
        "POST",
        "/v1/memory/records",
        Some(READER),
        Some(draft.clone()),
    )
    .await;
    assert_eq!(
        reader_writes.status,
        StatusCode::FORBIDDEN,
        "{}",
        reader_writes.text
    );
    let outside = call(
        &app,
        "POST",
        "/v1/memory/records",
        Some(TEAM_A),
        Some(draft),
    )
    .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN, "{}", outside.text);
    assert!(outside.message().contains("team_b/x"), "{}", outside.text);
    let inside = call(
        &app,
        "POST",
        "/v1/memory/records",
        Some(TEAM_A),
        Some(json!({"namespace": "team_a/x", "drafts": [{"kind": "pathway", "content": "c"}]})),
    )
    .await;
    assert_eq!(inside.status, StatusCode::OK, "{}", inside.text);
    // writers may not drop; SQL of a prefix token reads only its own datasets
    let drop = call(&app, "DELETE", "/v1/datasets/team_a_x", Some(TEAM_A), None).await;
    assert_eq!(drop.status, StatusCode::FORBIDDEN);
    let sql = call(
        &app,
        "POST",
        "/v1/sql",
        Some(TEAM_A),
        Some(json!({"query": "SELECT * FROM permits"})),
    )
    .await;
    assert_eq!(sql.status, StatusCode::FORBIDDEN, "{}", sql.text);
    // the Token scheme (Mem0's clients) works as well as Bearer
    let request = Request::get("/v1/datasets")
        .header("authorization", format!("Token {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn oversized_malformed_and_misshapen_bodies() {
    let (_dir, app) = server(|c| c.limits.body_bytes = 1000).await;
    let big = "x".repeat(5000);
    let too_big = call(
        &app,
        "POST",
        "/v1/sql",
        Some(READER),
        Some(json!({"query": big})),
    )
    .await;
    assert_eq!(
        too_big.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        too_big.text
    );
    assert_eq!(too_big.code(), "too_large");

    let request = Request::post("/v1/sql")
        .header("authorization", format!("Bearer {READER}"))
        .body(Body::from("{\"query\": "))
        .unwrap();
    let broken = send(&app, request).await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert_eq!(broken.code(), "malformed_json");

    let unknown = call(
        &app,
        "POST",
        "/v1/sql",
        Some(READER),
        Some(json!({"query": "SELECT 1", "rows": 5})),
    )
    .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    assert!(
        unknown.message().contains("unknown field `rows`"),
        "{}",
        unknown.text
    );
    let wrong_type = call(
        &app,
        "POST",
        "/v1/sql",
        Some(READER),
        Some(json!({"query": 5})),
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong_type.text.contains("`query`: invalid type"),
        "the field at fault is named: {}",
        wrong_type.text
    );
    let empty = call(&app, "POST", "/v1/sql", Some(READER), None).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let search_unknown = call(
        &app,
        "POST",
        "/v1/search",
        Some(READER),
        Some(json!({"query": "x", "corpora": ["a"], "limit": 3})),
    )
    .await;
    assert_eq!(search_unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_draft = call(
        &app,
        "POST",
        "/v1/memory/records",
        Some(ADMIN),
        Some(json!({"drafts": [{"kind": "wisdom", "content": "c"}]})),
    )
    .await;
    assert_eq!(
        bad_draft.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_draft.text
    );
    let empty_content = call(
        &app,
        "POST",
        "/v1/memory/records",
        Some(ADMIN),
        Some(json!({"drafts": [{"kind": "pathway", "content": "  "}]})),
    )
    .await;
    assert_eq!(
        empty_content.status,
        StatusCode::BAD_REQUEST,
        "{}",
        empty_content.text
    );
    // nothing was written by any of them
    let list = get(&app, "/v1/memory/records?state=all", Some(READER)).await;
    assert_eq!(list.body, json!([]), "{}", list.text);
}

#[tokio::test]
async fn bad_names_are_refused_before_the_store_is_touched() {
    let (dir, app) = server(|_| {}).await;
    for (method, uri, body) in [
        ("GET", "/v1/datasets/..%2Fx", None),
        ("GET", "/v1/datasets/Bad-Name", None),
        (
            "POST",
            "/v1/journals/..%2Fescape/events",
            Some(json!({"events": [1]})),
        ),
        (
            "POST",
            "/v1/journals/UPPER/events",
            Some(json!({"events": [1]})),
        ),
        ("GET", "/v1/corpora/..%2Fx", None),
        (
            "POST",
            "/v1/corpora/../build",
            Some(json!({"dataset": "d", "id": "i", "text": "t"})),
        ),
        (
            "POST",
            "/v1/memory/records",
            Some(json!({"namespace": "../etc", "drafts": [{"kind": "pathway", "content": "c"}]})),
        ),
        ("PUT", "/v1/datasets/..%2Fx/upload?format=csv", None),
    ] {
        let a = call(&app, method, uri, Some(ADMIN), body).await;
        assert!(
            a.status == StatusCode::BAD_REQUEST || a.status == StatusCode::NOT_FOUND,
            "{method} {uri}: {} {}",
            a.status,
            a.text
        );
        assert!(
            a.body["error"]["message"].is_string(),
            "{method} {uri}: {}",
            a.text
        );
    }
    // nothing escaped the store folder
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(outside, ["data"], "{outside:?}");
    let unknown_route = get(&app, "/v1/nothing", Some(ADMIN)).await;
    assert_eq!(unknown_route.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown_route.code(), "not_found");
    let wrong_method = call(&app, "DELETE", "/v1/sql", Some(ADMIN), None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.code(), "method_not_allowed");
    let local_path = call(
        &app,
        "POST",
        "/v1/datasets/x/ingest",
        Some(ADMIN),
        Some(json!({"source": "/etc/passwd", "format": "text"})),
    )
    .await;
    assert_eq!(local_path.status, StatusCode::BAD_REQUEST);
    assert!(
        local_path.message().contains("not a store URL"),
        "{}",
        local_path.text
    );
}

#[tokio::test]
async fn per_token_rate_limit_answers_429_with_retry_after() {
    let (_dir, app) = server(|c| {
        c.limits.rate_per_second = 1;
        c.limits.rate_burst = 2;
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            get(&app, "/v1/datasets", Some(READER)).await.status,
            StatusCode::OK
        );
    }
    let limited = get(&app, "/v1/datasets", Some(READER)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // another token has its own budget
    assert_eq!(
        get(&app, "/v1/datasets", Some(ADMIN)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn request_timeout_and_request_ids() {
    let (_dir, app) = server(|c| {
        c.limits.request_timeout_ms = 50;
        c.limits.sql_timeout_ms = 60_000;
    })
    .await;
    let slow = call(
        &app,
        "POST",
        "/v1/sql",
        Some(READER),
        Some(json!({"query": "SELECT count(*) FROM generate_series(1, 1000000) a CROSS JOIN generate_series(1, 1000000) b"})),
    )
    .await;
    assert_eq!(
        slow.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        slow.text
    );
    assert_eq!(slow.code(), "timeout");
    assert_eq!(slow.headers["x-request-id"].len(), 16);
    let request = Request::get("/healthz")
        .header("x-request-id", "caller-chosen-id")
        .body(Body::empty())
        .unwrap();
    let echoed = send(&app, request).await;
    assert_eq!(echoed.headers["x-request-id"], "caller-chosen-id");
}
