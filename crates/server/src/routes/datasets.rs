//! Datasets: list, describe, history, compact, drop, and ingest — from a store URL, or from an upload
//! streamed to a temporary file (never held in memory whole) under its own size cap. Ingests
//! run as jobs.

use std::sync::Arc;

use axum::body::Body as RawBody;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures::StreamExt;
use lakehouse::table::{
    Compaction, DatasetInfo, Format, HistoryEntry, IngestOptions, Mode, OnError,
};
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::auth::Scope;
use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, PathParams};
use crate::routes::jobs::{JobQuery, answer_job};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/datasets", get(list))
        .route("/v1/datasets/{name}", get(describe).delete(drop_dataset))
        .route("/v1/datasets/{name}/history", get(history))
        .route("/v1/datasets/{name}/compact", post(compact))
        .route("/v1/datasets/{name}/ingest", post(ingest))
}

pub(super) fn upload_routes() -> Router<AppState> {
    Router::new().route("/v1/datasets/{name}/upload", put(upload))
}

#[utoipa::path(get, path = "/v1/datasets", tag = "datasets",
    description = "Every dataset the caller may see: name, version, rows, files, bytes, columns \
        (with the original column names).",
    responses((status = 200, description = "Datasets", body = Vec<Object>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<DatasetInfo>>, ApiError> {
    caller.require(Scope::Read, &[])?;
    let all = state.lakehouse().tables().list().await?;
    Ok(Json(
        all.into_iter()
            .filter(|d| caller.may_touch(&d.name))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/v1/datasets/{name}", tag = "datasets",
    params(("name" = String, Path, description = "The dataset")),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn describe(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
) -> Result<Json<DatasetInfo>, ApiError> {
    caller.require(Scope::Read, &[&name])?;
    Ok(Json(state.lakehouse().tables().describe(&name).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryQuery {
    /// The newest N versions only.
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/datasets/{name}/history", tag = "datasets",
    params(("name" = String, Path, description = "The dataset"), HistoryQuery),
    responses((status = 200, description = "Delta versions, newest first", body = Vec<Object>)))]
pub(crate) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Params(query): Params<HistoryQuery>,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    caller.require(Scope::Read, &[&name])?;
    Ok(Json(
        state
            .lakehouse()
            .tables()
            .history(&name, query.limit)
            .await?,
    ))
}

/// How to compact.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompactQuery {
    /// Merge files smaller than this many bytes into files of about this size (default 16 MiB).
    target_size: Option<u64>,
}

#[utoipa::path(post, path = "/v1/datasets/{name}/compact", tag = "datasets",
    params(("name" = String, Path, description = "The dataset"), CompactQuery),
    description = "Merge the dataset's small files and checkpoint its log (write scope). Rows, \
        schema and earlier versions stay as they were. Answers what was merged: `files_removed`, \
        `files_added`, `files_before`, `files_after`, `version`, `checkpoint`.",
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn compact(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Params(query): Params<CompactQuery>,
) -> Result<Json<Compaction>, ApiError> {
    caller.require(Scope::Write, &[&name])?;
    let tables = state.lakehouse().tables();
    Ok(Json(tables.compact(&name, query.target_size).await?))
}

#[utoipa::path(delete, path = "/v1/datasets/{name}", tag = "datasets",
    params(("name" = String, Path, description = "The dataset")),
    description = "Delete a dataset and its rejects table (admin scope).",
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn drop_dataset(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Scope::Admin, &[&name])?;
    let deleted = state.lakehouse().tables().drop_dataset(&name).await?;
    Ok(Json(json!({"dataset": name, "deleted_objects": deleted})))
}

/// How to read the input of an ingest.
#[derive(Debug, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct IngestSettings {
    /// `csv`, `json`, `jsonl`, `parquet` or `text`; by default from the file name.
    #[schema(value_type = Option<String>)]
    #[param(value_type = Option<String>)]
    format: Option<Format>,
    /// `append` (default) or `overwrite`.
    #[schema(value_type = Option<String>)]
    #[param(value_type = Option<String>)]
    mode: Option<Mode>,
    /// `fail` (default: one bad row fails the ingest) or `quarantine` (bad rows go to
    /// `<name>__rejects`).
    #[schema(value_type = Option<String>)]
    #[param(value_type = Option<String>)]
    on_error: Option<OnError>,
    /// Column types to force, e.g. `zip:string,amount:float64`.
    schema: Option<String>,
    /// Append even when the dataset already holds an append of the same bytes with the same
    /// settings (by default such a rerun writes no rows again, so a retried request is safe;
    /// the result says `repeated: true`).
    #[serde(default)]
    again: bool,
    /// Wait for the job to end and answer with its final status.
    #[serde(default)]
    wait: bool,
}

impl IngestSettings {
    fn options(&self) -> IngestOptions {
        let mut options = IngestOptions::new()
            .with_mode(self.mode.unwrap_or_default())
            .with_on_error(self.on_error.unwrap_or_default())
            .with_again(self.again);
        if let Some(format) = self.format {
            options = options.with_format(format);
        }
        if let Some(schema) = &self.schema {
            options = options.with_schema(schema);
        }
        options
    }
}

/// Ingest from a store URL.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IngestBody {
    /// `s3://bucket/key-or-prefix` (a prefix reads every file under it).
    source: String,
    /// How to read it.
    #[serde(flatten)]
    settings: IngestSettings,
}

#[utoipa::path(post, path = "/v1/datasets/{name}/ingest", tag = "datasets",
    params(("name" = String, Path, description = "The dataset to create or extend")),
    request_body = IngestBody,
    description = "Ingest files from a store URL into a dataset, as a job (202 with its status; \
        with `wait: true`, 200 with the final status). One Delta commit or nothing: a failed \
        ingest leaves the dataset as it was. Local paths are refused: the server reads only \
        store URLs.",
    responses((status = 202, body = crate::jobs::JobStatus), (status = 200, body = crate::jobs::JobStatus)))]
