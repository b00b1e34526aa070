//! Agent runs and sessions: start a run as a job (`POST /v1/agent/runs`), stream its session
//! events as they happen (`GET /v1/agent/runs/{job}/events`, SSE), list sessions (rows
//! of the `agent_sessions` dataset), read one session's archived events (its journal
//! `sessions/<id>`), and replay a session with its archived answers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use lakehouse::agent::{Agent, AgentOptions, Observer, SESSIONS_TABLE, open_model};
use lakehouse::store::journal::{Cursor, Journal, JournalOptions};
use lakehouse::table::SqlOptions;
use serde::Deserialize;
use tokio::sync::watch;

use crate::auth::Scope;
use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, PathParams};
use crate::jobs::JobStatus;
use crate::routes::jobs::{JobQuery, answer_job};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/agent/runs", post(start_run))
        .route("/v1/agent/runs/{id}/events", get(run_events))
        .route("/v1/sessions", get(list_sessions))
        .route("/v1/sessions/{id}", get(session_events))
        .route("/v1/sessions/{id}/replay", post(replay))
}

fn default_model() -> String {
    "offline".into()
}
fn default_reviewer() -> String {
    "heuristic".into()
}
fn default_playbooks() -> String {
    "agent/playbooks".into()
}

/// A run to start.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunBody {
    /// The task, in words.
    task: String,
    /// `offline` (default: the rule-based planner), `ollama:MODEL[@URL]`, `openai:MODEL[@URL]`.
    #[serde(default = "default_model")]
    model: String,
    /// `heuristic` (default) or a model spec for the LLM reviewer.
    #[serde(default = "default_reviewer")]
    reviewer: String,
    /// The playbook namespace (default `agent/playbooks`).
    #[serde(default = "default_playbooks")]
    namespace: String,
    /// Step budget.
    max_steps: Option<usize>,
    /// Wall-time budget in seconds.
    max_seconds: Option<u64>,
    /// Token budget.
    max_tokens: Option<u64>,
    /// Seal an accepted run as a playbook (default true).
    seal: Option<bool>,
    /// Wait for the run to end.
    #[serde(default)]
    wait: bool,
}

#[utoipa::path(post, path = "/v1/agent/runs", tag = "agent", request_body = RunBody,
    description = "Run a task through the agent loop (tools over the datasets, corpora and \
        playbook memory; the observer reviews the answer; accepted runs are sealed) as a job. \
        The result is the run's report, with its session id; the session's events are at \
        /v1/sessions/{id}.",
    responses((status = 202, body = crate::jobs::JobStatus), (status = 200, body = crate::jobs::JobStatus)))]
pub(crate) async fn start_run(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<RunBody>,
) -> Result<Response, ApiError> {
    let wait = body.wait;
    answer_job(spawn_run(&state, &caller, body)?, JobQuery { wait }).await
}

/// Start the run `body` asks for as a job (what `POST /v1/agent/runs` and the MCP tool
/// `agent_run` do); its status channel.
pub(crate) fn spawn_run(
    state: &AppState,
    caller: &Caller,
    body: RunBody,
) -> Result<watch::Receiver<JobStatus>, ApiError> {
    caller.require(Scope::Write, &[&body.namespace])?;
    // refused now, not as a failed job later
    lakehouse::memory::validate_namespace(&body.namespace)?;
    if body.task.trim().is_empty() {
        return Err(ApiError::bad_input("the task is empty"));
    }
    let model = open_model(&body.model)?;
    let observer = Observer::from_spec(&body.reviewer)?;
    let (live, events) = tokio::sync::mpsc::unbounded_channel();
    let defaults = AgentOptions::default();
    let options = AgentOptions {
        max_steps: body.max_steps.unwrap_or(defaults.max_steps),
        max_wall: body
            .max_seconds
            .map_or(defaults.max_wall, Duration::from_secs),
        max_tokens: body.max_tokens.unwrap_or(defaults.max_tokens),
        seal: body.seal.unwrap_or(defaults.seal),
        live: Some(live),
        ..defaults
    };
    let lakehouse = state.lakehouse().clone();
    let embedder = state.embedder().clone();
    let namespace = body.namespace.clone();
    let task = body.task;
    let rx = state
        .jobs()
        .spawn("agent_run", &body.namespace, move |job| async move {
            job.phase("run", None);
            let workspace = lakehouse.workspace_or(&namespace, &embedder).await?;
            let store = Arc::clone(lakehouse.store().object_store());
            let agent = Agent::new(workspace, model, observer, store, options);
            let report = agent.run(&task).await?;
            serde_json::to_value(&report).map_err(ApiError::internal)
        });
    let id = rx.borrow().id.clone();
    state.watch_run(&id, events);
    Ok(rx)
}

