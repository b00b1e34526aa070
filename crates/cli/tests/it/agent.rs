//! `lakehouse agent run` as a user runs it: the offline planner twice (the second run uses the
//! playbook the first sealed), and `--model ollama:…` / `--model openai:…` against a local
//! server speaking Ollama's NDJSON and OpenAI's SSE, which answers from the tool results it is
//! sent; a server that fails or hangs ends in a clear, archived outcome.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::{lakehouse, ok, run, sample, stderr, stdout};

const TASK: &str = "Which permits are about replacing a roof?";

/// A store with the permits sample as a dataset and a corpus (hash embedder: fast).
pub(crate) fn workspace() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    ok(
        &store,
        &[
            "dataset",
            "ingest",
            "permits",
            &sample("chicago_permits_sample.csv"),
        ],
    );
    ok(
        &store,
        &[
            "corpus",
            "build",
            "permits",
            "--from",
            "permits",
            "--text",
            "work_description",
            "--id",
            "permit",
            "--embedder",
            "hash:64",
        ],
    );
    (dir, store)
}

fn agent_run(store: &str, extra: &[&str]) -> (bool, Value, String) {
    let output = run(lakehouse(store, &[])
        .args(["--json", "agent", "run", TASK, "--embedder", "hash:64"])
        .args(extra));
    let report = serde_json::from_str(stdout(&output).trim()).unwrap_or(Value::Null);
    (output.status.success(), report, stderr(&output))
}

#[test]
fn offline_runs_seal_then_replay_a_playbook() {
    let (_dir, store) = workspace();
    let (success, cold, err) = agent_run(&store, &[]);
    assert!(success, "{err}");
    assert_eq!(cold["model"], "offline-planner");
    assert_eq!(cold["outcome"]["kind"], "accepted");
    assert_eq!(cold["sealed"]["action"], "added");
    let (success, warm, err) = agent_run(&store, &[]);
    assert!(success, "{err}");
    assert_eq!(warm["playbooks_injected"][0], cold["sealed"]["id"]);
    assert!(
        warm["steps"].as_u64() < cold["steps"].as_u64(),
        "warm {} cold {}",
        warm["steps"],
        cold["steps"]
    );
    assert_eq!(warm["sealed"]["replay_count"], 2);

    // The playbook is in memory, the session in the store.
    let playbooks = ok(
        &store,
        &["--json", "memory", "list", "-n", "agent/playbooks"],
    );
    assert!(playbooks.contains("\"kind\":\"playbook\""), "{playbooks}");
    let session = format!("sessions/{}", warm["session"].as_str().unwrap());
    let events = ok(&store, &["--json", "journal", "read", &session]);
    assert!(
        events.contains("\"event\":\"seal\"") && events.contains("\"event\":\"outcome\""),
        "{events}"
    );

    // A session replays from its archive.
    let replayed = ok(
        &store,
        &[
            "--json",
            "agent",
            "replay",
            cold["session"].as_str().unwrap(),
        ],
    );
    let replayed: Value = serde_json::from_str(replayed.trim()).unwrap();
    assert_eq!(replayed["answer"], cold["answer"]);
    assert!(replayed["sealed"].is_null());

    // Every session is a row of agent_sessions.
    let rows = ok(
        &store,
        &[
            "--json",
            "sql",
            "SELECT count(*) AS n, max(steps) AS most FROM agent_sessions",
        ],
    );
    assert!(rows.contains("\"n\":3"), "{rows}");

    // Human output says what the planner is.
    let text = ok(&store, &["agent", "run", TASK]);
    assert!(
        text.contains("offline planner (no language model"),
        "{text}"
    );
}

#[derive(Clone, Default)]
struct Fake {
    bodies: Arc<Mutex<Vec<Value>>>,
    /// 0: answer; 1: always 500; 2: hang.
    mode: Arc<Mutex<u8>>,
}

/// The first hit id in the last tool message of a request, if any.
fn first_hit(body: &Value) -> Option<String> {
    let last = body["messages"].as_array()?.last()?;
    if last["role"] != "tool" {
        return None;
    }
    let result: Value = serde_json::from_str(last["content"].as_str()?).ok()?;
    result["hits"][0]["id"].as_str().map(str::to_string)
}

