//! The console: a single page at `/` over the server's own `/v1` API, its assets built into the
//! binary (`crates/server/console/`: plain HTML, CSS and JavaScript modules, nothing fetched at
//! run time), and its sign-in.
//!
//! Signing in trades a token for a console session: `POST /console/login` checks the token as
//! the API does, keeps a random session id (its SHA-256 only) with the token's principal and a
//! CSRF token, and sets the id as an `HttpOnly`, `SameSite=Strict` cookie. The API accepts that
//! cookie in place of a bearer token (`middleware::authenticate`); a write made with it must
//! carry the session's CSRF token in `X-CSRF-Token`, which only a page of this origin can read
//! (`GET /console/session`). Every console response forbids framing and scripts from anywhere
//! but this server (a content security policy). A server without tokens needs no sign-in.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "lakehouse_session";
/// The header a cookie-authenticated write carries its CSRF token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";
/// How long a console session lasts.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Console sessions kept at most; past it the oldest go.
const MAX_SESSIONS: usize = 4096;
/// Console sessions one token may hold; past it its oldest goes (so one token cannot push
/// everyone else's sessions out).
const MAX_SESSIONS_PER_TOKEN: usize = 32;

/// What every console response says about where scripts, styles and requests may come from.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The built-in assets: path under `/console/`, content type, bytes.
const ASSETS: [(&str, &str, &str); 5] = [
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../console/console.js"),
    ),
    (
        "data.js",
        "text/javascript; charset=utf-8",
        include_str!("../console/data.js"),
    ),
    (
        "agent.js",
        "text/javascript; charset=utf-8",
        include_str!("../console/agent.js"),
    ),
    (
        "chart.js",
        "text/javascript; charset=utf-8",
        include_str!("../console/chart.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../console/console.css"),
    ),
];
const INDEX: &str = include_str!("../console/index.html");

/// One signed-in browser.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleSession {
    pub(crate) principal: Arc<Principal>,
    pub(crate) csrf: String,
    expires: Instant,
}

/// The console sessions, by the SHA-256 of their cookie value.
#[derive(Debug, Default)]
pub(crate) struct ConsoleSessions {
    sessions: std::sync::Mutex<HashMap<[u8; 32], ConsoleSession>>,
}

fn random_hex() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ConsoleSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], ConsoleSession>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start a session for `principal`; the cookie value.
    fn start(&self, principal: Arc<Principal>) -> String {
        let id = random_hex();
        let now = Instant::now();
        let mut sessions = self.lock();
        sessions.retain(|_, s| s.expires > now);
        let same = |s: &ConsoleSession| s.principal.name == principal.name;
        let oldest = |sessions: &HashMap<[u8; 32], ConsoleSession>, mine: bool| {
            sessions
                .iter()
                .filter(|(_, s)| !mine || same(s))
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| *k)
        };
        if sessions.values().filter(|s| same(s)).count() >= MAX_SESSIONS_PER_TOKEN
            && let Some(key) = oldest(&sessions, true)
        {
            sessions.remove(&key);
        }
        if sessions.len() >= MAX_SESSIONS
            && let Some(key) = oldest(&sessions, false)
        {
            sessions.remove(&key);
        }
        sessions.insert(
            Sha256::digest(id.as_bytes()).into(),
            ConsoleSession {
                principal,
                csrf: random_hex(),
                expires: now + SESSION_TTL,
            },
        );
        id
    }

    /// The live session behind a cookie value.
    pub(crate) fn get(&self, cookie: &str) -> Option<ConsoleSession> {
        let key: [u8; 32] = Sha256::digest(cookie.as_bytes()).into();
        let mut sessions = self.lock();
        match sessions.get(&key) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                sessions.remove(&key);
                None
            }
            None => None,
        }
    }

    fn end(&self, cookie: &str) {
        let key: [u8; 32] = Sha256::digest(cookie.as_bytes()).into();
        self.lock().remove(&key);
    }
}

/// The session cookie's value in `headers`, if any.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// Whether `headers` carry `session`'s CSRF token (compared in constant time).
pub(crate) fn csrf_ok(headers: &HeaderMap, session: &ConsoleSession) -> bool {
    headers
        .get(CSRF_HEADER)
        .is_some_and(|v| bool::from(v.as_bytes().ct_eq(session.csrf.as_bytes())))
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/console/{asset}", get(asset))
        .route("/console/session", get(session))
        .route("/console/login", post(login))
}

/// Security headers every console answer carries.
fn secured(mut response: Response, cache: bool) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        // assets are revalidated, so an upgraded server never mixes old and new modules
        HeaderValue::from_static(if cache { "no-cache" } else { "no-store" }),
    );
    response
}