pub(crate) async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Body(body): Body<IngestBody>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write, &[&name])?;
    if !body.source.starts_with("s3://") {
        return Err(ApiError::bad_input(format!(
            "source {:?} is not a store URL: the server ingests from s3://… URLs, or from an upload (PUT /v1/datasets/{name}/upload)",
            body.source
        )));
    }
    lakehouse::table::check_dataset_name(&name)?;
    let options = body
        .settings
        .options()
        .with_max_decoded_bytes(state.config().limits.ingest_decoded_bytes);
    let wait = body.settings.wait;
    let source = body.source;
    let rx = start_ingest(&state, &name, source, options, None);
    answer_job(rx, JobQuery { wait }).await
}

fn start_ingest(
    state: &AppState,
    name: &str,
    source: String,
    options: IngestOptions,
    upload: Option<tempfile::TempDir>,
) -> tokio::sync::watch::Receiver<crate::jobs::JobStatus> {
    let tables = state.lakehouse().tables().clone();
    let dataset = name.to_string();
    state.jobs().spawn("ingest", name, move |job| async move {
        let progress_job = job.clone();
        let options = options.with_progress(Arc::new(move |p: lakehouse::table::Progress| {
            progress_job.set_done(p.bytes, Some(p.total_bytes));
        }));
        job.phase("read", None);
        let report = tables.ingest(&dataset, &source, options).await;
        drop(upload);
        let report = report?;
        serde_json::to_value(&report).map_err(ApiError::internal)
    })
}

#[utoipa::path(put, path = "/v1/datasets/{name}/upload", tag = "datasets",
    params(("name" = String, Path, description = "The dataset to create or extend"), IngestSettings),
    request_body(content = Vec<u8>, description = "The file: CSV, JSON, JSON lines or Parquet \
        (say which with `format`)", content_type = "application/octet-stream"),
    description = "Upload one file and ingest it, as a job. The body is streamed to a temporary \
        file (the upload cap is `limits.upload_bytes`; 413 above it) and ingested from there.",
    responses((status = 202, body = crate::jobs::JobStatus), (status = 413, body = crate::error::ErrorBody)))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(name): PathParams<String>,
    Params(settings): Params<IngestSettings>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let cap = state.config().limits.upload_bytes;
    caller.require(Scope::Write, &[&name])?;
    lakehouse::table::check_dataset_name(&name)?;
    let Some(format) = settings.format else {
        return Err(ApiError::bad_input(
            "say what the upload is: ?format=csv|json|jsonl|parquet|text",
        ));
    };
    let dir = tempfile::tempdir().map_err(ApiError::internal)?;
    let path = dir.path().join(format!("{name}.{}", extension(format)));
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(ApiError::internal)?;
    let mut stream = body.into_data_stream();
    let mut written: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_input(format!("reading the upload: {e}")))?;
        written += chunk.len() as u64;
        if written > cap {
            return Err(ApiError::too_large(format!(
                "the upload is larger than this server's limit of {cap} bytes (limits.upload_bytes); nothing was ingested"
            )));
        }
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.flush().await.map_err(ApiError::internal)?;
    drop(file);
    if written == 0 {
        return Err(ApiError::bad_input("the upload is empty"));
    }
    let options = settings
        .options()
        .with_max_decoded_bytes(state.config().limits.ingest_decoded_bytes);
    let rx = start_ingest(
        &state,
        &name,
        path.display().to_string(),
        options,
        Some(dir),
    );
    answer_job(
        rx,
        JobQuery {
            wait: settings.wait,
        },
    )
    .await
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Jsonl => "jsonl",
        Format::Parquet => "parquet",
        Format::Text => "txt",
    }
}