async fn wait_or_fail(fake: &Fake, body: &Value) -> Option<(StatusCode, String)> {
    fake.bodies.lock().unwrap().push(body.clone());
    let mode = *fake.mode.lock().unwrap();
    match mode {
        1 => Some((
            StatusCode::INTERNAL_SERVER_ERROR,
            "{\"error\":\"boom\"}".into(),
        )),
        2 => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            None
        }
        _ => None,
    }
}

async fn ollama(State(fake): State<Fake>, Json(body): Json<Value>) -> (StatusCode, String) {
    if let Some(fail) = wait_or_fail(&fake, &body).await {
        return fail;
    }
    if body["format"] == "json" {
        // `lakehouse analyze`: a JSON answer fitting examples/analyze_contracts.yaml.
        let prompt = body["messages"][1]["content"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        let category = if prompt.contains("repair") || prompt.contains("maintenance") {
            "maintenance"
        } else {
            "other"
        };
        let answer = json!({"category": category, "public_works": prompt.contains("street"), "confidence": 0.7});
        let line = json!({"model": "qwen3", "message": {"role": "assistant", "content": answer.to_string()},
            "done": true, "done_reason": "stop", "prompt_eval_count": 50, "eval_count": 10});
        return (StatusCode::OK, format!("{line}\n"));
    }
    let message = match first_hit(&body) {
        None => json!({"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "search", "arguments": {"query": "roof replacement", "corpora": ["permits"]}}}]}),
        Some(id) => json!({"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "final_answer", "arguments": {"answer": format!("Permit {id} replaces a roof."), "citations": [id]}}}]}),
    };
    let lines = [
        json!({"model": "qwen3", "message": message, "done": false}),
        json!({"model": "qwen3", "message": {"role": "assistant", "content": ""}, "done": true,
            "done_reason": "stop", "prompt_eval_count": 300, "eval_count": 20}),
    ];
    (
        StatusCode::OK,
        lines.iter().map(|l| format!("{l}\n")).collect(),
    )
}

async fn openai(State(fake): State<Fake>, Json(body): Json<Value>) -> (StatusCode, String) {
    if let Some(fail) = wait_or_fail(&fake, &body).await {
        return fail;
    }
    let (name, args) = match first_hit(&body) {
        None => ("search", json!({"query": "roof replacement"})),
        Some(id) => (
            "final_answer",
            json!({"answer": format!("{id} is a roof job."), "citations": [id]}),
        ),
    };
    let args = args.to_string();
    let (head, tail) = args.split_at(args.len() / 2);
    let events = [
        json!({"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": name, "arguments": head}}]}}]}),
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": tail}}]}}]}),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        json!({"choices": [], "usage": {"prompt_tokens": 250, "completion_tokens": 15, "total_tokens": 265}}),
    ];
    let mut out: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    out.push_str("data: [DONE]\n\n");
    (StatusCode::OK, out)
}

/// Serve the fake on a thread of its own; its base URL.
fn serve(fake: Fake) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = Router::new()
                .route("/api/chat", post(ollama))
                .route("/v1/chat/completions", post(openai))
                .with_state(fake);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

#[test]
fn ollama_and_openai_models_over_http() {
    let (_dir, store) = workspace();
    let fake = Fake::default();
    let base = serve(fake.clone());

    let (success, report, err) = agent_run(&store, &["--model", &format!("ollama:qwen3@{base}")]);
    assert!(success, "{err}");
    assert_eq!(report["model"], "ollama:qwen3");
    assert_eq!(report["outcome"]["kind"], "accepted");
    assert_eq!(report["usage"]["prompt_tokens"], 600);
    let bodies = fake.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0]["options"]["num_ctx"].as_u64().unwrap() >= 8192);
    assert!(bodies[0].get("format").is_none());
    assert_eq!(
        bodies[1]["messages"].as_array().unwrap().last().unwrap()["tool_name"],
        "search"
    );

    fake.bodies.lock().unwrap().clear();
    let (success, report, err) = agent_run(
        &store,
        &[
            "--model",
            &format!("openai:gpt-test@{base}/v1"),
            "--no-seal",
        ],
    );
    assert!(success, "{err}");
    assert_eq!(report["model"], "openai:gpt-test");
    assert_eq!(report["usage"]["completion_tokens"], 30);
    assert!(report["sealed"].is_null(), "--no-seal");
    let bodies = fake.bodies.lock().unwrap().clone();
    assert_eq!(
        bodies[1]["messages"].as_array().unwrap().last().unwrap()["tool_call_id"],
        "call_1"
    );
}

