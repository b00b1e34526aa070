//! Memory: every operation on a namespace — UPSERT, REVISE, RETIRE, outcomes, GET, LIST,
//! HISTORY, SEARCH (with filters and `as_of`), compaction. The namespace is a field of the
//! body or the `namespace` query parameter (namespaces hold `/`), `default` when absent.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use lakehouse::memory::{
    Draft, DraftPatch, Kind, ListFilter, MemoryHit, MemoryQuery, NamespaceInfo, Record,
    StateFilter, Upserted, time,
};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Scope;
use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, PathParams};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/memory/records", post(upsert).get(list))
        .route("/v1/memory/records/{id}", get(get_record))
        .route("/v1/memory/records/{id}/revise", post(revise))
        .route("/v1/memory/records/{id}/retire", post(retire))
        .route("/v1/memory/records/{id}/outcome", post(outcome))
        .route("/v1/memory/records/{id}/history", get(history))
        .route("/v1/memory/search", post(search))
        .route("/v1/memory/compact", post(compact))
        .route("/v1/memory/namespaces", get(namespaces))
}

/// The store's memory namespaces.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Namespaces {
    /// Each with its commits, snapshots and bytes, by name.
    #[schema(value_type = Vec<Object>)]
    namespaces: Vec<NamespaceInfo>,
}

#[utoipa::path(get, path = "/v1/memory/namespaces", tag = "memory",
    description = "Every memory namespace in the store the caller may see, with its commits, \
        snapshots and bytes (from one listing of the store's memory/ folder).",
    responses((status = 200, body = Namespaces)))]
pub(crate) async fn namespaces(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Namespaces>, ApiError> {
    caller.require(Scope::Read, &[])?;
    let all =
        lakehouse::memory::namespaces(state.lakehouse().store().object_store().as_ref()).await?;
    Ok(Json(Namespaces {
        namespaces: all
            .into_iter()
            .filter(|n| caller.may_touch(&n.name))
            .collect(),
    }))
}

fn default_namespace() -> String {
    "default".to_string()
}

fn as_of(text: Option<&str>) -> Result<Option<lakehouse::store::Timestamp>, ApiError> {
    Ok(text.map(time::parse).transpose()?)
}

/// Drafts to UPSERT.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpsertBody {
    /// The namespace (default `default`).
    #[serde(default = "default_namespace")]
    namespace: String,
    /// One or more drafts, committed together (all or none): `{"kind":
    /// "fact"|"pathway"|"playbook" (default fact), "content": "...", "steps": [{"tool": "...",
    /// "args": {...}}], "outcome": "...", "variables": [...], "metadata": {...}, "sessions":
    /// [...]}`.
    #[schema(value_type = Vec<Object>)]
    drafts: Vec<Draft>,
}

#[utoipa::path(post, path = "/v1/memory/records", tag = "memory", request_body = UpsertBody,
    description = "UPSERT: add each draft as a record, or — when a live record with the same \
        workflow (kind, content, steps) exists — count a replay of it. One commit for the whole \
        batch; visible to the next read through this server.",
    responses((status = 200, description = "One result per draft: action added|updated and the record", body = Vec<Object>),
              (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn upsert(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<UpsertBody>,
) -> Result<Json<Vec<Upserted>>, ApiError> {
    caller.require(Scope::Write, &[&body.namespace])?;
    if body.drafts.is_empty() {
        return Err(ApiError::bad_input("drafts is empty: give at least one"));
    }
    let memory = state.memory(&body.namespace).await?;
    Ok(Json(memory.upsert_many(body.drafts).await?))
}

/// Which namespace.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamespaceQuery {
    /// The namespace (default `default`).
    #[serde(default = "default_namespace")]
    namespace: String,
}

#[utoipa::path(get, path = "/v1/memory/records/{id}", tag = "memory",
    params(("id" = String, Path, description = "The record"), NamespaceQuery),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn get_record(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    Params(q): Params<NamespaceQuery>,
) -> Result<Json<Record>, ApiError> {
    caller.require(Scope::Read, &[&q.namespace])?;
    Ok(Json(state.memory(&q.namespace).await?.get(&id)?))
}

/// A revision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReviseBody {
    /// The namespace (default `default`).
    #[serde(default = "default_namespace")]
    namespace: String,
    /// The fields that change (`kind`, `content`, `steps`, `outcome` — `null` clears it —,
    /// `variables`, `metadata`, `sessions`); the rest are kept from the tip.
    #[schema(value_type = Object)]
    patch: DraftPatch,
    /// Refuse (409) unless the record is at this version.
    expected_version: Option<u32>,
}

#[utoipa::path(post, path = "/v1/memory/records/{id}/revise", tag = "memory",
    params(("id" = String, Path, description = "The tip of the chain to revise")),
    request_body = ReviseBody,
    description = "REVISE: write a new version of a record; the old one is superseded. Only the \
        tip of a live chain can be revised (409 otherwise, naming the tip).",
    responses((status = 200, description = "The new version", body = Object),
              (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn revise(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    Body(body): Body<ReviseBody>,
) -> Result<Json<Record>, ApiError> {
    caller.require(Scope::Write, &[&body.namespace])?;
    let memory = state.memory(&body.namespace).await?;
    Ok(Json(
        memory
            .revise_with(&id, &body.patch, body.expected_version)
            .await?,
    ))
}

/// A retirement.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetireBody {
    /// The namespace (default `default`).
    #[serde(default = "default_namespace")]
    namespace: String,
    /// Why (recorded, shown in history).
    reason: String,
    /// Who retires it.
    actor: Option<String>,
    /// Retire every version of its chain not yet retired.
    #[serde(default)]
    chain: bool,
}

#[utoipa::path(post, path = "/v1/memory/records/{id}/retire", tag = "memory",
    params(("id" = String, Path, description = "The record")), request_body = RetireBody,
    responses((status = 200, description = "The records retired", body = Vec<Object>),
              (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn retire(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    Body(body): Body<RetireBody>,
) -> Result<Json<Vec<Record>>, ApiError> {
    caller.require(Scope::Write, &[&body.namespace])?;
    let memory = state.memory(&body.namespace).await?;
    Ok(Json(
        memory
            .retire(&id, &body.reason, body.actor.as_deref(), body.chain)
            .await?,
    ))
}

/// The outcome of a replay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutcomeBody {
    /// The namespace (default `default`).
    #[serde(default = "default_namespace")]
    namespace: String,
    /// Whether replaying the record worked.
    success: bool,
    /// The session it happened in.
    session: Option<String>,
}

#[utoipa::path(post, path = "/v1/memory/records/{id}/outcome", tag = "memory",
    params(("id" = String, Path, description = "The record replayed")), request_body = OutcomeBody,
    responses((status = 200, description = "The record with its counters", body = Object)))]
