//! The self-hosted dialect: the flat paths of Mem0's own REST server (`POST /memories`,
//! `POST /search`, ...), with `X-API-Key` (or a bearer token).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::entity::{Entity, Match, Pattern};
use super::hosted::pattern_of;
use super::ops::{self, Add, Messages, Update};
use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, PathParams};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/memories", post(create).get(get_all).delete(delete_all))
        .route(
            "/memories/{id}",
            get(get_memory).put(update).delete(delete_memory),
        )
        .route("/memories/{id}/history", get(history))
        .route("/search", post(search))
        .route("/reset", post(reset))
}

type Answer<T = Value> = Result<Json<T>, ApiError>;

/// Mem0's `MemoryCreate`. Ignored: `expiration_date`, `memory_type`, `prompt`.
#[derive(Debug, Deserialize)]
struct CreateBody {
    messages: Messages,
    user_id: Option<String>,
    agent_id: Option<String>,
    run_id: Option<String>,
    metadata: Option<Map<String, Value>>,
    infer: Option<bool>,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<CreateBody>,
) -> Answer {
    let (user, agent, run) = (body.user_id, body.agent_id, body.run_id);
    let add = Add {
        entity: Entity::from_fields(|f| match f {
            "user_id" => user.clone(),
            "agent_id" => agent.clone(),
            "run_id" => run.clone(),
            _ => None,
        }),
        messages: body.messages,
        metadata: body.metadata,
        infer: body.infer,
    };
    Ok(Json(ops::add(&state, &caller, add).await?))
}

/// The entity of `?user_id=…&agent_id=…&run_id=…`.
fn pattern_of_query(query: &BTreeMap<String, String>) -> Pattern {
    let mut pattern = Pattern::default();
    for (key, value) in query {
        if key != "app_id" && !value.is_empty() {
            pattern.set(key, value);
        }
    }
    pattern
}

async fn get_all(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<BTreeMap<String, String>>,
) -> Answer {
    let pattern = pattern_of_query(&query);
    let top_k = match query.get("top_k") {
        Some(k) => k
            .parse::<usize>()
            .map_err(|_| ApiError::bad_input(format!("top_k {k:?} is not a number")))?,
        None => 100,
    };
    let mut all = ops::list(&state, &caller, &pattern, Vec::new()).await?;
    all.truncate(top_k);
    Ok(Json(json!({"results": all})))
}

async fn get_memory(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Answer<ops::MemoryObject> {
    Ok(Json(ops::get(&state, &caller, &id).await?))
}

/// Mem0's `MemoryUpdate`. Ignored: `expiration_date`.
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
) -> Answer {
    let update = Update {
        text: body.text,
        metadata: body.metadata,
    };
    ops::update(&state, &caller, &id, update).await?;
    Ok(Json(json!({"message": "Memory updated successfully!"})))
}

async fn delete_memory(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Answer {
    ops::delete(&state, &caller, &id).await?;
    Ok(Json(json!({"message": "Memory deleted successfully"})))
}

async fn history(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Answer {
    Ok(Json(ops::history(&state, &caller, &id).await?))
}

async fn delete_all(
    State(state): State<AppState>,
    caller: Caller,
    Params(query): Params<BTreeMap<String, String>>,
) -> Answer {
    let n = ops::delete_all(&state, &caller, &pattern_of_query(&query)).await?;
    Ok(Json(
        json!({"message": "All relevant memories deleted", "deleted": n}),
    ))
}

/// Mem0's `SearchRequest`. Ignored: `threshold`, `explain`, `show_expired`.
#[derive(Debug, Deserialize)]
struct SearchBody {
    query: String,
    user_id: Option<String>,
    agent_id: Option<String>,
    run_id: Option<String>,
    filters: Option<Value>,
    top_k: Option<usize>,
}

async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<SearchBody>,
) -> Answer<ops::SearchResults> {
    let (mut pattern, metadata) = pattern_of(body.filters.as_ref())?;
    for (field, value) in [
        ("user_id", &body.user_id),
        ("agent_id", &body.agent_id),
        ("run_id", &body.run_id),
    ] {
        if let Some(v) = value {
            pattern.set(field, v);
        }
    }
    Ok(Json(
        ops::search(&state, &caller, &body.query, &pattern, metadata, body.top_k).await?,
    ))
}

/// Retire every memory of every entity (admin only).
async fn reset(State(state): State<AppState>, caller: Caller) -> Answer {
    caller.require(crate::auth::Scope::Admin, &[])?;
    let everyone = Pattern(std::array::from_fn(|_| Match::Any));
    let n = ops::delete_matching(&state, &caller, &everyone).await?;
    Ok(Json(json!({"message": "All memories reset", "deleted": n})))
}
