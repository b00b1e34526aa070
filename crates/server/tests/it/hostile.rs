//! Hostile input at every door: bodies nested past any sane depth, invalid UTF-8, path
//! traversal and odd names in every path, query and body field that names something, SQL that
//! tries to write or read files, absurd query parameters and headers. Every one is answered
//! with a 4xx in the one error shape and a message, nothing is written, nothing outside the
//! store is touched; a panic anywhere fails the test (oneshot runs the handler on the test's
//! own task).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::{ADMIN, Answer, READER, call, get, send, server};

/// Names no route may accept as a dataset, corpus, journal, namespace or id.
const ODD_NAMES: [&str; 12] = [
    "..",
    ".",
    "../../etc/passwd",
    "a/../b",
    "a\\b",
    "%00",
    "a\u{0}b",
    "new\nline",
    "ｅｔｃ",
    " ",
    "_leading",
    "a;DROP TABLE x",
];

fn is_refusal(a: &Answer) -> bool {
    matches!(
        a.status,
        StatusCode::BAD_REQUEST
            | StatusCode::NOT_FOUND
            | StatusCode::UNPROCESSABLE_ENTITY
            | StatusCode::FORBIDDEN
    ) && a.body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty())
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Everything in the server's temporary folder: only its store, `data/`, may be there.
fn outside_the_store(dir: &tempfile::TempDir) -> Vec<String> {
    std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|name| name != "data")
        .collect()
}

#[tokio::test]
async fn bodies_nested_past_any_depth_invalid_utf8_and_huge_batches() {
    let (_dir, app) = server(|_| {}).await;
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    for (uri, body) in [
        ("/v1/sql", format!("{{\"query\": {deep}}}")),
        (
            "/v1/memory/records",
            format!(
                "{{\"drafts\": [{{\"kind\": \"pathway\", \"content\": \"c\", \"steps\": [{{\"tool\": \"sql\", \"args\": {deep}}}]}}]}}"
            ),
        ),
        ("/v1/search", deep.clone()),
    ] {
        let request = Request::post(uri)
            .header("authorization", format!("Bearer {ADMIN}"))
            .body(Body::from(body))
            .unwrap();
        let a = send(&app, request).await;
        assert!(is_refusal(&a), "{uri}: {} {}", a.status, a.text);
        if uri == "/v1/memory/records" {
            // step arguments are any JSON: the parser's depth limit is what stops this one
            assert!(a.message().contains("recursion"), "{uri}: {}", a.text);
        }
    }
    let mut invalid = b"{\"query\": \"SELECT '".to_vec();
    invalid.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    invalid.extend_from_slice(b"'\"}");
    let request = Request::post("/v1/sql")
        .header("authorization", format!("Bearer {READER}"))
        .body(Body::from(invalid))
        .unwrap();
    let a = send(&app, request).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(is_refusal(&a), "{}", a.text);
    // a batch far past the cap on drafts per commit writes nothing
    let drafts: Vec<Value> = (0..20_000)
        .map(|i| json!({"kind": "fact", "content": format!("fact {i}")}))
        .collect();
    let a = call(
        &app,
        "POST",
        "/v1/memory/records",
        Some(ADMIN),
        Some(json!({"namespace": "hostile/batch", "drafts": drafts})),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    let listed = get(&app, "/v1/memory/namespaces", Some(ADMIN)).await;
    assert_eq!(listed.body["namespaces"], json!([]), "{}", listed.text);
}

#[tokio::test]
async fn sql_cannot_write_or_reach_files() {
    let (dir, app) = server(|_| {}).await;
    crate::permits(&app, "permits").await;
    let target = dir.path().join("copied.csv");
    let queries = [
        format!("COPY permits TO '{}'", target.display()),
        format!(
            "COPY (SELECT * FROM permits) TO '{}' STORED AS CSV",
            target.display()
        ),
        "CREATE EXTERNAL TABLE leak STORED AS CSV LOCATION '/etc/passwd'".to_string(),
        "SELECT * FROM '/etc/passwd'".to_string(),
        "SELECT * FROM read_csv('/etc/passwd')".to_string(),
        "SELECT * FROM parquet_metadata('/etc/passwd')".to_string(),
        "SELECT * FROM information_schema.tables".to_string(),
        "SELECT * FROM datafusion.public.permits".to_string(),
        "INSERT INTO permits SELECT * FROM permits".to_string(),
        "DELETE FROM permits".to_string(),
        "SET datafusion.execution.batch_size = 1".to_string(),
        "SELECT 1; DROP TABLE permits".to_string(),
        "CREATE TABLE t AS SELECT 1".to_string(),
        "EXPLAIN ANALYZE COPY permits TO '/tmp/x.csv'".to_string(),
    ];
    for query in &queries {
        let a = call(
            &app,
            "POST",
            "/v1/sql",
            Some(ADMIN),
            Some(json!({"query": query})),
        )
        .await;
        assert!(is_refusal(&a), "{query}: {} {}", a.status, a.text);
    }
    assert!(!target.exists(), "COPY wrote a file");
    assert_eq!(outside_the_store(&dir), Vec::<String>::new());
    let count = call(
        &app,
        "POST",
        "/v1/sql",
        Some(READER),
        Some(json!({"query": "SELECT count(*) AS n FROM permits"})),
    )
    .await;
    assert_eq!(count.body["rows"], json!([[100]]), "{}", count.text);
}

#[tokio::test]
async fn odd_names_in_every_path_and_body_field() {
    let (dir, app) = server(|_| {}).await;
    for name in ODD_NAMES {
        let e = url_encode(name);
        let requests: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", format!("/v1/datasets/{e}"), None),
            ("GET", format!("/v1/datasets/{e}/history"), None),
            ("DELETE", format!("/v1/datasets/{e}"), None),
            (
                "POST",
                format!("/v1/datasets/{e}/ingest"),
                Some(json!({"source": "memory://x/a.csv"})),
            ),
            ("PUT", format!("/v1/datasets/{e}/upload?format=csv"), None),
            ("GET", format!("/v1/corpora/{e}"), None),
            (
                "POST",
                format!("/v1/corpora/{e}/build"),
                Some(json!({"dataset": "d", "id": "i", "text": "t"})),
            ),
            (
                "POST",
                "/v1/corpora/c/build".to_string(),
                Some(json!({"dataset": name, "id": "i", "text": "t"})),
            ),
            (
                "POST",
                "/v1/search".to_string(),
                Some(json!({"query": "q", "corpora": [name]})),
            ),
            (
                "POST",
                format!("/v1/journals/{e}/events"),
                Some(json!({"events": [1]})),
            ),
            ("GET", format!("/v1/journals/{e}/events"), None),
            (
                "POST",
                "/v1/memory/records".to_string(),
                Some(json!({"namespace": name, "drafts": [{"content": "c"}]})),
            ),
            ("GET", format!("/v1/memory/records?namespace={e}"), None),
            ("GET", format!("/v1/memory/records/{e}"), None),
            (
                "POST",
                format!("/v1/memory/records/{e}/retire"),
                Some(json!({"reason": "r"})),
            ),
            ("GET", format!("/v1/sessions/{e}"), None),
            ("GET", format!("/v1/jobs/{e}"), None),
            ("GET", format!("/v1/reports/bench/{e}"), None),
            ("GET", format!("/v1/reports/{e}/x.json"), None),
            (
                "POST",
                "/v1/agent/runs".to_string(),
                Some(json!({"task": "t", "namespace": name})),
            ),
        ];
        for (method, uri, body) in requests {
            let a = call(&app, method, &uri, Some(ADMIN), body).await;
            assert!(
                is_refusal(&a),
                "{method} {uri} ({name:?}): {} {}",
                a.status,
                a.text
            );
        }
    }
    assert_eq!(outside_the_store(&dir), Vec::<String>::new());
    let store: Vec<_> = walk(&dir.path().join("data"));
    assert!(
        store.iter().all(|p| !p.contains("..")),
        "nothing named with .. in the store: {store:?}"
    );
    let listed = get(&app, "/v1/memory/namespaces", Some(ADMIN)).await;
    assert_eq!(listed.body["namespaces"], json!([]), "{}", listed.text);
    let datasets = get(&app, "/v1/datasets", Some(ADMIN)).await;
    assert_eq!(datasets.body, json!([]), "{}", datasets.text);
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(path.display().to_string());
            if path.is_dir() {
                out.extend(walk(&path));
            }
        }
    }
    out
}

