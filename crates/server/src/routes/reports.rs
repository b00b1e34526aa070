//! Reports for the console to chart: benchmark results (`*.json` in a report folder) and agent
//! evals (a subfolder holding `report.json`), from the folders `[console] reports` names. A
//! report is found by listing those folders and matching the name asked for, never by joining
//! a caller's text onto a path, so nothing outside them can be read.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::auth::Scope;
use crate::error::ApiError;
use crate::extract::{Caller, PathParams};
use crate::state::AppState;

/// Largest report served, in bytes.
const MAX_REPORT_BYTES: u64 = 32 << 20;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/reports", get(list))
        .route("/v1/reports/{kind}/{name}", get(read))
}

/// One report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct Report {
    /// `bench` or `eval`.
    kind: &'static str,
    /// The file name (`ann.json`) or the eval's folder name (`eval-20261204T101500Z`).
    name: String,
    /// When it was written (RFC 3339).
    modified: Option<String>,
    /// Its size.
    bytes: u64,
    #[serde(skip)]
    path: PathBuf,
}

fn modified(meta: &std::fs::Metadata) -> (SystemTime, Option<String>) {
    let at = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let text = chrono_text(at);
    (at, text)
}

fn chrono_text(at: SystemTime) -> Option<String> {
    let micros = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_micros()).ok())?;
    Some(lakehouse::memory::time::format(
        lakehouse::store::Timestamp(micros),
    ))
}

/// Every report in `folders`, newest first (a name found in two folders: the first folder's).
fn scan(folders: &[PathBuf]) -> Vec<Report> {
    let mut found: Vec<(SystemTime, Report)> = Vec::new();
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            // links are not followed: only what is in the folder itself is served
            let Ok(kind_of) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let (kind, file) = if kind_of.is_dir() {
                ("eval", path.join("report.json"))
            } else if name.ends_with(".json") {
                ("bench", path.clone())
            } else {
                continue;
            };
            let Ok(meta) = std::fs::symlink_metadata(&file) else {
                continue;
            };
            if !meta.is_file() || found.iter().any(|(_, r)| r.kind == kind && r.name == name) {
                continue;
            }
            let (at, text) = modified(&meta);
            found.push((
                at,
                Report {
                    kind,
                    name,
                    modified: text,
                    bytes: meta.len(),
                    path: file,
                },
            ));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    found.into_iter().map(|(_, r)| r).collect()
}

#[utoipa::path(get, path = "/v1/reports", tag = "reports",
    description = "The benchmark results and agent eval reports in the folders the server's \
        configuration names (`[console] reports`), newest first.",
    responses((status = 200, body = Vec<Report>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Report>>, ApiError> {
    caller.require(Scope::Read, &[])?;
    let folders = state.config().console.reports.clone();
    let reports = tokio::task::spawn_blocking(move || scan(&folders))
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(reports))
}

#[utoipa::path(get, path = "/v1/reports/{kind}/{name}", tag = "reports",
    params(("kind" = String, Path, description = "`bench` or `eval`"),
           ("name" = String, Path, description = "The report, as GET /v1/reports names it")),
    responses((status = 200, description = "The report's JSON, as written", body = Object),
              (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((kind, name)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read, &[])?;
    if kind != "bench" && kind != "eval" {
        return Err(ApiError::bad_input(format!(
            "report kind {kind:?} is neither `bench` nor `eval`"
        )));
    }
    let folders = state.config().console.reports.clone();
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let report = scan(&folders)
            .into_iter()
            .find(|r| r.kind == kind && r.name == name)
            .ok_or_else(|| ApiError::not_found(format!("no {kind} report {name:?}")))?;
        read_capped(&report.path)
    })
    .await
    .map_err(ApiError::internal)??;
    if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
        return Err(ApiError::internal("a report file is not valid JSON"));
    }
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

fn read_capped(path: &Path) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(ApiError::internal)?;
    let mut bytes = Vec::new();
    // bounded even if the file grows while it is read
    file.take(MAX_REPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ApiError::internal)?;
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(ApiError::too_large(format!(
            "the report is larger than the {MAX_REPORT_BYTES} bytes the console shows"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benches_and_evals_are_found_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let bench = dir.path().join("bench-results");
        let evals = dir.path().join("eval-results");
        std::fs::create_dir_all(evals.join("eval-1")).unwrap();
        std::fs::create_dir_all(evals.join("empty")).unwrap();
        std::fs::create_dir_all(&bench).unwrap();
        std::fs::write(bench.join("ann.json"), "{}").unwrap();
        std::fs::write(bench.join("notes.txt"), "x").unwrap();
        std::fs::write(bench.join(".hidden.json"), "{}").unwrap();
        std::fs::write(evals.join("eval-1/report.json"), "{}").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", bench.join("linked.json")).unwrap();
        let found = scan(&[bench, evals, dir.path().join("missing")]);
        let mut names: Vec<(&str, &str)> =
            found.iter().map(|r| (r.kind, r.name.as_str())).collect();
        names.sort_unstable();
        assert_eq!(names, [("bench", "ann.json"), ("eval", "eval-1")]);
    }
}
