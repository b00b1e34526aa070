//! What every request passes through, outermost first: a request id (the `x-request-id`
//! header, echoed; made up when absent) under which everything is logged, with the route's
//! metrics; the browser guard (no cross-origin writes; without tokens, loopback host names
//! only); the request timeout; authentication (a token, or a console session with its CSRF
//! token for writes) and the per-token rate limit. Body caps are
//! axum's `DefaultBodyLimit`, concurrency tower's global limit (see `routes::app`).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tracing::Instrument;

use crate::auth::Auth;
use crate::console;
use crate::error::{ApiError, REQUEST_ID};
use crate::state::AppState;

/// The header carrying the request id.
pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// Per-token request rates.
pub(crate) struct RateLimits {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("enabled", &self.limiter.is_some())
            .finish()
    }
}

impl RateLimits {
    /// `per_second` requests per token with bursts of `burst`; 0 turns the limit off.
    pub(crate) fn new(per_second: u32, burst: u32) -> RateLimits {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        RateLimits { limiter }
    }

    /// Admit one request of `key`, or say how many seconds to wait.
    fn check(&self, key: &str) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

fn new_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Request id, log line and metrics.
pub(crate) async fn observe(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(new_request_id, str::to_string);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().to_string();
    let metrics = Arc::clone(&state.metrics());
    metrics.in_flight.inc();
    let started = Instant::now();
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span.clone()))
        .await;
    let seconds = started.elapsed().as_secs_f64();
    metrics.in_flight.dec();
    let status = response.status().as_u16();
    metrics.observe(&method, &route, status, seconds);
    span.in_scope(|| {
        tracing::info!(status, ms = seconds * 1000.0, "answered");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}

/// Who is calling (401 when nobody we know), and whether they are within their rate (429).
/// A request without a token but with a console session cookie is that session's principal;
/// a write made so must carry the session's CSRF token (403 without it).
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let cookie = console::session_cookie(headers)
        .filter(|_| state.auth().enabled() && !Auth::presented(headers));
    let principal = match cookie {
        Some(cookie) => match state.console().get(cookie) {
            Some(session) if is_write(request.method()) && !console::csrf_ok(headers, &session) => {
                return ApiError::forbidden(
                    "a write from the console must carry its CSRF token (X-CSRF-Token); reload the page",
                )
                .into_response();
            }
            Some(session) => session.principal,
            None => {
                return ApiError::unauthorized(
                    "the console session is unknown or has expired: sign in again",
                )
                .into_response();
            }
        },
        None => match state.auth().authenticate(headers) {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        },
    };
    if let Err(secs) = state.rate_limits().check(&principal.name) {
        return ApiError::rate_limited(secs).into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// Stop a request that has not produced its response headers within the configured time
/// (streams already started, such as SSE, run on).
pub(crate) async fn timeout(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let millis = state.config().limits.request_timeout_ms;
    match tokio::time::timeout(Duration::from_millis(millis), next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout(millis).into_response(),
    }
}

/// Whether a request changes something (anything but GET, HEAD, OPTIONS).
fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// What a browser may not make this server do, whatever the credentials:
/// - a write sent from another site (`Sec-Fetch-Site`, or an `Origin` that is not this
///   server's): forms and scripts of other pages cannot post here (403);
/// - without tokens, a request naming this server by a host name that is not a loopback one:
///   a page whose domain was re-pointed at 127.0.0.1 (DNS rebinding) reads nothing (403).
///
/// Clients that are not browsers send neither header and pass.
pub(crate) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !state.auth().enabled()
        && let Some(host) = host
        && !is_loopback_host(host)
    {
        return ApiError::forbidden(format!(
            "this server has no tokens configured, so it answers only to loopback names \
             (127.0.0.1, localhost), not to {host:?}"
        ))
        .into_response();
    }
    if is_write(request.method()) {
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let cross = match site {
            Some(site) => site != "same-origin" && site != "none",
            None => headers
                .get(header::ORIGIN)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|origin| !same_origin(origin, host)),
        };
        if cross {
            return ApiError::forbidden(
                "cross-site writes are refused: send this request from the server's own pages, \
                 or from a client that is not a browser",
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Whether `origin` (`scheme://host[:port]`) names the host the request was sent to.
fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

/// `127.0.0.1[:port]`, `[::1][:port]`, `localhost[:port]`, `*.localhost[:port]`.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        })
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for good in [
            "127.0.0.1:7777",
            "127.0.0.1",
            "localhost:7777",
            "LOCALHOST",
            "app.localhost:80",
            "[::1]:7777",
            "127.1.2.3:9",
        ] {
            assert!(is_loopback_host(good), "{good}");
        }
        for bad in [
            "evil.example:7777",
            "192.168.1.4:7777",
            "localhost.evil.example",
            "[2001:db8::1]:80",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn origins() {
        assert!(same_origin("http://127.0.0.1:7777", Some("127.0.0.1:7777")));
        assert!(!same_origin("http://evil.example", Some("127.0.0.1:7777")));
        assert!(!same_origin("null", Some("127.0.0.1:7777")));
        assert!(!same_origin("http://127.0.0.1:7777", None));
    }
}
