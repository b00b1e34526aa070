//! Request extractors that answer bad input in the server's error shape: a JSON body (any
//! content type; 400 for broken JSON, 422 for the wrong shape, 413 above the body cap), query
//! parameters, path parameters, and the authenticated caller.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::auth::Principal;
use crate::error::ApiError;

/// A JSON request body.
#[derive(Debug)]
pub(crate) struct Body<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(format!(
                    "the body is larger than this server's limit ({}); see limits.body_bytes",
                    e.body_text()
                ))
            } else {
                ApiError::bad_input(format!("cannot read the body: {}", e.body_text()))
            }
        })?;
        parse_json(&bytes).map(Body)
    }
}

/// Parse a JSON body: broken JSON is 400, JSON of the wrong shape 422.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::malformed_json(
            "the body is empty; this route takes a JSON object",
        ));
    }
    let malformed = |e: &serde_json::Error| {
        ApiError::malformed_json(format!("the body is not valid JSON: {e}"))
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value =
        serde_path_to_error::deserialize(&mut de).map_err(|e| match e.inner().classify() {
            serde_json::error::Category::Data => {
                ApiError::invalid_body(format!("the body does not fit this route: {}", at_path(&e)))
            }
            _ => malformed(e.inner()),
        })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

/// A JSON value as `T`, for arguments that arrive already parsed (MCP tools): 422 with the
/// field at fault named, as for a body; `what` says whose arguments they are.
pub(crate) fn from_value<T: DeserializeOwned>(
    value: serde_json::Value,
    what: &str,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| ApiError::invalid_body(format!("{what}: {}", at_path(&e))))
}

/// serde's message with the field at fault in front (`k: invalid type: …`).
fn at_path(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    if path == "." {
        e.inner().to_string()
    } else {
        format!("`{path}`: {}", e.inner())
    }
}

/// Query parameters.
#[derive(Debug)]
pub(crate) struct Params<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        parse_query(query).map(Params)
    }
}

fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| ApiError::bad_input("the query string is not valid"))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::bad_input(format!("bad query parameters: {}", e.body_text())))
}

/// Path parameters.
#[derive(Debug)]
pub(crate) struct PathParams<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|e| ApiError::bad_input(format!("bad path: {}", e.body_text())))
    }
}

/// The authenticated caller (put in the request by the auth middleware).
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub(crate) Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Arc<Principal>>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError::internal("route mounted without the auth middleware"))
    }
}

impl std::ops::Deref for Caller {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}
