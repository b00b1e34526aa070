//! Reclaiming space over HTTP: `POST /v1/gc` (every dataset and corpus),
//! `POST /v1/datasets/{name}/vacuum` and `POST /v1/corpora/{name}/gc`, the same library calls
//! as `lakehouse gc`, `lakehouse dataset vacuum` and `lakehouse corpus gc`. They delete, so they
//! need the admin scope; `/v1/gc` touches every name, so a token limited to prefixes cannot run it.

use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use lakehouse::GcReport;
use lakehouse::table::Vacuum;
use lakehouse::vectord::{CorpusGc, DEFAULT_RETAIN};
use serde::Deserialize;

use crate::auth::Scope;
use crate::error::ApiError;
use crate::extract::{Caller, Params, PathParams};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/gc", post(gc))
        .route("/v1/datasets/{name}/vacuum", post(vacuum))
        .route("/v1/corpora/{name}/gc", post(corpus_gc))
}

/// The retention window and the dry-run switch.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct GcQuery {
    /// Keep every version current within this many seconds before now (default 604800, 7 days).
    retain_seconds: Option<u64>,
    /// Only report what would be removed.
    #[serde(default)]
    dry_run: bool,
}

impl GcQuery {
    fn retain(&self) -> Duration {
        self.retain_seconds
            .map_or(DEFAULT_RETAIN, Duration::from_secs)
    }
}

#[utoipa::path(post, path = "/v1/gc", tag = "operations", params(GcQuery),
    description = "Vacuum every dataset and collect every corpus (admin scope, a token without \
        prefixes): delete what no version current within the retention window reads. Answers \
        per dataset and corpus what was (or, with `dry_run`, would be) removed, and the totals.",
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn gc(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<GcQuery>,
) -> Result<Json<GcReport>, ApiError> {
    caller.require(Scope::Admin, &[])?;
    if !caller.prefixes.is_empty() {
        return Err(ApiError::forbidden(format!(
            "token {:?} is limited to name prefixes; /v1/gc touches every dataset and corpus \
             (use /v1/datasets/{{name}}/vacuum and /v1/corpora/{{name}}/gc)",
            caller.name
        )));
    }
    Ok(Json(
        state.lakehouse().gc(query.retain(), query.dry_run).await?,
    ))
}

#[utoipa::path(post, path = "/v1/datasets/{name}/vacuum", tag = "datasets",
    params(("name" = String, Path, description = "The dataset"), GcQuery),
    description = "Delete the dataset's files that no version current within the retention \
        window reads (admin scope). Older versions can no longer be read.",
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn vacuum(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Params(query): Params<GcQuery>,
) -> Result<Json<Vacuum>, ApiError> {
    caller.require(Scope::Admin, &[&name])?;
    let tables = state.lakehouse().tables();
    Ok(Json(
        tables.vacuum(&name, query.retain(), query.dry_run).await?,
    ))
}

#[utoipa::path(post, path = "/v1/corpora/{name}/gc", tag = "corpora",
    params(("name" = String, Path, description = "The corpus"), GcQuery),
    description = "Delete the corpus's manifests superseded before the retention window and the \
        segment files no remaining version names (admin scope).",
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn corpus_gc(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Params(query): Params<GcQuery>,
) -> Result<Json<CorpusGc>, ApiError> {
    caller.require(Scope::Admin, &[&name])?;
    let corpora = state.lakehouse().corpora();
    Ok(Json(
        corpora.gc(&name, query.retain(), query.dry_run).await?,
    ))
}