async fn index() -> Response {
    secured(
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response(),
        false,
    )
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(path, _, _)| *path == name) {
        Some((_, kind, body)) => secured(
            ([(header::CONTENT_TYPE, *kind)], *body).into_response(),
            true,
        ),
        None => ApiError::not_found(format!("no console asset {name:?}")).into_response(),
    }
}

/// Who the console is signed in as.
#[derive(Debug, Serialize)]
struct SessionInfo {
    /// Whether this server checks tokens at all.
    auth: bool,
    /// Whether this browser is signed in (always, without auth).
    authenticated: bool,
    name: String,
    scope: Option<Scope>,
    /// The token writes must carry in `X-CSRF-Token`.
    csrf: Option<String>,
}

async fn session(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let info = if !state.auth().enabled() {
        SessionInfo {
            auth: false,
            authenticated: true,
            name: "anonymous".into(),
            scope: Some(Scope::Admin),
            csrf: None,
        }
    } else {
        match session_cookie(&headers).and_then(|c| state.console().get(c)) {
            Some(s) => SessionInfo {
                auth: true,
                authenticated: true,
                name: s.principal.name.clone(),
                scope: Some(s.principal.scope),
                csrf: Some(s.csrf),
            },
            None => SessionInfo {
                auth: true,
                authenticated: false,
                name: String::new(),
                scope: None,
                csrf: None,
            },
        }
    };
    secured(axum::Json(info).into_response(), false)
}

fn cookie(value: &str, max_age: u64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("lakehouse_session=; Max-Age=0"))
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// `token=…` from a form: a session cookie and, for a browser without scripts, a redirect to
/// the console.
async fn login(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !state.auth().enabled() {
        return ApiError::bad_input(
            "this server has no tokens configured: the console needs no sign-in",
        )
        .into_response();
    }
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_string());
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return ApiError::bad_input("the form has no token: send token=<your token>")
            .into_response();
    };
    let Some(principal) = state.auth().principal(&token) else {
        tracing::info!("console sign-in with an unknown token");
        return ApiError::unauthorized("the token is not known to this server").into_response();
    };
    tracing::info!(token = %principal.name, "console sign-in");
    let id = state.console().start(principal.clone());
    let mut response = if wants_json(&headers) {
        axum::Json(serde_json::json!({"name": principal.name, "scope": principal.scope}))
            .into_response()
    } else {
        (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
    };
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&id, SESSION_TTL.as_secs()));
    secured(response, false)
}

/// End this browser's session (mounted behind the auth middleware, which has checked its CSRF
/// token).
pub(crate) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(value) = session_cookie(&headers) {
        state.console().end(value);
    }
    let mut response = axum::Json(serde_json::json!({"signed_out": true})).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie("", 0));
    secured(response, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; lakehouse_session=abc ; b=2"),
        );
        assert_eq!(session_cookie(&headers), Some("abc"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("lakehouse_sessionx=1"),
        );
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn sessions_expire_and_end() {
        let sessions = ConsoleSessions::default();
        let id = sessions.start(Arc::new(Principal::open()));
        let found = sessions.get(&id).unwrap();
        assert_eq!(found.csrf.len(), 64);
        assert!(sessions.get("not-a-session").is_none());
        let mut headers = HeaderMap::new();
        assert!(!csrf_ok(&headers, &found));
        headers.insert(CSRF_HEADER, HeaderValue::from_str(&found.csrf).unwrap());
        assert!(csrf_ok(&headers, &found));
        sessions.end(&id);
        assert!(sessions.get(&id).is_none());
    }

    #[test]
    fn one_token_cannot_crowd_out_the_others() {
        let sessions = ConsoleSessions::default();
        let other = sessions.start(Arc::new(Principal {
            name: "other".into(),
            ..Principal::open()
        }));
        let first = sessions.start(Arc::new(Principal::open()));
        for _ in 0..MAX_SESSIONS_PER_TOKEN {
            sessions.start(Arc::new(Principal::open()));
        }
        assert!(
            sessions.get(&first).is_none(),
            "its own oldest session went"
        );
        assert!(
            sessions.get(&other).is_some(),
            "another token's session stayed"
        );
    }

    #[test]
    fn every_asset_the_page_imports_is_served() {
        for name in ["console.js", "console.css"] {
            assert!(INDEX.contains(&format!("/console/{name}")), "{name}");
        }
        for (path, _, body) in ASSETS {
            for import in body.split("from './").skip(1) {
                let file = import.split('\'').next().unwrap();
                assert!(
                    ASSETS.iter().any(|(p, _, _)| *p == file),
                    "{path} imports {file}, which is not served"
                );
            }
        }
    }
}
