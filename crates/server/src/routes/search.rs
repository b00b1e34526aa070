//! `POST /v1/search`: one query over many corpora (the matrix), fused.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use lakehouse::vectord::{SearchRequest, SearchResponse};

use crate::auth::Scope;
use crate::error::ApiError;
use crate::extract::{Body, Caller};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v1/search", post(search))
}

/// The body of `POST /v1/search`: the library's `SearchRequest`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct SearchBody {
    /// The query text.
    query: String,
    /// Corpora to search, by name.
    corpora: Vec<String>,
    /// Hits to return in all (default 10).
    k: Option<usize>,
    /// `hybrid` (default), `vector` or `bm25`.
    mode: Option<String>,
    /// `{"rrf": {"k": 60}}` (default) or `"zscore"`.
    #[schema(value_type = Option<Object>)]
    fusion: Option<serde_json::Value>,
    /// Metadata filters as `[column, value]` pairs; every one must match exactly.
    filters: Option<Vec<Vec<String>>>,
}

#[utoipa::path(post, path = "/v1/search", tag = "search", request_body = SearchBody,
    description = "Search many corpora with one query: the query is embedded once per embedder, \
        every corpus answers with vector and/or BM25 hits, and the lists are fused. Each hit names \
        its corpus, its rank there and both raw scores. A corpus that is missing or fails is \
        reported in `corpora` with its error while the others still answer, so the status is 200 \
        whenever the request itself is valid. The JSON is that of `lakehouse --json search`.",
    responses((status = 200, description = "Fused hits and per-corpus status", body = Object),
              (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<SearchRequest>,
) -> Result<Json<SearchResponse>, ApiError> {
    let names: Vec<&str> = request.corpora.iter().map(String::as_str).collect();
    caller.require(Scope::Read, &names)?;
    Ok(Json(state.lakehouse().corpora().search(&request).await?))
}