#[test]
fn a_failing_or_hanging_server_ends_in_an_archived_outcome() {
    let (_dir, store) = workspace();
    let fake = Fake::default();
    let base = serve(fake.clone());

    *fake.mode.lock().unwrap() = 1;
    let (success, report, err) = agent_run(&store, &["--model", &format!("ollama:qwen3@{base}")]);
    assert!(!success);
    assert_eq!(report["outcome"]["kind"], "model_failed");
    assert!(
        err.contains("no accepted answer: the model failed"),
        "{err}"
    );
    let session = format!("sessions/{}", report["session"].as_str().unwrap());
    let events = ok(&store, &["--json", "journal", "read", &session]);
    assert!(events.contains("500"), "the error is archived: {events}");

    *fake.mode.lock().unwrap() = 2;
    let started = Instant::now();
    let (success, report, err) = agent_run(
        &store,
        &[
            "--model",
            &format!("openai:slow@{base}/v1"),
            "--max-seconds",
            "2",
        ],
    );
    assert!(!success);
    assert_eq!(report["outcome"]["kind"], "budget_exhausted", "{report}");
    assert_eq!(report["outcome"]["budget"], "wall time");
    assert!(err.contains("the wall time budget ran out"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the wall-time budget bounds a hanging server"
    );
}

#[test]
fn demo_then_eval_on_the_shipped_task_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let out = ok(&store, &["demo"]);
    for expected in [
        "permits",
        "version 1",
        "== 3.",
        "upsert   Updated",
        "replay_count 2",
        "revise",
        "finds the tip m3: yes",
        "0 live record(s) of that chain",
        "retire",
        "history",
        "run 1: no playbook yet",
        "run 2: playbook",
        "sealed as playbook",
        "Try next",
    ] {
        assert!(
            out.contains(expected),
            "{expected:?} in demo output:\n{out}"
        );
    }
    // Safe to run again.
    let again = ok(&store, &["demo"]);
    assert!(again.contains("run 2: playbook"), "{again}");

    let tasks = format!(
        "{}/../../examples/tasks.yaml",
        lakehouse_testkit::crate_dir().display()
    );
    let results = dir.path().join("eval");
    let summary = ok(
        &store,
        &[
            "--json",
            "agent",
            "eval",
            "--tasks",
            &tasks,
            "--iterations",
            "2",
            "--cold",
            "--out",
            &results.display().to_string(),
        ],
    );
    let summary: Value = serde_json::from_str(summary.trim()).unwrap();
    let report_dir = std::path::PathBuf::from(summary["report"].as_str().unwrap());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("report.json")).unwrap())
            .unwrap();
    assert!(report_dir.join("report.md").exists());
    let warm = &report["warm"]["summary"];
    let cold = &report["cold"]["summary"];
    assert_eq!(
        warm["pass_at_1"], 1.0,
        "every shipped task passes: {}",
        report["warm"]["runs"]
    );
    assert_eq!(cold["pass_hat_k"], 1.0);
    let steps = |s: &Value, i: usize| s["per_iteration"][i]["mean_steps"].as_f64().unwrap();
    assert!(
        steps(warm, 1) < steps(cold, 1),
        "warm iteration 2 uses fewer steps: {} vs {}",
        steps(warm, 1),
        steps(cold, 1)
    );
    assert_eq!(warm["per_iteration"][1]["playbook_hits"], 6);
    assert_eq!(cold["playbook_hits"], 0);

    let err = run(lakehouse(&store, &[]).args(["agent", "eval", "--tasks", "/nonexistent.yaml"]));
    assert!(!err.status.success());
    assert!(
        stderr(&err).contains("/nonexistent.yaml"),
        "{}",
        stderr(&err)
    );
}
