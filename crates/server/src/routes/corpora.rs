//! Corpora: list, describe, history, drop, and the long operations — build from a dataset,
//! tune, compact — as jobs.

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use lakehouse::vectord::{AnnParams, BuildOptions, Manifest, Quantization, RowSpec, TuneOptions};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Scope;
use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, PathParams};
use crate::routes::jobs::{JobQuery, answer_job};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/corpora", get(list))
        .route("/v1/corpora/{name}", get(describe).delete(drop_corpus))
        .route("/v1/corpora/{name}/history", get(history))
        .route("/v1/corpora/{name}/build", post(build))
        .route("/v1/corpora/{name}/tune", post(tune))
        .route("/v1/corpora/{name}/compact", post(compact))
}

#[utoipa::path(get, path = "/v1/corpora", tag = "corpora",
    description = "The current manifest of every corpus the caller may see: version, embedder, \
        ANN parameters, segments, documents, source dataset.",
    responses((status = 200, body = Vec<Object>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Manifest>>, ApiError> {
    caller.require(Scope::Read, &[])?;
    let corpora = state.lakehouse().corpora();
    let mut out = Vec::new();
    for name in corpora.names().await? {
        if caller.may_touch(&name) {
            out.push(corpora.manifest(&name).await?);
        }
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/v1/corpora/{name}", tag = "corpora",
    params(("name" = String, Path, description = "The corpus")),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn describe(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
) -> Result<Json<Manifest>, ApiError> {
    caller.require(Scope::Read, &[&name])?;
    Ok(Json(state.lakehouse().corpora().manifest(&name).await?))
}

#[utoipa::path(get, path = "/v1/corpora/{name}/history", tag = "corpora",
    params(("name" = String, Path, description = "The corpus")),
    responses((status = 200, description = "Every manifest version, oldest first", body = Vec<Object>)))]
pub(crate) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
) -> Result<Json<Vec<Manifest>>, ApiError> {
    caller.require(Scope::Read, &[&name])?;
    Ok(Json(state.lakehouse().corpora().history(&name).await?))
}

#[utoipa::path(delete, path = "/v1/corpora/{name}", tag = "corpora",
    params(("name" = String, Path, description = "The corpus")),
    description = "Delete a corpus: its manifests and segments (admin scope).",
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn drop_corpus(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Scope::Admin, &[&name])?;
    let deleted = state.lakehouse().corpora().drop_corpus(&name).await?;
    Ok(Json(json!({"corpus": name, "deleted_objects": deleted})))
}

fn default_true() -> bool {
    true
}

/// What to build a corpus from.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BuildBody {
    /// The dataset whose rows become documents.
    dataset: String,
    /// The id column (or a template like `{permit}-{line}`).
    id: String,
    /// The text to index: a column, or a template like `{work_type}: {description}`.
    text: String,
    /// Columns kept as metadata (filterable).
    #[serde(default)]
    meta: Vec<String>,
    /// The embedder of a new corpus: `minilm`, `hash:DIM`, `ollama:MODEL`, `openai:MODEL`.
    embedder: Option<String>,
    /// HNSW links per node (a new corpus).
    m: Option<usize>,
    /// HNSW build beam (a new corpus).
    ef_construction: Option<usize>,
    /// `sq8` (default) or `f32` (a new corpus).
    #[schema(value_type = Option<String>)]
    quantization: Option<Quantization>,
    /// Rows per committed segment (a build resumes from the last one).
    chunk_rows: Option<usize>,
    /// Remove documents whose rows are gone from the dataset (default true).
    #[serde(default = "default_true")]
    delete_missing: bool,
    /// Wait for the job to end.
    #[serde(default)]
    wait: bool,
}

#[utoipa::path(post, path = "/v1/corpora/{name}/build", tag = "corpora",
    params(("name" = String, Path, description = "The corpus to build or bring up to date")),
    request_body = BuildBody,
    description = "Build a corpus from a dataset, or bring it up to date with it (only new and \
        changed rows are embedded), as a job with progress per phase.",
    responses((status = 202, body = crate::jobs::JobStatus), (status = 200, body = crate::jobs::JobStatus)))]
