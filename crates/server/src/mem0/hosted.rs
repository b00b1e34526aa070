//! The hosted-API dialect: the paths the `mem0ai` package's `MemoryClient(api_key=…, host=…)`
//! calls, trailing slashes included, with `Authorization: Token <token>`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::entity::{Entity, FIELDS, Pattern};
use super::ops::{self, Add, Messages, Update};
use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, PathParams};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/ping/", get(ping))
        .route("/v3/memories/add/", post(add))
        .route("/v3/memories/", post(get_all))
        .route("/v3/memories/search/", post(search))
        .route(
            "/v1/memories/{id}/",
            get(get_memory).put(update).delete(delete_memory),
        )
        .route("/v1/memories/", delete(delete_all))
        .route("/v1/memories/{id}/history/", get(history))
        .route("/v1/batch/", put(batch_update).delete(batch_delete))
        .route("/v1/entities/", get(entities))
        .route("/v2/entities/{kind}/{name}/", delete(delete_entity))
}

type Answer<T = Value> = Result<Json<T>, ApiError>;

/// `MemoryClient` reads `org_id` and `project_id` (both must be set) and `user_email`.
async fn ping(caller: Caller) -> Json<Value> {
    Json(json!({
        "status": "ok", "org_id": "lakehouse", "project_id": "default",
        "user_email": null, "token": caller.name,
    }))
}

/// An add. Fields Mem0 has and this server ignores: `custom_categories`,
/// `custom_instructions`, `agent_custom_instructions`, `timestamp`, `expiration_date`,
/// `immutable`, `includes`, `excludes`, `enable_graph`, `output_format`, `version`, ...
#[derive(Debug, Deserialize)]
struct AddBody {
    messages: Messages,
    user_id: Option<String>,
    agent_id: Option<String>,
    run_id: Option<String>,
    app_id: Option<String>,
    /// The entity may come as filters too.
    filters: Option<Map<String, Value>>,
    metadata: Option<Map<String, Value>>,
    infer: Option<bool>,
}

async fn add(State(state): State<AppState>, caller: Caller, Body(body): Body<AddBody>) -> Answer {
    let field = |f: &str| -> Option<String> {
        let top = match f {
            "user_id" => body.user_id.clone(),
            "agent_id" => body.agent_id.clone(),
            "run_id" => body.run_id.clone(),
            _ => body.app_id.clone(),
        };
        top.or_else(|| body.filters.as_ref()?.get(f)?.as_str().map(str::to_string))
    };
    let add = Add {
        entity: Entity::from_fields(field),
        messages: body.messages,
        metadata: body.metadata,
        infer: body.infer,
    };
    Ok(Json(ops::add(&state, &caller, add).await?))
}

/// A listing: `filters` (required) and paging. Ignored: `fields`, `categories`,
/// `start_date`, `end_date`, `show_expired`, `keywords`.
#[derive(Debug, Deserialize)]
struct ListBody {
    filters: Option<Value>,
    page: Option<usize>,
    page_size: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct Paging {
    page: Option<usize>,
    page_size: Option<usize>,
}

async fn get_all(
    State(state): State<AppState>,
    caller: Caller,
    Params(paging): Params<Paging>,
    Body(body): Body<ListBody>,
) -> Answer {
    let (pattern, metadata) = pattern_of(body.filters.as_ref())?;
    let page = paging.page.or(body.page).unwrap_or(1).max(1);
    let size = paging.page_size.or(body.page_size).unwrap_or(100);
    if size == 0 || size > 1000 {
        return Err(ApiError::bad_input(format!(
            "page_size is {size}; give 1 to 1000"
        )));
    }
    let all = ops::list(&state, &caller, &pattern, metadata).await?;
    let count = all.len();
    let results: Vec<ops::MemoryObject> =
        all.into_iter().skip((page - 1) * size).take(size).collect();
    let link = |p: usize| format!("/v3/memories/?page={p}&page_size={size}");
    Ok(Json(json!({
        "count": count,
        "next": (page * size < count).then(|| link(page + 1)),
        "previous": (page > 1).then(|| link(page - 1)),
        "results": results,
    })))
}

/// A search. Ignored: `threshold`, `rerank`, `fields`, `categories`, `show_expired`,
/// `reference_date`, `keyword_search` (every search here is vector + BM25).
#[derive(Debug, Deserialize)]
struct SearchBody {
    query: String,
    filters: Option<Value>,
    top_k: Option<usize>,
    /// Metadata to match, besides `filters`.
    metadata: Option<Map<String, Value>>,
}

async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<SearchBody>,
) -> Answer<ops::SearchResults> {
    let (pattern, mut metadata) = pattern_of(body.filters.as_ref())?;
    if let Some(extra) = &body.metadata {
        let (_, more) = pattern_of(Some(&Value::Object(extra.clone())))?;
        metadata.extend(more);
    }
    Ok(Json(
        ops::search(&state, &caller, &body.query, &pattern, metadata, body.top_k).await?,
    ))
}

