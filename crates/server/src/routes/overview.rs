//! `GET /v1/overview`: what the store holds, in one answer — datasets, corpora, memory
//! namespaces and agent sessions with counts and sizes, and this server's jobs. Each part is
//! the same library call its own route makes, filtered to what the caller may see.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use lakehouse::agent::SESSIONS_TABLE;
use lakehouse::memory::NamespaceInfo;
use serde::Serialize;

use crate::auth::Scope;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v1/overview", get(overview))
}

/// Totals and the items they add up.
#[derive(Debug, Serialize)]
struct Part<T> {
    count: usize,
    items: Vec<T>,
}

/// A dataset in brief.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DatasetBrief {
    name: String,
    version: u64,
    rows: u64,
    files: usize,
    bytes: u64,
}

/// A corpus in brief.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CorpusBrief {
    name: String,
    version: u64,
    docs: u64,
    segments: usize,
    /// Bytes of its current segments' files.
    bytes: u64,
    /// The embedder id its vectors came from.
    embedder: String,
}

/// The whole store at a glance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Overview {
    /// The store URL.
    store: String,
    /// Whether this server checks tokens.
    auth: bool,
    #[schema(value_type = Object)]
    datasets: serde_json::Value,
    #[schema(value_type = Object)]
    corpora: serde_json::Value,
    #[schema(value_type = Object)]
    namespaces: serde_json::Value,
    #[schema(value_type = Object)]
    sessions: serde_json::Value,
    #[schema(value_type = Object)]
    jobs: serde_json::Value,
}

fn part<T: Serialize>(
    items: Vec<T>,
    totals: &[(&str, u64)],
) -> Result<serde_json::Value, ApiError> {
    let mut value = serde_json::to_value(Part {
        count: items.len(),
        items,
    })
    .map_err(ApiError::internal)?;
    for (key, total) in totals {
        value[*key] = serde_json::json!(total);
    }
    Ok(value)
}

#[utoipa::path(get, path = "/v1/overview", tag = "operations",
    description = "The store at a glance: its datasets, corpora, memory namespaces (commits, \
        snapshots, bytes) and agent sessions, with totals, and this server's jobs. Only what the \
        caller may see is counted.",
    responses((status = 200, body = Overview)))]
pub(crate) async fn overview(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Overview>, ApiError> {
    caller.require(Scope::Read, &[])?;
    let lakehouse = state.lakehouse();
    let (datasets, corpus_names, namespaces) = tokio::try_join!(
        async { Ok::<_, ApiError>(lakehouse.tables().list().await?) },
        async { Ok::<_, ApiError>(lakehouse.corpora().names().await?) },
        async {
            Ok::<_, ApiError>(
                lakehouse::memory::namespaces(lakehouse.store().object_store().as_ref()).await?,
            )
        },
    )?;
    let sessions = datasets
        .iter()
        .find(|d| d.name == SESSIONS_TABLE && caller.may_touch(SESSIONS_TABLE))
        .map_or(0, |d| d.rows);
    let datasets: Vec<DatasetBrief> = datasets
        .into_iter()
        .filter(|d| caller.may_touch(&d.name))
        .map(|d| DatasetBrief {
            name: d.name,
            version: d.version,
            rows: d.rows,
            files: d.files,
            bytes: d.bytes,
        })
        .collect();
    let corpus_names: Vec<String> = corpus_names
        .into_iter()
        .filter(|n| caller.may_touch(n))
        .collect();
    // read a few manifests at a time, in name order
    let manifests: Vec<_> = futures::stream::iter(corpus_names)
        .map(|name| async move {
            let manifest = lakehouse.corpora().manifest(&name).await;
            (name, manifest)
        })
        .buffered(8)
        .collect()
        .await;
    let mut corpora = Vec::new();
    for (name, manifest) in manifests {
        // one unreadable corpus does not hide the store (GET /v1/corpora/{name} says why)
        let m = match manifest {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(corpus = %name, "overview: {e}");
                continue;
            }
        };
        corpora.push(CorpusBrief {
            bytes: m
                .segments
                .iter()
                .flat_map(|s| &s.files)
                .map(|f| f.bytes)
                .sum(),
            segments: m.segments.len(),
            embedder: m.embedder.id.clone(),
            name: m.corpus,
            version: m.version,
            docs: m.docs,
        });
    }
    let namespaces: Vec<NamespaceInfo> = namespaces
        .into_iter()
        .filter(|n| caller.may_touch(&n.name))
        .collect();
    let jobs: Vec<_> = state
        .jobs()
        .list()
        .into_iter()
        .filter(|j| caller.may_touch(&j.target))
        .collect();
    let running = jobs
        .iter()
        .filter(|j| j.state == crate::jobs::JobState::Running)
        .count();
    Ok(Json(Overview {
        store: lakehouse.store().url().to_string(),
        auth: state.auth().enabled(),
        datasets: part(
            datasets.iter().collect(),
            &[
                ("rows", datasets.iter().map(|d| d.rows).sum()),
                ("bytes", datasets.iter().map(|d| d.bytes).sum()),
            ],
        )?,
        corpora: part(
            corpora.iter().collect(),
            &[
                ("docs", corpora.iter().map(|c| c.docs).sum()),
                ("bytes", corpora.iter().map(|c| c.bytes).sum()),
            ],
        )?,
        namespaces: part(
            namespaces.iter().collect(),
            &[
                ("commits", namespaces.iter().map(|n| n.commits).sum()),
                ("bytes", namespaces.iter().map(|n| n.bytes).sum()),
            ],
        )?,
        sessions: serde_json::json!({ "count": sessions }),
        jobs: serde_json::json!({ "total": jobs.len(), "running": running }),
    }))
}
