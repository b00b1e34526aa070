//! Every route doing its job.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{ADMIN, PERMITS, READER, call, get, permits, put_bytes, server};

#[tokio::test]
async fn health_readiness_docs_and_metrics() {
    let (_dir, app) = server(|_| {}).await;
    for path in ["/healthz", "/readyz"] {
        let a = get(&app, path, None).await;
        assert_eq!(
            (a.status, a.body["status"].clone()),
            (StatusCode::OK, json!("ok"))
        );
    }
    let doc = get(&app, "/v1/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(
        doc.body["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc.text
    );
    for path in [
        "/v1/sql",
        "/v1/search",
        "/v1/memory/records/{id}/revise",
        "/v1/jobs/{id}/events",
    ] {
        assert!(
            doc.body["paths"][path].is_object(),
            "{path} missing from the document"
        );
    }
    assert!(doc.body["components"]["schemas"]["SqlBody"].is_object());
    let docs = get(&app, "/docs", None).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.text.contains("<code>/v1/sql</code>") && docs.text.contains("read-only"));
    get(&app, "/v1/datasets", Some(READER)).await;
    let metrics = get(&app, "/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics.text.contains(
            "lakehouse_http_requests_total{method=\"GET\",route=\"/v1/datasets\",status=\"200\"} 1"
        ),
        "{}",
        metrics.text
    );
    assert!(
        metrics
            .text
            .contains("lakehouse_http_request_duration_seconds_bucket")
    );
    assert!(metrics.text.contains("lakehouse_memory_namespaces_open"));
    assert!(
        metrics
            .text
            .contains("lakehouse_store_requests_total{op=\"list\"}"),
        "{}",
        metrics.text
    );
}

