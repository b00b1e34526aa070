//! `POST /v1/sql`: read-only SQL over the datasets, capped in rows, time and memory.

use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use lakehouse::table::SqlOptions;
use serde::{Deserialize, Serialize};

use crate::auth::Scope;
use crate::error::ApiError;
use crate::extract::{Body, Caller};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v1/sql", post(sql))
}

/// A query.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SqlBody {
    /// One read-only statement (`SELECT`, `WITH … SELECT`, `VALUES`, `EXPLAIN`).
    query: String,
    /// Return at most this many rows (never more than the server's `limits.sql_rows`).
    #[serde(default)]
    max_rows: Option<usize>,
    /// Read every table as of this Delta version.
    #[serde(default)]
    as_of_version: Option<u64>,
}

/// A query's rows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SqlAnswer {
    /// Column names, in order.
    columns: Vec<String>,
    /// One array per row, one value per column.
    #[schema(value_type = Vec<Vec<Object>>)]
    rows: Vec<Vec<serde_json::Value>>,
    /// True when there were more rows than the cap.
    truncated: bool,
}

#[utoipa::path(post, path = "/v1/sql", tag = "datasets", request_body = SqlBody,
    description = "Run one read-only SQL query over the datasets (each dataset is a table by its name). \
        Writes are refused before anything is opened. The answer holds at most `max_rows` rows \
        (and never more than the server's cap), with `truncated: true` when the cap bit; a query \
        that runs longer than the time cap or needs more memory than the memory cap is stopped \
        with a 400 naming the cap.",
    responses((status = 200, body = SqlAnswer), (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn sql(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<SqlBody>,
) -> Result<Json<SqlAnswer>, ApiError> {
    let limits = &state.config().limits;
    let cap = body
        .max_rows
        .map_or(limits.sql_rows, |n| n.min(limits.sql_rows));
    let options = SqlOptions {
        as_of_version: body.as_of_version,
        memory_limit: Some(limits.sql_memory_bytes),
        timeout: Some(Duration::from_millis(limits.sql_timeout_ms)),
        ..SqlOptions::default()
    };
    let tables = state.lakehouse().tables().sql_tables(&body.query)?;
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    caller.require(Scope::Read, &names)?;
    let rows = state
        .lakehouse()
        .tables()
        .sql_rows(&body.query, &options, cap)
        .await?;
    Ok(Json(SqlAnswer {
        columns: rows.columns,
        rows: rows.rows,
        truncated: rows.truncated,
    }))
}