pub(crate) async fn build(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Body(body): Body<BuildBody>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write, &[&name, &body.dataset])?;
    lakehouse::vectord::validate_name(&name)?;
    // refused now, not as a failed job later
    lakehouse::table::check_dataset_name(&body.dataset)?;
    let defaults = AnnParams::default();
    let options = BuildOptions {
        embedder: body
            .embedder
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: lakehouse::models::ModelError| ApiError::from(e))?,
        params: Some(AnnParams {
            m: body.m.unwrap_or(defaults.m),
            ef_construction: body.ef_construction.unwrap_or(defaults.ef_construction),
            quantization: body.quantization.unwrap_or(defaults.quantization),
            ..defaults
        }),
        chunk_rows: body
            .chunk_rows
            .unwrap_or(BuildOptions::default().chunk_rows),
        delete_missing: body.delete_missing,
        ..BuildOptions::default()
    };
    let spec = RowSpec {
        id: body.id,
        text: body.text,
        meta: body.meta,
    };
    let lakehouse = state.lakehouse().clone();
    let dataset = body.dataset;
    let corpus = name.clone();
    let rx = state
        .jobs()
        .spawn("corpus_build", &name, move |job| async move {
            let built = lakehouse
                .build_corpus(&corpus, &dataset, &spec, options, &job)
                .await?;
            serde_json::to_value(&built).map_err(ApiError::internal)
        });
    answer_job(rx, JobQuery { wait: body.wait }).await
}

/// How to tune.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TuneBody {
    /// The recall@k to reach (default 0.95).
    target_recall: Option<f64>,
    /// k of recall@k (default 10).
    k: Option<usize>,
    /// Sample queries (default 200).
    queries: Option<usize>,
    /// Wait for the job to end.
    #[serde(default)]
    wait: bool,
}

#[utoipa::path(post, path = "/v1/corpora/{name}/tune", tag = "corpora",
    params(("name" = String, Path, description = "The corpus")), request_body = TuneBody,
    description = "Find the smallest ef_search that reaches the target recall on a sample of \
        the corpus's own vectors; every trial is journaled and the choice committed as a new \
        manifest version. A job.",
    responses((status = 202, body = crate::jobs::JobStatus)))]
pub(crate) async fn tune(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Body(body): Body<TuneBody>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write, &[&name])?;
    let defaults = TuneOptions::default();
    let options = TuneOptions {
        target_recall: body.target_recall.unwrap_or(defaults.target_recall),
        k: body.k.unwrap_or(defaults.k),
        queries: body.queries.unwrap_or(defaults.queries),
        ..defaults
    };
    let corpora = std::sync::Arc::clone(state.lakehouse().corpora());
    let corpus = name.clone();
    let rx = state
        .jobs()
        .spawn("corpus_tune", &name, move |job| async move {
            let report = corpora.tune(&corpus, &options, &job).await?;
            serde_json::to_value(&report).map_err(ApiError::internal)
        });
    answer_job(rx, JobQuery { wait: body.wait }).await
}

/// Whether to wait.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaitQuery {
    /// Wait for the job to end.
    #[serde(default)]
    wait: bool,
}

#[utoipa::path(post, path = "/v1/corpora/{name}/compact", tag = "corpora",
    params(("name" = String, Path, description = "The corpus"), WaitQuery),
    description = "Merge the corpus's segments into one without deleted documents. A job.",
    responses((status = 202, body = crate::jobs::JobStatus)))]
pub(crate) async fn compact(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Params(query): Params<WaitQuery>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write, &[&name])?;
    let corpora = std::sync::Arc::clone(state.lakehouse().corpora());
    let corpus = name.clone();
    let rx = state
        .jobs()
        .spawn("corpus_compact", &name, move |job| async move {
            let manifest = corpora.compact(&corpus, &job).await?;
            serde_json::to_value(&manifest).map_err(ApiError::internal)
        });
    answer_job(rx, JobQuery { wait: query.wait }).await
}