#[tokio::test]
async fn absurd_query_parameters_and_headers() {
    let (_dir, app) = server(|_| {}).await;
    for uri in [
        "/v1/memory/records?limit=-1",
        "/v1/memory/records?limit=99999999999999999999999",
        "/v1/memory/records?as_of=yesterday",
        "/v1/memory/records?state=zombie",
        "/v1/memory/records?kind=wisdom",
        "/v1/memory/records?namespace=a&namespace=b",
        "/v1/memory/records?unknown=1",
        "/v1/memory/records?filter=novalue",
        "/v1/sessions?limit=x",
        "/v1/datasets/permits/history?limit=-5",
        "/v1/journals/j/events?cursor=%FF%FE",
        "/v1/memory/records/m1/history?as_of=2026-13-45T99:00:00Z",
    ] {
        let a = get(&app, uri, Some(ADMIN)).await;
        assert!(is_refusal(&a), "{uri}: {} {}", a.status, a.text);
    }
    let huge_token = "x".repeat(64 * 1024);
    let a = get(&app, "/v1/datasets", Some(&huge_token)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(
        !a.text.contains(&huge_token[..64]),
        "the token is not echoed"
    );
    let request = Request::get("/v1/datasets")
        .header(
            "authorization",
            axum::http::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::UNAUTHORIZED);
    for id in ["evil id\twith spaces".to_string(), "x".repeat(500)] {
        let request = Request::get("/healthz")
            .header("x-request-id", id.as_str())
            .body(Body::empty())
            .unwrap();
        let a = send(&app, request).await;
        assert_eq!(a.status, StatusCode::OK);
        let echoed = a.headers["x-request-id"].to_str().unwrap();
        assert!(
            echoed.len() == 16 && echoed.bytes().all(|b| b.is_ascii_hexdigit()),
            "a request id that is not a short visible token is replaced: {echoed}"
        );
    }
}
