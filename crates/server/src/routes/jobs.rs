//! Jobs: `GET /v1/jobs`, `GET /v1/jobs/{id}`, and `GET /v1/jobs/{id}/events`, an SSE stream
//! with one `status` event per change (the job's whole status as JSON) that ends when the job
//! does.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::Stream;
use tokio::sync::watch;

use crate::auth::Scope;
use crate::error::ApiError;
use crate::extract::{Caller, PathParams};
use crate::jobs::{JobState, JobStatus, wait};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/jobs", get(list))
        .route("/v1/jobs/{id}", get(status))
        .route("/v1/jobs/{id}/events", get(events))
}

/// Whether a request that starts a job waits for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobQuery {
    pub(crate) wait: bool,
}

/// `202` with the job's status now; or, waiting, `200` with its final status — or the error it
/// failed with, as the same request without a job would have answered.
pub(crate) async fn answer_job(
    rx: watch::Receiver<JobStatus>,
    query: JobQuery,
) -> Result<Response, ApiError> {
    if !query.wait {
        let now = rx.borrow().clone();
        return Ok((StatusCode::ACCEPTED, Json(now)).into_response());
    }
    Ok(Json(finish(rx).await?).into_response())
}

/// Wait for the job behind `rx` to end: its final status, or the error it failed with.
pub(crate) async fn finish(rx: watch::Receiver<JobStatus>) -> Result<JobStatus, ApiError> {
    let done = wait(rx).await;
    match (&done.state, &done.error) {
        (JobState::Failed, Some(info)) => Err(ApiError::from_info(info)),
        _ => Ok(done),
    }
}

#[utoipa::path(get, path = "/v1/jobs", tag = "jobs",
    responses((status = 200, description = "Every job of this process, oldest first", body = Vec<JobStatus>)))]
pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Json<Vec<JobStatus>> {
    Json(
        state
            .jobs()
            .list()
            .into_iter()
            .filter(|j| caller.may_touch(&j.target))
            .collect(),
    )
}

pub(crate) fn job(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<watch::Receiver<JobStatus>, ApiError> {
    let rx = state
        .jobs()
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no job {id:?} in this server process")))?;
    let target = rx.borrow().target.clone();
    caller.require(Scope::Read, &[&target])?;
    Ok(rx)
}

#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job")),
    responses((status = 200, body = JobStatus), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn status(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<JobStatus>, ApiError> {
    let rx = job(&state, &caller, &id)?;
    let now = rx.borrow().clone();
    Ok(Json(now))
}

#[utoipa::path(get, path = "/v1/jobs/{id}/events", tag = "jobs",
    params(("id" = String, Path, description = "The job")),
    description = "Server-sent events: `status` with the job's status at every change, the last \
        one when it ends (state `succeeded` or `failed`), then the stream closes.",
    responses((status = 200, content_type = "text/event-stream", description = "The stream")))]
pub(crate) async fn events(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let rx = job(&state, &caller, &id)?;
    let stream = futures::stream::unfold((rx, false), |(mut rx, ended)| async move {
        if ended {
            return None;
        }
        let now = rx.borrow_and_update().clone();
        let ended = now.state != JobState::Running;
        let event = Event::default()
            .event("status")
            .json_data(&now)
            .unwrap_or_else(|_| Event::default().event("status").data("{}"));
        if !ended {
            // the next change (or the sender gone, which ends the stream after this event)
            let _ = tokio::time::timeout(Duration::from_secs(1), rx.changed()).await;
        }
        Some((Ok(event), (rx, ended)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