pub(crate) async fn outcome(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    Body(body): Body<OutcomeBody>,
) -> Result<Json<Record>, ApiError> {
    caller.require(Scope::Write, &[&body.namespace])?;
    let memory = state.memory(&body.namespace).await?;
    Ok(Json(
        memory
            .record_outcome(&id, body.success, body.session.as_deref())
            .await?,
    ))
}

/// Which chain, when.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryQuery {
    /// The namespace (default `default`).
    #[serde(default = "default_namespace")]
    namespace: String,
    /// The chain as it was at this time (RFC 3339).
    as_of: Option<String>,
}

#[utoipa::path(get, path = "/v1/memory/records/{id}/history", tag = "memory",
    params(("id" = String, Path, description = "Any record of the chain"), HistoryQuery),
    responses((status = 200, description = "The chain, root to tip", body = Vec<Object>)))]
pub(crate) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    Params(q): Params<HistoryQuery>,
) -> Result<Json<Vec<Record>>, ApiError> {
    caller.require(Scope::Read, &[&q.namespace])?;
    let memory = state.memory(&q.namespace).await?;
    Ok(Json(memory.history(&id, as_of(q.as_of.as_deref())?)?))
}

/// Which records.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// The namespace (default `default`).
    #[serde(default = "default_namespace")]
    namespace: String,
    /// `fact`, `pathway` or `playbook`.
    #[param(value_type = Option<String>)]
    kind: Option<Kind>,
    /// `live` (default), `superseded`, `retired` or `all`.
    #[param(value_type = Option<String>)]
    state: Option<StateFilter>,
    /// Metadata filter `key=value` (one; use search filters for more).
    filter: Option<String>,
    /// At most N records.
    limit: Option<usize>,
    /// The namespace as it was at this time (RFC 3339): records written since left out,
    /// later revisions, retirements and counts undone.
    as_of: Option<String>,
}

#[utoipa::path(get, path = "/v1/memory/records", tag = "memory", params(ListQuery),
    responses((status = 200, description = "Records, oldest first", body = Vec<Object>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<Record>>, ApiError> {
    caller.require(Scope::Read, &[&q.namespace])?;
    let filters = q
        .filter
        .as_deref()
        .map(lakehouse::memory::parse_filter)
        .transpose()?
        .into_iter()
        .collect();
    let filter = ListFilter {
        kind: q.kind,
        state: q.state.unwrap_or_default(),
        filters,
        limit: q.limit,
        as_of: as_of(q.as_of.as_deref())?,
    };
    let memory = state.memory(&q.namespace).await?;
    Ok(Json(memory.list(&filter)))
}

/// A SEARCH.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemorySearchBody {
    /// The namespace (default `default`).
    #[serde(default = "default_namespace")]
    namespace: String,
    /// What to look for.
    query: String,
    /// How many hits (default 10, at most 1000).
    k: Option<usize>,
    /// `fact`, `pathway` or `playbook`.
    #[schema(value_type = Option<String>)]
    kind: Option<Kind>,
    /// Metadata that must match exactly, `{"key": "value"}`.
    #[serde(default)]
    filters: BTreeMap<String, String>,
    /// Search as the namespace was at this time (RFC 3339).
    as_of: Option<String>,
}

#[utoipa::path(post, path = "/v1/memory/search", tag = "memory", request_body = MemorySearchBody,
    description = "SEARCH live records by meaning and words (vector + BM25, fused), with a small \
        boost for records that replayed well; `as_of` answers as the namespace was then.",
    responses((status = 200, description = "Hits, best first", body = Vec<Object>)))]
pub(crate) async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<MemorySearchBody>,
) -> Result<Json<Vec<MemoryHit>>, ApiError> {
    caller.require(Scope::Read, &[&body.namespace])?;
    let query = MemoryQuery {
        text: body.query,
        k: body.k.unwrap_or(10),
        kind: body.kind,
        filters: body.filters.into_iter().collect(),
        as_of: as_of(body.as_of.as_deref())?,
    };
    let memory = state.memory(&body.namespace).await?;
    Ok(Json(memory.search(&query).await?))
}

/// Which namespace to compact.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompactBody {
    /// The namespace (default `default`).
    #[serde(default = "default_namespace")]
    namespace: String,
}

#[utoipa::path(post, path = "/v1/memory/compact", tag = "memory", request_body = CompactBody,
    description = "Write a snapshot of the namespace so it opens fast.",
    responses((status = 200, body = Object)))]
pub(crate) async fn compact(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<CompactBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Scope::Write, &[&body.namespace])?;
    let memory = state.memory(&body.namespace).await?;
    let seq = memory.compact().await?;
    Ok(Json(json!({"namespace": body.namespace, "snapshot": seq})))
}
