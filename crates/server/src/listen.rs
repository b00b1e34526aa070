//! Accepting connections: HTTP/1.1 on hyper, with what a server facing slow or hostile clients
//! needs and `axum::serve` does not set — a deadline for a request's headers (a client that
//! trickles them, slow-loris style, is disconnected instead of holding a connection forever), a
//! cap on open connections (past it, new ones wait in the kernel's backlog until one closes),
//! accept errors such as running out of file descriptors survived with a pause, and a graceful
//! drain: on shutdown no new connections are taken, idle ones close, in-flight requests finish
//! (for at most [`DRAIN`]; long streams such as SSE tails are then cut). hyper restarts the
//! header deadline while a kept-alive connection waits for its next request, so it is also the
//! idle timeout. A client that stops reading a response it asked for is not timed out here.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How long in-flight requests may take to finish after shutdown starts.
pub(crate) const DRAIN: Duration = Duration::from_secs(30);

/// Serve `router` on `listener` until `shutdown` resolves, then drain.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    max_connections: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // reap finished connections so the set holds only live ones
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // out of file descriptors, a connection reset before it was taken, ...:
                    // the listener itself is fine, so pause and go on
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(
            router
                .clone()
                .map_request(|request: Request<Incoming>| request.map(Body::new)),
        );
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended: {e}");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open {} s after shutdown began; closing them",
            DRAIN.as_secs()
        );
    }
    // whatever is left (a stream that never ends) is cut before the state is closed
    connections.shutdown().await;
}