#[tokio::test]
async fn datasets_and_sql() {
    let (_dir, app) = server(|_| {}).await;
    permits(&app, "permits").await;
    let list = get(&app, "/v1/datasets", Some(READER)).await;
    assert_eq!(list.body[0]["name"], "permits");
    assert_eq!(list.body[0]["rows"], 100);
    let d = get(&app, "/v1/datasets/permits", Some(READER)).await;
    let originals: Vec<&str> = d.body["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["original_name"].as_str())
        .collect();
    assert!(originals.contains(&"PERMIT#"), "{}", d.text);
    let h = get(&app, "/v1/datasets/permits/history", Some(READER)).await;
    assert_eq!(h.body[0]["version"], 0, "{}", h.text);

    let q = call(
        &app,
        "POST",
        "/v1/sql",
        Some(READER),
        Some(json!({"query": "SELECT work_type, count(*) AS n FROM permits GROUP BY work_type ORDER BY n DESC, work_type LIMIT 3"})),
    )
    .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text);
    assert_eq!(q.body["columns"], json!(["work_type", "n"]));
    assert_eq!(q.body["rows"].as_array().unwrap().len(), 3);
    assert_eq!(q.body["truncated"], false);
    let capped = call(
        &app,
        "POST",
        "/v1/sql",
        Some(READER),
        Some(json!({"query": "SELECT * FROM permits", "max_rows": 5})),
    )
    .await;
    assert_eq!(capped.body["rows"].as_array().unwrap().len(), 5);
    assert_eq!(capped.body["truncated"], true);
    let refused = call(
        &app,
        "POST",
        "/v1/sql",
        Some(ADMIN),
        Some(json!({"query": "DROP TABLE permits"})),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.message().contains("only queries are allowed"),
        "{}",
        refused.text
    );
    let unknown = call(
        &app,
        "POST",
        "/v1/sql",
        Some(READER),
        Some(json!({"query": "SELECT * FROM nope"})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);

    // the same upload again (a client retrying) writes no rows twice; `again=true` appends it,
    // as a new version; drop removes the dataset
    let rerun = put_bytes(
        &app,
        "/v1/datasets/permits/upload?format=jsonl&wait=true",
        ADMIN,
        PERMITS,
    )
    .await;
    assert_eq!(rerun.body["state"], "succeeded", "{}", rerun.text);
    assert_eq!(rerun.body["result"]["repeated"], true, "{}", rerun.text);
    let d = get(&app, "/v1/datasets/permits", Some(READER)).await;
    assert_eq!(
        (d.body["version"].clone(), d.body["rows"].clone()),
        (json!(0), json!(100))
    );
    let again = put_bytes(
        &app,
        "/v1/datasets/permits/upload?format=jsonl&wait=true&again=true",
        ADMIN,
        PERMITS,
    )
    .await;
    assert_eq!(again.body["result"]["repeated"], false, "{}", again.text);
    let d = get(&app, "/v1/datasets/permits", Some(READER)).await;
    assert_eq!(
        (d.body["version"].clone(), d.body["rows"].clone()),
        (json!(1), json!(200))
    );
    // compaction merges the two files into one; rows and earlier versions stay
    let refused = call(
        &app,
        "POST",
        "/v1/datasets/permits/compact",
        Some(READER),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let bad = call(
        &app,
        "POST",
        "/v1/datasets/permits/compact?target_size=0",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let missing = call(&app, "POST", "/v1/datasets/nope/compact", Some(ADMIN), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    let compacted = call(
        &app,
        "POST",
        "/v1/datasets/permits/compact",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(compacted.status, StatusCode::OK, "{}", compacted.text);
    assert_eq!(
        (
            compacted.body["files_before"].clone(),
            compacted.body["files_after"].clone(),
            compacted.body["version"].clone(),
            compacted.body["checkpoint"].clone()
        ),
        (json!(2), json!(1), json!(2), json!(true)),
        "{}",
        compacted.text
    );
    let d = get(&app, "/v1/datasets/permits", Some(READER)).await;
    assert_eq!(
        (d.body["rows"].clone(), d.body["files"].clone()),
        (json!(200), json!(1))
    );
    // vacuum: the two merged files go once outside the retention; deleting needs admin
    let vacuum = "/v1/datasets/permits/vacuum?retain_seconds=0";
    let refused = call(&app, "POST", vacuum, Some(READER), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let bad = call(&app, "POST", "/v1/gc?retain_seconds=-1", Some(ADMIN), None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let kept = call(
        &app,
        "POST",
        "/v1/datasets/permits/vacuum",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(kept.body["files_removed"], 0, "{}", kept.text);
    let dry = call(
        &app,
        "POST",
        &format!("{vacuum}&dry_run=true"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(
        (
            dry.body["files_removed"].clone(),
            dry.body["dry_run"].clone()
        ),
        (json!(2), json!(true)),
        "{}",
        dry.text
    );
    let all = call(&app, "POST", "/v1/gc?retain_seconds=0", Some(ADMIN), None).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["datasets"][0]["name"], "permits", "{}", all.text);
    assert_eq!(all.body["files_removed"], 2, "{}", all.text);
    assert!(
        all.body["bytes_removed"].as_u64().unwrap() > 0,
        "{}",
        all.text
    );
    let d = get(&app, "/v1/datasets/permits", Some(READER)).await;
    assert_eq!(d.body["rows"], 200, "{}", d.text);
    let missing = call(&app, "POST", "/v1/corpora/nope/gc", Some(ADMIN), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    let dropped = call(&app, "DELETE", "/v1/datasets/permits", Some(ADMIN), None).await;
    assert_eq!(dropped.status, StatusCode::OK, "{}", dropped.text);
    let gone = get(&app, "/v1/datasets/permits", Some(READER)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sql_time_and_memory_caps() {
    let (_dir, app) = server(|c| {
        // long enough that the memory cap, not the clock, stops the second query on a busy machine
        c.limits.sql_timeout_ms = 3000;
        c.limits.sql_memory_bytes = 4 << 20;
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
    assert_eq!(slow.status, StatusCode::BAD_REQUEST, "{}", slow.text);
    assert!(
        slow.message().contains("longer than 3000 ms"),
        "{}",
        slow.text
    );
    let big = call(
        &app,
        "POST",
        "/v1/sql",
        Some(READER),
        Some(json!({"query": "SELECT v, count(*) FROM generate_series(1, 5000000) AS t(v) GROUP BY v ORDER BY 2 DESC, 1"})),
    )
    .await;
    assert_eq!(big.status, StatusCode::BAD_REQUEST, "{}", big.text);
    assert!(
        big.message().contains("Resources exhausted"),
        "{}",
        big.text
    );
    // the server still answers
    let ok = call(
        &app,
        "POST",
        "/v1/sql",
        Some(READER),
        Some(json!({"query": "SELECT 1 AS x"})),
    )
    .await;
    assert_eq!(ok.body["rows"], json!([[1]]));
}

#[tokio::test]
async fn corpora_jobs_and_matrix_search() {
    let (_dir, app) = server(|_| {}).await;
    permits(&app, "permits").await;
    let started = call(
        &app,
        "POST",
        "/v1/corpora/permits/build",
        Some(ADMIN),
        Some(
            json!({"dataset": "permits", "id": "permit", "text": "work_description",
                    "meta": ["work_type"], "embedder": "hash:64"}),
        ),
    )
    .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    let id = started.body["id"].as_str().unwrap().to_string();
    // the SSE stream ends with the final status
    let events = get(&app, &format!("/v1/jobs/{id}/events"), Some(READER)).await;
    assert_eq!(events.status, StatusCode::OK);
    let last = events
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .next_back()
        .unwrap();
    let last: Value = serde_json::from_str(last).unwrap();
    assert_eq!(last["state"], "succeeded", "{}", events.text);
    assert_eq!(last["result"]["dataset"], "permits");
    let job = get(&app, &format!("/v1/jobs/{id}"), Some(READER)).await;
    assert_eq!(job.body["state"], "succeeded");
    // the upload's ingest and the build
    let jobs = get(&app, "/v1/jobs", Some(READER)).await;
    let kinds: Vec<&str> = jobs
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ingest", "corpus_build"]);

    let list = get(&app, "/v1/corpora", Some(READER)).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1, "{}", list.text);
    let m = get(&app, "/v1/corpora/permits", Some(READER)).await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.text);
    let h = get(&app, "/v1/corpora/permits/history", Some(READER)).await;
    assert!(!h.body.as_array().unwrap().is_empty());

    let s = call(
        &app,
        "POST",
        "/v1/search",
        Some(READER),
        Some(json!({"query": "replace roof shingles", "corpora": ["permits", "missing"], "k": 5})),
    )
    .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    assert_eq!(s.body["hits"].as_array().unwrap().len(), 5);
    assert_eq!(s.body["hits"][0]["corpus"], "permits");
    assert_eq!(s.body["corpora"][0]["error"], Value::Null);
    assert!(
        s.body["corpora"][1]["error"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{}",
        s.text
    );
    let filtered = call(
        &app,
        "POST",
        "/v1/search",
        Some(READER),
        Some(
            json!({"query": "roof", "corpora": ["permits"], "mode": "bm25",
                    "filters": [["work_type", "Reroofing"]]}),
        ),
    )
    .await;
    for hit in filtered.body["hits"].as_array().unwrap() {
        assert_eq!(
            hit["metadata"]["work_type"], "Reroofing",
            "{}",
            filtered.text
        );
    }

    let tuned = call(
        &app,
        "POST",
        "/v1/corpora/permits/tune",
        Some(ADMIN),
        Some(json!({"queries": 20, "wait": true})),
    )
    .await;
    assert_eq!(tuned.status, StatusCode::OK, "{}", tuned.text);
    let compacted = call(
        &app,
        "POST",
        "/v1/corpora/permits/compact?wait=true",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(compacted.status, StatusCode::OK, "{}", compacted.text);
    // a build that fails, waited for, answers with the error it failed with
    let failed = call(
        &app,
        "POST",
        "/v1/corpora/other/build",
        Some(ADMIN),
        Some(json!({"dataset": "permits", "id": "no_such_column", "text": "work_description", "wait": true})),
    )
    .await;
    assert_eq!(failed.status, StatusCode::BAD_REQUEST, "{}", failed.text);
    let dropped = call(&app, "DELETE", "/v1/corpora/permits", Some(ADMIN), None).await;
    assert_eq!(dropped.status, StatusCode::OK, "{}", dropped.text);
}

#[tokio::test]
async fn memory_operations() {
    let (_dir, app) = server(|_| {}).await;
    let ns = "team_a/agent/user";
    let added = call(
        &app,
        "POST",
        "/v1/memory/records",
        Some(ADMIN),
        Some(json!({"namespace": ns, "drafts": [
            {"kind": "playbook", "content": "count permits by ward with SQL",
             "steps": [{"tool": "sql", "args": {"query": "SELECT ward, count(*) FROM permits GROUP BY ward"}}],
             "metadata": {"team": "a"}},
            {"kind": "pathway", "content": "find the roofing contractor of a permit"}
        ]})),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    assert_eq!(added.body[0]["action"], "added");
    let id = added.body[0]["record"]["id"].as_str().unwrap().to_string();

    // the write is visible to the next read through the server
    let hits = call(
        &app,
        "POST",
        "/v1/memory/search",
        Some(READER),
        Some(
            json!({"namespace": ns, "query": "permits per ward", "k": 5, "filters": {"team": "a"}}),
        ),
    )
    .await;
    assert_eq!(hits.status, StatusCode::OK, "{}", hits.text);
    assert_eq!(hits.body.as_array().unwrap().len(), 1);
    assert_eq!(hits.body[0]["record"]["id"], id.as_str());

    let uri = |suffix: &str| format!("/v1/memory/records/{id}{suffix}");
    let got = get(&app, &uri(&format!("?namespace={ns}")), Some(READER)).await;
    assert_eq!(
        got.body["content"], "count permits by ward with SQL",
        "{}",
        got.text
    );

    let revised = call(
        &app,
        "POST",
        &uri("/revise"),
        Some(ADMIN),
        Some(
            json!({"namespace": ns, "patch": {"content": "count permits per ward (SQL GROUP BY)"},
                    "expected_version": 1}),
        ),
    )
    .await;
    assert_eq!(revised.status, StatusCode::OK, "{}", revised.text);
    assert_eq!(revised.body["version"], 2);
    // steps and metadata are inherited
    assert_eq!(revised.body["metadata"]["team"], "a");
    assert_eq!(revised.body["steps"][0]["tool"], "sql");
    let tip = revised.body["id"].as_str().unwrap().to_string();
    let again = call(
        &app,
        "POST",
        &uri("/revise"),
        Some(ADMIN),
        Some(json!({"namespace": ns, "patch": {"content": "x"}})),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert!(again.message().contains(&tip), "{}", again.text);

    let history = get(
        &app,
        &uri(&format!("/history?namespace={ns}")),
        Some(READER),
    )
    .await;
    assert_eq!(
        history.body.as_array().unwrap().len(),
        2,
        "{}",
        history.text
    );

    let outcome = call(
        &app,
        "POST",
        &format!("/v1/memory/records/{tip}/outcome"),
        Some(ADMIN),
        Some(json!({"namespace": ns, "success": true, "session": "s-1"})),
    )
    .await;
    assert_eq!(outcome.body["success_count"], 1, "{}", outcome.text);

    let retired = call(
        &app,
        "POST",
        &format!("/v1/memory/records/{tip}/retire"),
        Some(ADMIN),
        Some(json!({"namespace": ns, "reason": "superseded by the dashboard"})),
    )
    .await;
    assert_eq!(retired.status, StatusCode::OK, "{}", retired.text);
    let live = get(
        &app,
        &format!("/v1/memory/records?namespace={ns}&kind=playbook"),
        Some(READER),
    )
    .await;
    assert_eq!(live.body.as_array().unwrap().len(), 0, "{}", live.text);
    let all = get(
        &app,
        &format!("/v1/memory/records?namespace={ns}&state=all"),
        Some(READER),
    )
    .await;
    assert_eq!(all.body.as_array().unwrap().len(), 3, "{}", all.text);
    let retired_again = call(
        &app,
        "POST",
        &format!("/v1/memory/records/{tip}/retire"),
        Some(ADMIN),
        Some(json!({"namespace": ns, "reason": "again"})),
    )
    .await;
    assert_eq!(retired_again.status, StatusCode::CONFLICT);
    let missing = get(
        &app,
        &format!("/v1/memory/records/nope?namespace={ns}"),
        Some(READER),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // as of before the retirement, the playbook was live
    let t = revised.body["created_at"].as_str().unwrap();
    let then = call(
        &app,
        "POST",
        "/v1/memory/search",
        Some(READER),
        Some(json!({"namespace": ns, "query": "permits per ward", "kind": "playbook", "as_of": t})),
    )
    .await;
    assert_eq!(then.body[0]["record"]["id"], tip.as_str(), "{}", then.text);
    let snap = call(
        &app,
        "POST",
        "/v1/memory/compact",
        Some(ADMIN),
        Some(json!({"namespace": ns})),
    )
    .await;
    assert_eq!(snap.status, StatusCode::OK, "{}", snap.text);
}

#[tokio::test]
async fn journals_append_read_tail_stats_compact() {
    let (_dir, app) = server(|_| {}).await;
    let appended = call(
        &app,
        "POST",
        "/v1/journals/audit/events",
        Some(ADMIN),
        Some(json!({"events": [{"n": 1}, {"n": 2}, "three"]})),
    )
    .await;
    assert_eq!(appended.status, StatusCode::OK, "{}", appended.text);
    assert_eq!(appended.body["ids"].as_array().unwrap().len(), 3);
    let read = get(&app, "/v1/journals/audit/events?limit=2", Some(READER)).await;
    assert_eq!(
        read.body["events"].as_array().unwrap().len(),
        2,
        "{}",
        read.text
    );
    assert_eq!(read.body["events"][0]["data"], json!({"n": 1}));
    let cursor = read.body["cursor"].as_str().unwrap().to_string();
    let rest = get(
        &app,
        &format!("/v1/journals/audit/events?since={cursor}"),
        Some(READER),
    )
    .await;
    assert_eq!(
        rest.body["events"].as_array().unwrap().len(),
        1,
        "{}",
        rest.text
    );
    assert_eq!(rest.body["events"][0]["data"], "three");
    let stats = get(&app, "/v1/journals/audit/stats", Some(READER)).await;
    assert_eq!(stats.body["events"], 3, "{}", stats.text);
    let compacted = call(
        &app,
        "POST",
        "/v1/journals/audit/compact",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(compacted.status, StatusCode::OK, "{}", compacted.text);
    let bad_cursor = get(
        &app,
        "/v1/journals/audit/events?since=garbage",
        Some(READER),
    )
    .await;
    assert_eq!(
        bad_cursor.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_cursor.text
    );

    // the tail streams what is there, then keeps the connection open
    let app2 = app.clone();
    let tail = tokio::time::timeout(std::time::Duration::from_millis(1500), async move {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let request = axum::http::Request::get("/v1/journals/audit/tail")
            .header("authorization", format!("Bearer {READER}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app2.oneshot(request).await.unwrap();
        let mut body = response.into_body();
        let mut seen = String::new();
        while !seen.contains("event: cursor") {
            let frame = body.frame().await.unwrap().unwrap();
            if let Some(data) = frame.data_ref() {
                seen.push_str(&String::from_utf8_lossy(data));
            }
        }
        seen
    })
    .await
    .unwrap();
    assert_eq!(tail.matches("event: event").count(), 3, "{tail}");
}

#[tokio::test]
async fn agent_runs_sessions_and_replay() {
    let (_dir, app) = server(|_| {}).await;
    permits(&app, "permits").await;
    let built = call(
        &app,
        "POST",
        "/v1/corpora/permits/build",
        Some(ADMIN),
        Some(
            json!({"dataset": "permits", "id": "permit", "text": "work_description",
                    "embedder": "hash:64", "wait": true}),
        ),
    )
    .await;
    assert_eq!(built.status, StatusCode::OK, "{}", built.text);
    let run = call(
        &app,
        "POST",
        "/v1/agent/runs",
        Some(ADMIN),
        Some(json!({"task": "Which permits are about roof repairs?", "wait": true})),
    )
    .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.text);
    let report = &run.body["result"];
    let session = report["session"].as_str().unwrap().to_string();
    assert!(
        report["outcome"].is_object() || report["outcome"].is_string(),
        "{}",
        run.text
    );

    let events = get(&app, &format!("/v1/sessions/{session}"), Some(READER)).await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text);
    let kinds: Vec<&str> = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(
        kinds.contains(&"start") && kinds.contains(&"tool"),
        "{kinds:?}"
    );
    let sessions = get(&app, "/v1/sessions", Some(READER)).await;
    assert_eq!(
        sessions.body["rows"].as_array().unwrap().len(),
        1,
        "{}",
        sessions.text
    );

    // a run streamed as it happens: started without waiting, its events read over SSE until
    // the run ends; they are the events its archive keeps, in order
    let started = call(
        &app,
        "POST",
        "/v1/agent/runs",
        Some(ADMIN),
        Some(json!({"task": "Which permits are about new fences?"})),
    )
    .await;
    assert!(started.status.is_success(), "{}", started.text);
    let job = started.body["id"].as_str().unwrap().to_string();
    let live = get(&app, &format!("/v1/agent/runs/{job}/events"), Some(READER)).await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.text);
    let streamed: Vec<Value> = live
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let names: Vec<&str> = live
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(names.first(), Some(&"start"), "{}", live.text);
    assert_eq!(names.last(), Some(&"outcome"), "{}", live.text);
    // the stream ended with the run, so the job has its report
    let done = get(&app, &format!("/v1/jobs/{job}"), Some(READER)).await;
    assert_eq!(done.body["state"], "succeeded", "{}", done.text);
    let session = done.body["result"]["session"].as_str().unwrap().to_string();
    let archived = get(&app, &format!("/v1/sessions/{session}"), Some(READER)).await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.text);
    assert_eq!(
        &Value::Array(streamed),
        &archived.body,
        "live events = the archive"
    );
    // a late reader gets the whole run again
    let again = get(&app, &format!("/v1/agent/runs/{job}/events"), Some(READER)).await;
    assert_eq!(again.text, live.text);
    let unknown = get(&app, "/v1/agent/runs/job-999999/events", Some(READER)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);

    let replayed = call(
        &app,
        "POST",
        &format!("/v1/sessions/{session}/replay"),
        Some(ADMIN),
        Some(json!({"wait": true})),
    )
    .await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.text);
    assert_eq!(replayed.body["state"], "succeeded", "{}", replayed.text);
    let missing = get(&app, "/v1/sessions/s0-0000", Some(READER)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let bad = get(&app, "/v1/sessions/..%2Fx", Some(READER)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let empty = call(
        &app,
        "POST",
        "/v1/agent/runs",
        Some(ADMIN),
        Some(json!({"task": " "})),
    )
    .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
}
