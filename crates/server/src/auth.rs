//! Who is calling: a bearer token (`Authorization: Bearer <token>`) is hashed and compared in
//! constant time with every configured hash; the match is a [`Principal`] with scopes and the
//! name prefixes it may touch. No header or an unknown token is 401; a known token asking for
//! what it may not is 403. Without configured tokens every caller is an administrator — the
//! server then refuses to listen on anything but loopback.

use std::sync::Arc;

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::TokenConfig;
use crate::error::ApiError;

/// What a token may do. `write` includes `read`; `admin` includes both and the operations
/// that drop things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Look: list, describe, SQL, search, memory reads, journal reads.
    Read,
    /// Change: ingest, build, memory writes, journal appends.
    Write,
    /// Everything, including drops.
    Admin,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (never the token).
    pub name: String,
    /// Its highest scope.
    pub scope: Scope,
    /// Name prefixes it may touch; empty means all.
    pub prefixes: Vec<String>,
    /// The memory namespace its MCP calls use when they name none.
    pub namespace: Option<String>,
}

impl Principal {
    /// The caller of a server without tokens.
    pub fn open() -> Principal {
        Principal {
            name: "anonymous".into(),
            scope: Scope::Admin,
            prefixes: Vec::new(),
            namespace: None,
        }
    }

    /// Refuse (403) unless this caller has `scope` and may touch every one of `names`.
    pub fn require(&self, scope: Scope, names: &[&str]) -> Result<(), ApiError> {
        if self.scope < scope {
            return Err(ApiError::forbidden(format!(
                "token {:?} has scope {:?}; this needs {:?}",
                self.name, self.scope, scope
            )));
        }
        for name in names {
            if !self.may_touch(name) {
                return Err(ApiError::forbidden(format!(
                    "token {:?} may not touch {name:?} (its prefixes: {})",
                    self.name,
                    self.prefixes.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Whether `name` (a dataset, corpus, namespace or journal) is within this caller's reach.
    pub fn may_touch(&self, name: &str) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }
}

/// The configured tokens, by hash.
#[derive(Debug, Default)]
pub struct Auth {
    tokens: Vec<([u8; 32], Arc<Principal>)>,
}

impl Auth {
    /// From the configuration (hashes already checked by `ServerConfig::validate`).
    pub fn new(tokens: &[TokenConfig]) -> Auth {
        let tokens = tokens
            .iter()
            .filter_map(|t| {
                let hash = decode_hex(&t.sha256)?;
                let scope = t.scopes.iter().copied().max()?;
                Some((
                    hash,
                    Arc::new(Principal {
                        name: t.name.clone(),
                        scope,
                        prefixes: t.prefixes.clone(),
                        namespace: t.namespace.clone(),
                    }),
                ))
            })
            .collect();
        Auth { tokens }
    }

    /// Whether any token is configured.
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// The caller behind the request's headers. Every configured hash is compared (in constant
    /// time each), so the time taken does not say which one matched or how closely.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Arc<Principal>, ApiError> {
        if !self.enabled() {
            return Ok(Arc::new(Principal::open()));
        }
        let token = match (
            headers.get(axum::http::header::AUTHORIZATION),
            headers.get("x-api-key"),
        ) {
            (Some(value), _) => value
                .to_str()
                .ok()
                .and_then(|v| {
                    let (scheme, rest) = v.split_once(' ')?;
                    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
                        .then(|| rest.trim())
                })
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "the Authorization header must be `Bearer <token>` (or `Token <token>`)",
                    )
                })?,
            // the Mem0 self-hosted server's header
            (None, Some(value)) => value.to_str().map(str::trim).map_err(|_| {
                ApiError::unauthorized("the X-API-Key header is not a visible-ASCII token")
            })?,
            (None, None) => {
                return Err(ApiError::unauthorized(
                    "this server needs a token: send `Authorization: Bearer <token>`",
                ));
            }
        };
        self.principal(token)
            .ok_or_else(|| ApiError::unauthorized("the token is not known to this server"))
    }

    /// The caller a token stands for, if it is one of ours. Every configured hash is compared
    /// (in constant time each).
    pub fn principal(&self, token: &str) -> Option<Arc<Principal>> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (hash, principal) in &self.tokens {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(principal);
            }
        }
        found.cloned()
    }

    /// Whether `headers` present a token (`Authorization` or `X-API-Key`), as opposed to
    /// nothing or only a console cookie.
    pub fn presented(headers: &HeaderMap) -> bool {
        headers.contains_key(axum::http::header::AUTHORIZATION) || headers.contains_key("x-api-key")
    }
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let hex = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(hex, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::hash_token;

    fn auth() -> Auth {
        Auth::new(&[TokenConfig {
            name: "reader".into(),
            sha256: hash_token("reader-token-0123456789"),
            scopes: vec![Scope::Read],
            prefixes: vec!["team_a".into()],
            namespace: None,
        }])
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn tokens_are_checked_by_hash() {
        let auth = auth();
        let p = auth
            .authenticate(&headers("Bearer reader-token-0123456789"))
            .unwrap();
        assert_eq!((p.name.as_str(), p.scope), ("reader", Scope::Read));
        for bad in ["Bearer nope", "Basic abc", "reader-token-0123456789"] {
            let err = auth.authenticate(&headers(bad)).unwrap_err();
            assert_eq!(err.status(), axum::http::StatusCode::UNAUTHORIZED, "{bad}");
        }
        let err = auth.authenticate(&HeaderMap::new()).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::UNAUTHORIZED);
        let mut key = HeaderMap::new();
        key.insert("x-api-key", "reader-token-0123456789".parse().unwrap());
        assert_eq!(auth.authenticate(&key).unwrap().name, "reader");
        key.insert("x-api-key", "wrong-token-0123456789".parse().unwrap());
        let err = auth.authenticate(&key).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn scopes_and_prefixes_decide_403() {
        let p = auth()
            .authenticate(&headers("Bearer reader-token-0123456789"))
            .unwrap();
        p.require(Scope::Read, &["team_a_permits"]).unwrap();
        let err = p.require(Scope::Write, &["team_a_permits"]).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::FORBIDDEN);
        let err = p.require(Scope::Read, &["team_b"]).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::FORBIDDEN);
        assert!(!err.to_string().contains("reader-token"), "{err}");
    }
}