#[utoipa::path(get, path = "/v1/agent/runs/{id}/events", tag = "agent",
    params(("id" = String, Path, description = "The run's job id, as POST /v1/agent/runs answered")),
    description = "The run's session events as they happen, over SSE: each event named by its \
        kind (start, model, tool, verdict, budget, seal, outcome, ...) with the same redacted \
        JSON the archive keeps (`GET /v1/sessions/{session}`). Connecting late replays the events \
        so far; the stream ends with the run.",
    responses((status = 200, description = "text/event-stream of session events"),
              (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn run_events(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    crate::routes::jobs::job(&state, &caller, &id)?;
    let feed = state.run_events(&id).ok_or_else(|| {
        ApiError::not_found(format!(
            "job {id:?} is not an agent run of this server, or its live events are no longer \
             kept (its session is archived: GET /v1/sessions/{{session}})"
        ))
    })?;
    let batches = futures::stream::unfold(
        (feed, 0usize, false),
        |(mut feed, sent, mut gone)| async move {
            loop {
                let (batch, ended) = {
                    let now = feed.borrow_and_update();
                    (
                        now.events.get(sent..).unwrap_or_default().to_vec(),
                        now.ended,
                    )
                };
                if !batch.is_empty() {
                    let sent = sent + batch.len();
                    return Some((batch, (feed, sent, gone)));
                }
                if ended || gone {
                    return None;
                }
                // wait for the next event; an error means the run's sender is gone, so one
                // last look and the stream ends
                gone = feed.changed().await.is_err();
            }
        },
    );
    let events = batches.flat_map(|batch| {
        futures::stream::iter(batch.into_iter().map(|event| {
            let kind = event["event"].as_str().unwrap_or("event").to_string();
            Ok(Event::default()
                .event(kind)
                .json_data(&*event)
                .unwrap_or_else(|_| Event::default().data("{}")))
        }))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Which sessions.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionsQuery {
    /// The newest N (default 100).
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/sessions", tag = "agent", params(SessionsQuery),
    description = "Agent sessions, newest first: the rows of the `agent_sessions` dataset (task, \
        model, outcome, steps, tokens, ...), as SQL rows.",
    responses((status = 200, body = Object)))]
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<SessionsQuery>,
) -> Result<Json<lakehouse::table::SqlRows>, ApiError> {
    caller.require(Scope::Read, &[SESSIONS_TABLE])?;
    let tables = state.lakehouse().tables();
    if !tables.exists(SESSIONS_TABLE).await? {
        return Ok(Json(lakehouse::table::SqlRows {
            columns: Vec::new(),
            rows: Vec::new(),
            truncated: false,
        }));
    }
    let limit = q.limit.unwrap_or(100).min(state.config().limits.sql_rows);
    let rows = tables
        .sql_rows(
            &format!("SELECT * FROM {SESSIONS_TABLE} ORDER BY started_at DESC"),
            &SqlOptions::default(),
            limit,
        )
        .await?;
    Ok(Json(rows))
}

/// A session id: `s<digits>-<hex>`.
fn check_session(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_input(format!("invalid session id {id:?}")))
    }
}

#[utoipa::path(get, path = "/v1/sessions/{id}", tag = "agent",
    params(("id" = String, Path, description = "The session")),
    description = "Every archived event of a session in order (start, model requests and \
        responses, tool calls, verdicts, budgets, seal, outcome), secrets redacted.",
    responses((status = 200, description = "The events' payloads", body = Vec<Object>),
              (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn session_events(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<Vec<Box<serde_json::value::RawValue>>>, ApiError> {
    caller.require(Scope::Read, &[SESSIONS_TABLE])?;
    check_session(&id)?;
    let journal = state
        .lakehouse()
        .journal(&format!("sessions/{id}"), JournalOptions::default())?;
    let mut stream = journal.read_since(Cursor::start());
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event?.data);
    }
    if events.is_empty() {
        return Err(ApiError::not_found(format!("no session {id:?}")));
    }
    Ok(Json(events))
}

/// How to replay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplayBody {
    /// `heuristic` (default) or a model spec for the LLM reviewer.
    #[serde(default = "default_reviewer")]
    reviewer: String,
    /// The playbook namespace (default `agent/playbooks`).
    #[serde(default = "default_playbooks")]
    namespace: String,
    /// Wait for the replay to end.
    #[serde(default)]
    wait: bool,
}

#[utoipa::path(post, path = "/v1/sessions/{id}/replay", tag = "agent",
    params(("id" = String, Path, description = "The session")), request_body = ReplayBody,
    description = "Run the session's task again with its archived model answers (no model \
        called, nothing sealed), as a job: a changed tool or observer shows as a changed outcome.",
    responses((status = 202, body = crate::jobs::JobStatus)))]
pub(crate) async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    Body(body): Body<ReplayBody>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write, &[&body.namespace])?;
    lakehouse::memory::validate_namespace(&body.namespace)?;
    check_session(&id)?;
    let observer = Observer::from_spec(&body.reviewer)?;
    let lakehouse = state.lakehouse().clone();
    let embedder = state.embedder().clone();
    let namespace = body.namespace.clone();
    let rx = state
        .jobs()
        .spawn("agent_replay", &body.namespace, move |_job| async move {
            let store = Arc::clone(lakehouse.store().object_store());
            let replay = lakehouse::agent::replay(Arc::clone(&store), &id).await?;
            let options = AgentOptions {
                seal: false,
                preamble_playbooks: 0,
                ..AgentOptions::default()
            };
            let workspace = lakehouse.workspace_or(&namespace, &embedder).await?;
            let agent = Agent::new(workspace, Arc::new(replay.model), observer, store, options);
            let report = agent.run(&replay.task).await?;
            serde_json::to_value(&report).map_err(ApiError::internal)
        });
    answer_job(rx, JobQuery { wait: body.wait }).await
}
