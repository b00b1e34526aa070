//! The router: every route, its middleware, and the operational endpoints (`/healthz`,
//! `/readyz`, `/metrics`, `/v1/openapi.json`, `/docs`), and where the console (`/`), the Mem0
//! dialects and MCP (`/mcp`) are mounted.

pub(crate) mod agent;
pub(crate) mod corpora;
pub(crate) mod datasets;
pub(crate) mod gc;
pub(crate) mod jobs;
pub(crate) mod journals;
pub(crate) mod memory;
pub(crate) mod overview;
pub(crate) mod reports;
pub(crate) mod search;
pub(crate) mod sql;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::error::ApiError;
use crate::middleware;
use crate::state::AppState;

/// The whole HTTP API over `state`.
pub fn app(state: AppState) -> Router {
    let limits = &state.config().limits;
    let api = Router::new()
        .merge(sql::routes())
        .merge(search::routes())
        .merge(datasets::routes())
        .merge(gc::routes())
        .merge(corpora::routes())
        .merge(memory::routes())
        .merge(journals::routes())
        .merge(jobs::routes())
        .merge(agent::routes())
        .merge(overview::routes())
        .merge(reports::routes())
        .route(
            "/console/logout",
            axum::routing::post(crate::console::logout),
        )
        .layer(from_fn_with_state(state.clone(), middleware::authenticate))
        // the Mem0 dialects authenticate on their own, to answer errors in Mem0's shape
        .merge(crate::mem0::routes(&state));
    // uploads stream past the JSON cap (they have their own) and past the request timeout
    let uploads = datasets::upload_routes()
        .layer(DefaultBodyLimit::disable())
        .layer(from_fn_with_state(state.clone(), middleware::authenticate));
    // MCP sessions hold an SSE stream open and agent runs outlast the request timeout
    let mcp = Router::new()
        .nest_service("/mcp", crate::mcp::http_service(&state))
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(from_fn_with_state(state.clone(), middleware::authenticate));
    let timed = Router::new()
        .merge(api)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/docs", get(docs))
        .merge(crate::console::routes())
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(from_fn_with_state(state.clone(), middleware::timeout));
    Router::new()
        .merge(timed)
        .merge(uploads)
        .merge(mcp)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            limits.concurrency,
        ))
        .layer(from_fn_with_state(state.clone(), middleware::guard))
        .layer(from_fn_with_state(state.clone(), middleware::observe))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route (see /v1/openapi.json or /docs)")
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// Liveness.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// `ok`.
    status: &'static str,
}

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process lives", body = Health)))]
pub(crate) async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "The store answers", body = Health),
              (status = 503, description = "The store does not answer", body = crate::error::ErrorBody)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<axum::Json<Health>, ApiError> {
    state.lakehouse().store().check().await?;
    Ok(axum::Json(Health { status: "ok" }))
}

async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = state.metrics();
    metrics
        .namespaces
        .set(i64::try_from(state.open_namespaces().await).unwrap_or(i64::MAX));
    metrics
        .journals
        .set(i64::try_from(state.open_journals().await).unwrap_or(i64::MAX));
    metrics
        .jobs_running
        .set(i64::try_from(state.jobs().running()).unwrap_or(i64::MAX));
    metrics.store(state.lakehouse().store().stats());
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document_json(),
    )
        .into_response()
}

async fn docs() -> Html<String> {
    Html(crate::openapi::docs_html())
}
