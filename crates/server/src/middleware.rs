//! What every request passes through, outermost first: a request id (the `x-request-id`
//! header, echoed; made up when absent) under which everything is logged, with the route's
//! metrics; the request timeout; authentication and the per-token rate limit. Body caps are
//! axum's `DefaultBodyLimit`, concurrency tower's global limit (see `routes::app`).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tracing::Instrument;

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
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match state.auth().authenticate(request.headers()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
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