/// Entity fields and metadata pairs of a Mem0 filter.
pub(super) fn pattern_of(
    filters: Option<&Value>,
) -> Result<(Pattern, Vec<(String, String)>), ApiError> {
    let mut pattern = Pattern::default();
    let mut metadata = Vec::new();
    ops::parse_filters(filters, &mut pattern, &mut metadata)?;
    Ok((pattern, metadata))
}

async fn get_memory(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Answer<ops::MemoryObject> {
    Ok(Json(ops::get(&state, &caller, &id).await?))
}

/// An update. Ignored: `timestamp`, `expiration_date`.
#[derive(Debug, Deserialize)]
struct UpdateBody {
    text: Option<String>,
    metadata: Option<Map<String, Value>>,
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    Body(body): Body<UpdateBody>,
) -> Answer<ops::MemoryObject> {
    let update = Update {
        text: body.text,
        metadata: body.metadata,
    };
    Ok(Json(ops::update(&state, &caller, &id, update).await?))
}

async fn delete_memory(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Answer {
    ops::delete(&state, &caller, &id).await?;
    Ok(Json(json!({"message": "Memory deleted successfully!"})))
}

/// `DELETE /v1/memories/?user_id=…` (or `?filters=…`, as the client sends a dict).
async fn delete_all(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<BTreeMap<String, String>>,
) -> Answer {
    let mut pattern = Pattern::default();
    let mut metadata = Vec::new();
    for (key, text) in &query {
        if key == "filters" {
            let filters = python_dict(text)?;
            ops::parse_filters(Some(&filters), &mut pattern, &mut metadata)?;
        } else if FIELDS.contains(&key.as_str()) {
            pattern.set(key, text);
        }
    }
    if !metadata.is_empty() {
        return Err(ApiError::bad_input(
            "delete_all takes entity ids (user_id, agent_id, app_id, run_id), not metadata",
        ));
    }
    let n = ops::delete_all(&state, &caller, &pattern).await?;
    Ok(Json(
        json!({"message": "Memories deleted successfully!", "deleted": n}),
    ))
}

/// A dict as the Python client puts it in a query string: JSON, or its `repr` (single quotes,
/// `True`/`False`/`None`).
fn python_dict(text: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text)
        .or_else(|_| {
            let json = text
                .replace('\'', "\"")
                .replace("True", "true")
                .replace("False", "false")
                .replace("None", "null");
            serde_json::from_str(&json)
        })
        .map_err(|e| ApiError::bad_input(format!("filters {text:?} is not a JSON object: {e}")))
}

async fn history(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Answer {
    Ok(Json(ops::history(&state, &caller, &id).await?))
}

#[derive(Debug, Deserialize)]
struct Batch {
    memories: Vec<BatchItem>,
}

#[derive(Debug, Deserialize)]
struct BatchItem {
    memory_id: String,
    text: Option<String>,
    metadata: Option<Map<String, Value>>,
}

fn check_batch(batch: &Batch) -> Result<(), ApiError> {
    if batch.memories.is_empty() || batch.memories.len() > 1000 {
        return Err(ApiError::bad_input(format!(
            "memories holds {} items; give 1 to 1000",
            batch.memories.len()
        )));
    }
    Ok(())
}

/// Each item is its own REVISE; the first failure stops the batch and is the answer (the items
/// before it are revised).
async fn batch_update(
    State(state): State<AppState>,
    caller: Caller,
    Body(batch): Body<Batch>,
) -> Answer {
    check_batch(&batch)?;
    let n = batch.memories.len();
    for item in batch.memories {
        let update = Update {
            text: item.text,
            metadata: item.metadata,
        };
        ops::update(&state, &caller, &item.memory_id, update).await?;
    }
    Ok(Json(
        json!({"message": format!("Successfully updated {n} memories")}),
    ))
}

async fn batch_delete(
    State(state): State<AppState>,
    caller: Caller,
    Body(batch): Body<Batch>,
) -> Answer {
    check_batch(&batch)?;
    let n = batch.memories.len();
    for item in batch.memories {
        ops::delete(&state, &caller, &item.memory_id).await?;
    }
    Ok(Json(
        json!({"message": format!("Successfully deleted {n} memories")}),
    ))
}

async fn entities(State(state): State<AppState>, caller: Caller) -> Answer {
    Ok(Json(ops::entities(&state, &caller).await?))
}

async fn delete_entity(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((kind, name)): PathParams<(String, String)>,
) -> Answer {
    let mut pattern = Pattern::default();
    if !pattern.set(&format!("{kind}_id"), &name) {
        return Err(ApiError::bad_input(format!(
            "entity type {kind:?} is not one of user, agent, app, run"
        )));
    }
    let n = ops::delete_matching(&state, &caller, &pattern).await?;
    Ok(Json(
        json!({"message": "Entity deleted successfully.", "deleted": n}),
    ))
}
