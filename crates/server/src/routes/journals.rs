//! Journals under `journals/<name>`: append (acknowledged once durable), read since a cursor,
//! tail over SSE, stats, compaction. This process is one writer of each journal it appends to.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use lakehouse::store::journal::{CompactStats, Cursor, Event, Journal, JournalStats};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::auth::Scope;
use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, PathParams};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/journals/{name}/events", post(append).get(read))
        .route("/v1/journals/{name}/tail", get(tail))
        .route("/v1/journals/{name}/stats", get(stats))
        .route("/v1/journals/{name}/compact", post(compact))
}

/// Most events one append may carry.
const MAX_APPEND: usize = 10_000;
/// Most events one read returns (the cursor continues from there).
const MAX_READ: usize = 10_000;

/// A journal's name: 1-64 of `a-z 0-9 _ -`, so it is one safe path segment.
fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = name.len() <= 64
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_input(format!(
            "invalid journal name {name:?}: use 1-64 lowercase letters, digits, `_` or `-`, \
             starting with a letter or digit"
        )))
    }
}

/// Events to append.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppendBody {
    /// JSON values, appended in order.
    #[schema(value_type = Vec<Object>)]
    events: Vec<Box<RawValue>>,
}

/// What an append made durable.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Appended {
    /// The events' ids, in order.
    ids: Vec<String>,
}

#[utoipa::path(post, path = "/v1/journals/{name}/events", tag = "journals",
    params(("name" = String, Path, description = "The journal (under journals/)")),
    request_body = AppendBody,
    description = "Append events; the answer comes once they are durable in the store, so an \
        acknowledged event survives a crash of the server.",
    responses((status = 200, body = Appended), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn append(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Body(body): Body<AppendBody>,
) -> Result<Json<Appended>, ApiError> {
    check_name(&name)?;
    caller.require(Scope::Write, &[&name])?;
    if body.events.is_empty() || body.events.len() > MAX_APPEND {
        return Err(ApiError::bad_input(format!(
            "events holds {}; append 1 to {MAX_APPEND} at a time",
            body.events.len()
        )));
    }
    let journal = state.journal(&name).await?;
    let mut ids = Vec::with_capacity(body.events.len());
    for event in &body.events {
        ids.push(journal.append(event).await?.to_string());
    }
    journal.flush().await?;
    Ok(Json(Appended { ids }))
}

/// Where to read from.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadQuery {
    /// A cursor from an earlier read (default: the start).
    since: Option<String>,
    /// At most N events (default and cap 10000).
    limit: Option<usize>,
}

/// One event as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EventOut {
    /// `<writer>-<seq>`.
    id: String,
    /// When it was appended, microseconds since the epoch.
    ts: i64,
    /// When its batch was flushed, microseconds since the epoch.
    batch_ts: Option<i64>,
    /// The payload as appended.
    #[schema(value_type = Object)]
    data: Box<RawValue>,
}

impl From<Event> for EventOut {
    fn from(e: Event) -> EventOut {
        EventOut {
            id: e.id.to_string(),
            ts: e.ts.as_micros(),
            batch_ts: e.batch_ts.map(|t| t.as_micros()),
            data: e.data,
        }
    }
}

/// Events and where to continue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EventsOut {
    /// Events, each writer's in order.
    events: Vec<EventOut>,
    /// Pass as `since` to read what comes after.
    cursor: String,
}

fn cursor(since: Option<&str>) -> Result<Cursor, ApiError> {
    Ok(match since {
        Some(text) => text.parse::<Cursor>()?,
        None => Cursor::start(),
    })
}

#[utoipa::path(get, path = "/v1/journals/{name}/events", tag = "journals",
    params(("name" = String, Path, description = "The journal"), ReadQuery),
    responses((status = 200, body = EventsOut)))]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Params(q): Params<ReadQuery>,
) -> Result<Json<EventsOut>, ApiError> {
    check_name(&name)?;
    caller.require(Scope::Read, &[&name])?;
    let limit = q.limit.unwrap_or(MAX_READ).min(MAX_READ);
    let journal = state.journal(&name).await?;
    let mut stream = journal.read_since(cursor(q.since.as_deref())?);
    let mut events = Vec::new();
    while events.len() < limit {
        match stream.next().await {
            Some(event) => events.push(EventOut::from(event?)),
            None => break,
        }
    }
    Ok(Json(EventsOut {
        events,
        cursor: stream.cursor().to_string(),
    }))
}

#[utoipa::path(get, path = "/v1/journals/{name}/tail", tag = "journals",
    params(("name" = String, Path, description = "The journal"), ReadQuery),
    description = "Server-sent events: every event from `since` on (`event` messages with the \
        event as JSON), then new ones as they are flushed, polled every half second; a `cursor` \
        message after each batch says where a reconnect should resume.",
    responses((status = 200, content_type = "text/event-stream", description = "The stream")))]
pub(crate) async fn tail(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Params(q): Params<ReadQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    check_name(&name)?;
    caller.require(Scope::Read, &[&name])?;
    let journal = state.journal(&name).await?;
    let start = cursor(q.since.as_deref())?;
    let stream = futures::stream::unfold(
        (journal, start, true),
        |(journal, cursor, first)| async move {
            if !first {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let mut reader = journal.read_since(cursor.clone());
            let mut out = Vec::new();
            while let Some(item) = reader.next().await {
                match item {
                    Ok(event) => {
                        let shown = EventOut::from(event);
                        out.push(Ok(SseEvent::default()
                            .event("event")
                            .json_data(&shown)
                            .unwrap_or_else(|_| {
                                SseEvent::default().event("event").data("{}")
                            })));
                    }
                    Err(e) => {
                        out.push(Ok(SseEvent::default().event("error").data(e.to_string())));
                        break;
                    }
                }
            }
            let next = reader.cursor().clone();
            if !out.is_empty() {
                out.push(Ok(SseEvent::default()
                    .event("cursor")
                    .data(next.to_string())));
            }
            Some((futures::stream::iter(out), (journal, next, false)))
        },
    )
    .flatten();
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[utoipa::path(get, path = "/v1/journals/{name}/stats", tag = "journals",
    params(("name" = String, Path, description = "The journal")),
    responses((status = 200, description = "Counts, writers, leftovers, gaps", body = Object)))]
pub(crate) async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
) -> Result<Json<JournalStats>, ApiError> {
    check_name(&name)?;
    caller.require(Scope::Read, &[&name])?;
    Ok(Json(state.journal(&name).await?.stats().await?))
}

#[utoipa::path(post, path = "/v1/journals/{name}/compact", tag = "journals",
    params(("name" = String, Path, description = "The journal")),
    responses((status = 200, description = "What was merged", body = Object)))]
pub(crate) async fn compact(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
) -> Result<Json<CompactStats>, ApiError> {
    check_name(&name)?;
    caller.require(Scope::Write, &[&name])?;
    Ok(Json(state.journal(&name).await?.compact().await?))
}
