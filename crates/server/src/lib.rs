//! Lakehouse as a service: one warm process with an HTTP API over everything the CLI does.
//!
//! [`app`] builds the axum [`Router`](axum::Router) from an [`AppState`] (tests drive it with
//! `oneshot`, no socket); [`serve`] binds it and runs until SIGTERM or Ctrl-C, then drains:
//! in-flight requests finish, open journals are flushed and closed. This is the only crate
//! that knows HTTP wire types; every handler is a thin layer over the same library calls the
//! CLI makes (`lakehouse::Lakehouse` and what it opens).
//!
//! - [`config`]: `lakehouse.toml` with env overrides; tokens stored hashed.
//! - [`auth`]: bearer tokens → a principal with scopes and name prefixes (401 vs 403).
//! - [`error`]: one body shape, status chosen from the library's `Fault`.
//! - `state`: the warm handles (memory namespaces, journals, jobs), `jobs`: long work with
//!   progress and an SSE stream, `metrics`: Prometheus text, `middleware`: request ids, logs, auth, time, concurrency
//!   and per-token rate caps, `openapi`: the generated document and `/docs`, `listen`: the
//!   connection loop (header deadline, connection cap, graceful drain).
//! - `console`: the web console at `/` (assets built in) and its sign-in.
//! - [`mcp`]: the MCP server (tools, prompts, resources) for `/mcp` and `lakehouse mcp` (stdio).
//! - `mem0`: the Mem0 dialects (hosted API for `mem0ai`'s `MemoryClient`, self-hosted paths).

pub mod auth;
pub mod config;
mod console;
pub mod error;
mod extract;
mod jobs;
mod listen;
pub mod mcp;
mod mem0;
mod metrics;
mod middleware;
mod openapi;
mod routes;
mod state;

pub use config::{ConfigError, ConsoleConfig, Limits, ServerConfig, TokenConfig};
pub use error::ApiError;
pub use routes::app;
pub use state::AppState;

/// Serve `state` on `listener` until `shutdown` resolves, then drain: stop accepting, let
/// in-flight requests finish, flush and close the journals written through the server.
/// Connections are capped (`limits.connections`) and a client that does not send its headers
/// within `limits.header_timeout_ms` is disconnected (see `listen`).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(state.clone());
    let mcp_streams = state.mcp_config().cancellation_token.clone();
    let limits = &state.config().limits;
    listen::run(
        listener,
        router,
        std::time::Duration::from_millis(limits.header_timeout_ms),
        limits.connections,
        async move {
            shutdown.await;
            // MCP clients hold event streams open; end them so the drain can finish
            mcp_streams.cancel();
        },
    )
    .await;
    state.close().await;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
