//! The Mem0 dialects over the router: entities never mix, update keeps the id, history tells
//! ADD/UPDATE/DELETE, deleted memories are gone, bad filters and missing entities are named,
//! and both dialects' auth headers work.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::{ADMIN, Answer, READER, call, send, server};

/// `method uri` with a header of our choosing (Mem0's `Token` scheme or `X-API-Key`).
async fn with_header(
    app: &Router,
    method: &str,
    uri: &str,
    header: (&str, String),
    body: Option<Value>,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header.0, header.1);
    let body = match body {
        Some(v) => {
            request = request.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    send(app, request.body(body).unwrap()).await
}

fn token(t: &str) -> (&'static str, String) {
    ("authorization", format!("Token {t}"))
}

fn ok(a: &Answer) {
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

/// The `memory` texts of a results list.
fn texts(results: &Value) -> Vec<String> {
    let mut out: Vec<String> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["memory"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn hosted_dialect_keeps_users_apart_and_tells_history() {
    let (_dir, app) = server(|_| {}).await;
    let ping = with_header(&app, "GET", "/v1/ping/", token(ADMIN), None).await;
    ok(&ping);
    assert!(ping.body["org_id"].is_string() && ping.body["project_id"].is_string());

    let add = |user: &str, texts: &[&str]| {
        let messages: Vec<Value> = texts
            .iter()
            .map(|t| json!({"role": "user", "content": t}))
            .collect();
        json!({"messages": messages, "user_id": user, "metadata": {"topic": "prefs", "n": 3}})
    };
    let alice = with_header(
        &app,
        "POST",
        "/v3/memories/add/",
        token(ADMIN),
        Some(add(
            "alice",
            &["alice wants costs in euros", "alice works from Chicago"],
        )),
    )
    .await;
    ok(&alice);
    let results = alice.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{}", alice.text);
    assert!(
        results.iter().all(|r| r["event"] == "ADD"),
        "{}",
        alice.text
    );
    let id = results[0]["id"].as_str().unwrap().to_string();
    ok(&with_header(
        &app,
        "POST",
        "/v3/memories/add/",
        token(ADMIN),
        Some(add("bob", &["bob wants costs in dollars"])),
    )
    .await);
    // the same text again is no new memory
    let again = with_header(
        &app,
        "POST",
        "/v3/memories/add/",
        token(ADMIN),
        Some(add("bob", &["bob wants costs in dollars"])),
    )
    .await;
    assert_eq!(again.body["results"][0]["event"], "NONE", "{}", again.text);

    // search and listing see one user only
    let search = with_header(
        &app,
        "POST",
        "/v3/memories/search/",
        token(ADMIN),
        Some(json!({"query": "which currency for costs", "filters": {"user_id": "bob"}})),
    )
    .await;
    ok(&search);
    assert_eq!(
        texts(&search.body["results"]),
        ["bob wants costs in dollars"]
    );
    let listed = with_header(
        &app,
        "POST",
        "/v3/memories/",
        token(ADMIN),
        Some(json!({"filters": {"AND": [{"user_id": "alice"}]}})),
    )
    .await;
    ok(&listed);
    assert_eq!(listed.body["count"], 2, "{}", listed.text);
    assert_eq!(
        texts(&listed.body["results"]),
        ["alice wants costs in euros", "alice works from Chicago"]
    );
    let first = &listed.body["results"][0];
    assert_eq!(first["user_id"], "alice");
    assert_eq!(first["metadata"], json!({"topic": "prefs", "n": 3}));
    // a wildcard user sees both, and metadata filters narrow
    let everyone = with_header(
        &app,
        "POST",
        "/v3/memories/",
        token(ADMIN),
        Some(json!({"filters": {"user_id": "*"}, "page_size": 2})),
    )
    .await;
    assert_eq!(everyone.body["count"], 3, "{}", everyone.text);
    assert_eq!(everyone.body["results"].as_array().unwrap().len(), 2);
    assert!(everyone.body["next"].is_string(), "{}", everyone.text);

    // update keeps the id and tells the version
    let uri = format!("/v1/memories/{id}/");
    let updated = with_header(
        &app,
        "PUT",
        &uri,
        token(ADMIN),
        Some(json!({"text": "alice wants costs in Swiss francs"})),
    )
    .await;
    ok(&updated);
    assert_eq!(updated.body["id"], id.as_str());
    assert_eq!(updated.body["version"], 2);
    let got = with_header(&app, "GET", &uri, token(ADMIN), None).await;
    assert_eq!(got.body["memory"], "alice wants costs in Swiss francs");
    assert_eq!(got.body["metadata"], json!({"topic": "prefs", "n": 3}));

    // delete: gone from get, search and listing; history tells all three events
    ok(&with_header(&app, "DELETE", &uri, token(ADMIN), None).await);
    let gone = with_header(&app, "GET", &uri, token(ADMIN), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
    assert!(
        gone.body["detail"].as_str().unwrap().contains(&id),
        "{}",
        gone.text
    );
    let listed = with_header(
        &app,
        "POST",
        "/v3/memories/",
        token(ADMIN),
        Some(json!({"filters": {"user_id": "alice"}})),
    )
    .await;
    assert_eq!(texts(&listed.body["results"]), ["alice works from Chicago"]);
    let history = with_header(
        &app,
        "GET",
        &format!("/v1/memories/{id}/history/"),
        token(ADMIN),
        None,
    )
    .await;
    ok(&history);
    let events: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["ADD", "UPDATE", "DELETE"], "{}", history.text);
    assert_eq!(history.body[1]["old_memory"], "alice wants costs in euros");
    assert_eq!(
        history.body[1]["new_memory"],
        "alice wants costs in Swiss francs"
    );

    // entities, then deleting one user leaves the other
    let entities = with_header(&app, "GET", "/v1/entities/", token(ADMIN), None).await;
    ok(&entities);
    assert_eq!(entities.body["total_users"], 2, "{}", entities.text);
    ok(&with_header(
        &app,
        "DELETE",
        "/v2/entities/user/alice/",
        token(ADMIN),
        None,
    )
    .await);
    let rest = with_header(
        &app,
        "POST",
        "/v3/memories/",
        token(ADMIN),
        Some(json!({"filters": {"user_id": "*"}})),
    )
    .await;
    assert_eq!(texts(&rest.body["results"]), ["bob wants costs in dollars"]);
    let cleared = with_header(
        &app,
        "DELETE",
        "/v1/memories/?user_id=bob",
        token(ADMIN),
        None,
    )
    .await;
    assert_eq!(cleared.body["deleted"], 1, "{}", cleared.text);
}

#[tokio::test]
async fn hosted_dialect_names_bad_input_and_writes_nothing() {
    let (_dir, app) = server(|_| {}).await;
    let no_entity = with_header(
        &app,
        "POST",
        "/v3/memories/add/",
        token(ADMIN),
        Some(json!({"messages": [{"role": "user", "content": "x"}]})),
    )
    .await;
    assert_eq!(
        no_entity.status,
        StatusCode::BAD_REQUEST,
        "{}",
        no_entity.text
    );
    assert!(
        no_entity.body["detail"]
            .as_str()
            .unwrap()
            .contains("user_id")
    );
    let only_system = with_header(
        &app,
        "POST",
        "/v3/memories/add/",
        token(ADMIN),
        Some(json!({"messages": [{"role": "system", "content": "be nice"}], "user_id": "a"})),
    )
    .await;
    assert_eq!(
        only_system.status,
        StatusCode::BAD_REQUEST,
        "{}",
        only_system.text
    );
    let reserved = with_header(
        &app,
        "POST",
        "/v3/memories/add/",
        token(ADMIN),
        Some(json!({"messages": "x", "user_id": "a", "metadata": {"mem0.user_id": "b"}})),
    )
    .await;
    assert_eq!(
        reserved.status,
        StatusCode::BAD_REQUEST,
        "{}",
        reserved.text
    );
    for filters in [
        json!({"OR": [{"user_id": "a"}, {"user_id": "b"}]}),
        json!({"user_id": "a", "n": {"gte": 3}}),
        json!("alice"),
        json!({"topic": "prefs"}),
    ] {
        let a = with_header(
            &app,
            "POST",
            "/v3/memories/search/",
            token(ADMIN),
            Some(json!({"query": "costs", "filters": filters})),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{filters}: {}", a.text);
        assert!(!a.body["detail"].as_str().unwrap().is_empty());
    }
    for id in [
        "nonsense",
        "mem0.-.a.-.-",
        "mem0.-.a.-.-:m99",
        "other.ns:m1",
    ] {
        let a = with_header(
            &app,
            "GET",
            &format!("/v1/memories/{id}/"),
            token(ADMIN),
            None,
        )
        .await;
        assert!(
            a.status == StatusCode::BAD_REQUEST || a.status == StatusCode::NOT_FOUND,
            "{id}: {}",
            a.text
        );
        assert!(a.body["detail"].is_string(), "{id}: {}", a.text);
    }
    // nothing was written by any of it
    let everyone = with_header(
        &app,
        "POST",
        "/v3/memories/",
        token(ADMIN),
        Some(json!({"filters": {"user_id": "*"}})),
    )
    .await;
    ok(&everyone);
    assert_eq!(everyone.body["count"], 0, "{}", everyone.text);
    let entities = with_header(&app, "GET", "/v1/entities/", token(ADMIN), None).await;
    assert_eq!(entities.body["count"], 0, "{}", entities.text);
}

#[tokio::test]
async fn tokens_and_scopes_hold_in_both_dialects() {
    let (_dir, app) = server(|_| {}).await;
    let wrong = with_header(&app, "GET", "/v1/ping/", token("wrong-token-012345"), None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
    let none = call(
        &app,
        "POST",
        "/memories",
        None,
        Some(json!({"messages": "x", "user_id": "a"})),
    )
    .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{}", none.text);
    let reader = with_header(
        &app,
        "POST",
        "/memories",
        ("x-api-key", READER.into()),
        Some(json!({"messages": "x", "user_id": "a"})),
    )
    .await;
    assert_eq!(reader.status, StatusCode::FORBIDDEN, "{}", reader.text);
    let reset = with_header(&app, "POST", "/reset", ("x-api-key", READER.into()), None).await;
    assert_eq!(reset.status, StatusCode::FORBIDDEN, "{}", reset.text);
}

#[tokio::test]
async fn flat_dialect_round_trip() {
    let (_dir, app) = server(|_| {}).await;
    let key = || ("x-api-key", ADMIN.to_string());
    for (user, text) in [("alice", "alice likes tea"), ("bob", "bob likes coffee")] {
        let a = with_header(
            &app,
            "POST",
            "/memories",
            key(),
            Some(json!({"messages": [{"role": "user", "content": text}], "user_id": user, "agent_id": "helper"})),
        )
        .await;
        ok(&a);
    }
    let alice = with_header(&app, "GET", "/memories?user_id=alice", key(), None).await;
    ok(&alice);
    assert_eq!(texts(&alice.body["results"]), ["alice likes tea"]);
    assert_eq!(alice.body["results"][0]["agent_id"], "helper");
    let id = alice.body["results"][0]["id"].as_str().unwrap().to_string();
    let found = with_header(
        &app,
        "POST",
        "/search",
        key(),
        Some(json!({"query": "what drink", "user_id": "bob"})),
    )
    .await;
    ok(&found);
    assert_eq!(texts(&found.body["results"]), ["bob likes coffee"]);
    ok(&with_header(
        &app,
        "PUT",
        &format!("/memories/{id}"),
        key(),
        Some(json!({"text": "alice likes green tea"})),
    )
    .await);
    let history = with_header(&app, "GET", &format!("/memories/{id}/history"), key(), None).await;
    assert_eq!(
        history.body.as_array().unwrap().len(),
        2,
        "{}",
        history.text
    );
    let no_one = with_header(&app, "DELETE", "/memories", key(), None).await;
    assert_eq!(no_one.status, StatusCode::BAD_REQUEST, "{}", no_one.text);
    let reset = with_header(&app, "POST", "/reset", key(), None).await;
    ok(&reset);
    assert_eq!(reset.body["deleted"], 2, "{}", reset.text);
    let after = with_header(&app, "GET", "/memories?agent_id=helper", key(), None).await;
    assert_eq!(after.body["results"], json!([]), "{}", after.text);
}

/// Mem0 searches reuse their folder listings for a second; what this server writes through any
/// route must still be found by the very next search.
#[tokio::test]
async fn a_write_through_another_route_is_found_by_the_next_mem0_search() {
    let (_dir, app) = server(|_| {}).await;
    let search = json!({"query": "which office", "filters": {"user_id": "dave"}});
    // lists (and caches) the entity folders while dave has no memories
    let before = with_header(
        &app,
        "POST",
        "/v3/memories/search/",
        token(ADMIN),
        Some(search.clone()),
    )
    .await;
    ok(&before);
    assert_eq!(texts(&before.body["results"]), Vec::<String>::new());
    let written = call(
        &app,
        "POST",
        "/v1/memory/records",
        Some(ADMIN),
        Some(json!({"namespace": "mem0/-/dave/planner/-",
                    "drafts": [{"kind": "fact", "content": "Dave works from the Denver office"}]})),
    )
    .await;
    ok(&written);
    let after = with_header(
        &app,
        "POST",
        "/v3/memories/search/",
        token(ADMIN),
        Some(search),
    )
    .await;
    ok(&after);
    assert_eq!(
        texts(&after.body["results"]),
        vec!["Dave works from the Denver office".to_string()]
    );
    assert_eq!(
        after.body["results"][0]["agent_id"], "planner",
        "{}",
        after.text
    );
}
