//! The Mem0 dialects, so that agents written against Mem0 reach Lakehouse memory unchanged:
//! the hosted API that the `mem0ai` package's `MemoryClient` calls ([`hosted`]) and the flat
//! paths of Mem0's self-hosted server ([`flat`]). Both are thin over [`ops`], which maps Mem0's
//! operations onto the memory library (see DESIGN.md, "Mem0 mapping"): an entity
//! (`app_id`/`user_id`/`agent_id`/`run_id`) is a namespace ([`entity`]), a memory is a chain of
//! `fact` records whose root id names it, add is UPSERT, update REVISE, delete RETIRE, history
//! HISTORY.
//!
//! Fields Mem0 has and that mean nothing here are accepted and ignored (each request type lists
//! them); `infer` is answered with a note, since no chat model does extraction yet. Errors carry
//! Mem0's `detail` beside this server's own `error` object.

mod entity;
mod flat;
mod hosted;
mod ops;

use axum::Router;
use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::{from_fn_with_state, map_response};
use axum::response::Response;
use serde_json::Value;

use crate::middleware;
use crate::state::AppState;

/// Error bodies are read up to this size to add `detail` (ours are far smaller).
const ERROR_BODY_CAP: usize = 64 * 1024;

/// Both dialects' routes, authenticated, their errors in Mem0's shape.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    hosted::routes()
        .merge(flat::routes())
        .layer(from_fn_with_state(state.clone(), middleware::authenticate))
        .layer(map_response(with_detail))
}

/// An error answer as Mem0's clients read it: the server's `{"error": {...}}` with Mem0's
/// `{"detail": message}` beside it (status and headers, such as `Retry-After`, kept). Covers
/// every error of these routes: auth, rate limits, malformed bodies and the handlers' own.
async fn with_detail(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status().is_success() || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_CAP).await else {
        parts.headers.remove(CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let body = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut map)) if !map.contains_key("detail") => {
            let message = map
                .get("error")
                .and_then(|e| e.get("message"))
                .cloned()
                .unwrap_or(Value::Null);
            map.insert("detail".into(), message);
            parts.headers.remove(CONTENT_LENGTH);
            Body::from(Value::Object(map).to_string())
        }
        _ => Body::from(bytes),
    };
    Response::from_parts(parts, body)
}
