//! The console's server side: its page and assets with their security headers, sign-in trading
//! a token for an `HttpOnly` cookie, the cookie standing in for the token on the API with a
//! CSRF token required for writes, sign-out; the browser guard (no cross-site writes; without
//! tokens, loopback host names only); and the routes the console reads (overview, namespaces,
//! reports, a namespace as of a past time).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::{ADMIN, Answer, READER, call, get, send, server};

/// `method uri` with a console cookie, an optional CSRF token and JSON body.
async fn with_cookie(
    app: &axum::Router,
    method: &str,
    uri: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<serde_json::Value>,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::COOKIE, format!("lakehouse_session={cookie}"));
    if let Some(token) = csrf {
        request = request.header("x-csrf-token", token);
    }
    let body = body.map_or_else(Body::empty, |v| Body::from(v.to_string()));
    send(app, request.body(body).unwrap()).await
}

async fn login(app: &axum::Router, token: &str) -> Answer {
    let request = Request::builder()
        .method("POST")
        .uri("/console/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={token}")))
        .unwrap();
    send(app, request).await
}

/// The session cookie's value from a sign-in answer, and the page's CSRF token.
async fn signed_in(app: &axum::Router, token: &str) -> (String, String) {
    let answer = login(app, token).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text);
    assert_eq!(answer.headers[header::LOCATION], "/");
    let set = answer.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set}");
    }
    let cookie = set
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("lakehouse_session=")
        .unwrap()
        .to_string();
    let session = with_cookie(app, "GET", "/console/session", &cookie, None, None).await;
    assert_eq!(session.body["authenticated"], true, "{}", session.text);
    let csrf = session.body["csrf"].as_str().unwrap().to_string();
    (cookie, csrf)
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_a_strict_policy() {
    let (_dir, app) = server(|_| {}).await;
    let page = get(&app, "/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("/console/console.js"), "{}", page.text);
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
    let js = get(&app, "/console/console.js", None).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let missing = get(&app, "/console/../Cargo.toml", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let missing = get(&app, "/console/nope.js", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let session = get(&app, "/console/session", None).await;
    assert_eq!(
        (
            session.body["auth"].clone(),
            session.body["authenticated"].clone()
        ),
        (json!(true), json!(false))
    );
}

#[tokio::test]
async fn a_console_session_stands_for_its_token_and_writes_need_the_csrf_token() {
    let (_dir, app) = server(|_| {}).await;
    let wrong = login(&app, "not-a-token-000000").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    let empty = login(&app, "").await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.text);

    let (cookie, csrf) = signed_in(&app, ADMIN).await;
    let read = with_cookie(&app, "GET", "/v1/datasets", &cookie, None, None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    let draft = json!({"namespace": "console/t", "drafts": [{"content": "a fact"}]});
    let no_csrf = with_cookie(
        &app,
        "POST",
        "/v1/memory/records",
        &cookie,
        None,
        Some(draft.clone()),
    )
    .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN, "{}", no_csrf.text);
    assert!(no_csrf.message().contains("CSRF"), "{}", no_csrf.text);
    let wrong_csrf = with_cookie(
        &app,
        "POST",
        "/v1/memory/records",
        &cookie,
        Some("0000"),
        Some(draft.clone()),
    )
    .await;
    assert_eq!(wrong_csrf.status, StatusCode::FORBIDDEN);
    let listed = get(&app, "/v1/memory/records?namespace=console/t", Some(ADMIN)).await;
    assert_eq!(listed.body, json!([]), "nothing was written");
    let written = with_cookie(
        &app,
        "POST",
        "/v1/memory/records",
        &cookie,
        Some(&csrf),
        Some(draft),
    )
    .await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.text);

    // a reader's session reads but may not write, CSRF token or not
    let (reader, reader_csrf) = signed_in(&app, READER).await;
    let refused = with_cookie(
        &app,
        "POST",
        "/v1/memory/records",
        &reader,
        Some(&reader_csrf),
        Some(json!({"namespace": "console/t", "drafts": [{"content": "no"}]})),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);

    // an unknown cookie is 401; signing out ends the session
    let unknown = with_cookie(&app, "GET", "/v1/datasets", "f00d", None, None).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let out = with_cookie(&app, "POST", "/console/logout", &cookie, Some(&csrf), None).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = with_cookie(&app, "GET", "/v1/datasets", &cookie, None, None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    // a bearer token wins over a cookie
    let both = send(
        &app,
        Request::builder()
            .uri("/v1/datasets")
            .header(header::AUTHORIZATION, format!("Bearer {READER}"))
            .header(header::COOKIE, "lakehouse_session=f00d")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(both.status, StatusCode::OK);
}

#[tokio::test]
async fn cross_site_writes_are_refused_and_an_open_server_answers_loopback_names_only() {
    let (_dir, app) = server(|_| {}).await;
    let post = |headers: Vec<(&'static str, &'static str)>| {
        let mut request = Request::builder()
            .method("POST")
            .uri("/v1/sql")
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
            .header(header::HOST, "127.0.0.1:7777");
        for (k, v) in headers {
            request = request.header(k, v);
        }
        request
            .body(Body::from(r#"{"query": "SELECT 1"}"#))
            .unwrap()
    };
    let evil = send(&app, post(vec![("origin", "http://evil.example")])).await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN, "{}", evil.text);
    assert!(evil.message().contains("cross-site"), "{}", evil.text);
    let fetched = send(&app, post(vec![("sec-fetch-site", "cross-site")])).await;
    assert_eq!(fetched.status, StatusCode::FORBIDDEN);
    let same = send(
        &app,
        post(vec![
            ("origin", "http://127.0.0.1:7777"),
            ("sec-fetch-site", "same-origin"),
        ]),
    )
    .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.text);
    let curl = send(&app, post(vec![])).await;
    assert_eq!(
        curl.status,
        StatusCode::OK,
        "clients that are not browsers pass"
    );

    // without tokens: a re-pointed domain reads nothing; loopback names work
    let (_dir, open) = server(|c| c.tokens.clear()).await;
    let host = |name: &'static str| {
        Request::builder()
            .uri("/v1/datasets")
            .header(header::HOST, name)
            .body(Body::empty())
            .unwrap()
    };
    let rebound = send(&open, host("attacker.example:7777")).await;
    assert_eq!(rebound.status, StatusCode::FORBIDDEN, "{}", rebound.text);
    assert!(rebound.message().contains("loopback"), "{}", rebound.text);
    for name in ["127.0.0.1:7777", "localhost:7777", "[::1]:7777"] {
        assert_eq!(
            send(&open, host(name)).await.status,
            StatusCode::OK,
            "{name}"
        );
    }
    let session = get(&open, "/console/session", None).await;
    assert_eq!(session.body["authenticated"], true);
    assert_eq!(session.body["scope"], "admin");
}

#[tokio::test]
async fn overview_namespaces_reports_and_a_namespace_as_of_a_past_time() {
    let reports = tempfile::tempdir().unwrap();
    std::fs::write(reports.path().join("ann.json"), r#"{"benchmark": "ann"}"#).unwrap();
    std::fs::create_dir(reports.path().join("eval-1")).unwrap();
    std::fs::write(
        reports.path().join("eval-1/report.json"),
        r#"{"model": "m"}"#,
    )
    .unwrap();
    std::fs::write(reports.path().join("broken.json"), "{").unwrap();
    let folder = reports.path().to_path_buf();
    let (_dir, app) = server(move |c| c.console.reports = vec![folder]).await;
    crate::permits(&app, "permits").await;
    let first = call(
        &app,
        "POST",
        "/v1/memory/records",
        Some(ADMIN),
        Some(json!({"namespace": "team/a", "drafts": [{"content": "v1"}]})),
    )
    .await;
    let id = first.body[0]["record"]["id"].as_str().unwrap().to_string();
    let then = first.body[0]["record"]["created_at"]
        .as_str()
        .unwrap()
        .to_string();
    let revised = call(
        &app,
        "POST",
        &format!("/v1/memory/records/{id}/revise"),
        Some(ADMIN),
        Some(json!({"namespace": "team/a", "patch": {"content": "v2"}})),
    )
    .await;
    assert_eq!(revised.status, StatusCode::OK, "{}", revised.text);

    let o = get(&app, "/v1/overview", Some(READER)).await;
    assert_eq!(o.status, StatusCode::OK, "{}", o.text);
    assert_eq!(o.body["datasets"]["count"], 1, "{}", o.text);
    assert_eq!(o.body["datasets"]["rows"], 100);
    assert_eq!(o.body["namespaces"]["items"][0]["name"], "team/a");
    assert_eq!(o.body["namespaces"]["commits"], 2);
    assert_eq!(o.body["auth"], true);
    let ns = get(&app, "/v1/memory/namespaces", Some(READER)).await;
    assert_eq!(ns.body["namespaces"][0]["commits"], 2, "{}", ns.text);

    let now = get(&app, "/v1/memory/records?namespace=team/a", Some(READER)).await;
    assert_eq!(now.body[0]["content"], "v2");
    let past = get(
        &app,
        &format!("/v1/memory/records?namespace=team/a&as_of={then}"),
        Some(READER),
    )
    .await;
    assert_eq!(past.body.as_array().unwrap().len(), 1, "{}", past.text);
    assert_eq!(past.body[0]["content"], "v1", "{}", past.text);
    let bad = get(
        &app,
        "/v1/memory/records?namespace=team/a&as_of=yesterday",
        Some(READER),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);

    let listed = get(&app, "/v1/reports", Some(READER)).await;
    let mut names: Vec<String> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["kind"].as_str().unwrap(),
                r["name"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["bench/ann.json", "bench/broken.json", "eval/eval-1"]
    );
    let ann = get(&app, "/v1/reports/bench/ann.json", Some(READER)).await;
    assert_eq!(ann.body["benchmark"], "ann");
    let eval = get(&app, "/v1/reports/eval/eval-1", Some(READER)).await;
    assert_eq!(eval.body["model"], "m");
    for (uri, status) in [
        (
            "/v1/reports/bench/..%2F..%2Fetc%2Fpasswd",
            StatusCode::NOT_FOUND,
        ),
        ("/v1/reports/bench/missing.json", StatusCode::NOT_FOUND),
        ("/v1/reports/other/ann.json", StatusCode::BAD_REQUEST),
        (
            "/v1/reports/bench/broken.json",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ] {
        assert_eq!(get(&app, uri, Some(READER)).await.status, status, "{uri}");
    }
    assert_eq!(
        get(&app, "/v1/reports", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}
