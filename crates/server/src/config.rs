//! The server's configuration: `lakehouse.toml` (every key optional), then environment
//! overrides, then flags. Tokens are kept only as SHA-256 hashes: the file holds hashes
//! (`lakehouse token hash` makes one), and a token from the environment is hashed as soon as
//! it is read. [`ServerConfig::redacted`] is what `lakehouse config show` prints.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Scope;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (line, column, key).
        message: String,
    },
    /// An environment variable holds a value that cannot be used.
    #[error("invalid environment variable {name}: {reason}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A value that parses but cannot work (a token without scopes, a zero limit, ...).
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Everything `lakehouse serve` needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The store URL (a path, `file://…`, `memory://`, `s3://bucket/prefix`).
    pub store: String,
    /// Where to listen. Loopback by default; any other address needs at least one token.
    pub addr: SocketAddr,
    /// The embedder of new memory namespaces (existing ones keep their own).
    pub embedder: String,
    /// Caps on requests.
    pub limits: Limits,
    /// The console at `/`.
    pub console: ConsoleConfig,
    /// Who may call, with what scopes. Empty: no auth, loopback only.
    pub tokens: Vec<TokenConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            store: lakehouse::store::DEFAULT_STORE_URL.to_string(),
            addr: SocketAddr::from(([127, 0, 0, 1], 7777)),
            embedder: "minilm".to_string(),
            limits: Limits::default(),
            console: ConsoleConfig::default(),
            tokens: Vec::new(),
        }
    }
}

/// Caps on what one request may cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest JSON body, in bytes (413 above).
    pub body_bytes: usize,
    /// Largest dataset upload, in bytes (413 above); uploads are streamed to a file.
    pub upload_bytes: u64,
    /// Longest a request may take to produce its response headers, in milliseconds.
    pub request_timeout_ms: u64,
    /// Requests served at once; more wait for a slot (within the request timeout).
    pub concurrency: usize,
    /// Requests per second per token (or per server without tokens); 0 turns the cap off.
    pub rate_per_second: u32,
    /// Requests a token may send at once above its rate.
    pub rate_burst: u32,
    /// Most rows one SQL answer holds (`truncated: true` when it bit).
    pub sql_rows: usize,
    /// Longest one SQL query may run, in milliseconds.
    pub sql_timeout_ms: u64,
    /// Most memory one SQL query's operators may hold, in bytes (an error above, never an OOM).
    pub sql_memory_bytes: usize,
    /// Bytes of loaded corpus segments kept in memory (their files' sizes), least recently
    /// used out first.
    pub corpus_cache_bytes: u64,
    /// Most bytes one ingest's Parquet input may decode to in memory (a failed job above).
    pub ingest_decoded_bytes: u64,
    /// Open connections at most; more wait to be accepted until one closes.
    pub connections: usize,
    /// Longest a client may take to send a request's headers, in milliseconds (then it is
    /// disconnected: a slow-loris client cannot hold a connection).
    pub header_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 10 << 20,
            upload_bytes: 2 << 30,
            request_timeout_ms: 60_000,
            concurrency: 256,
            rate_per_second: 0,
            rate_burst: 100,
            sql_rows: 10_000,
            sql_timeout_ms: 30_000,
            sql_memory_bytes: 1 << 30,
            corpus_cache_bytes: 2 << 30,
            ingest_decoded_bytes: lakehouse::table::DEFAULT_MAX_DECODED_BYTES,
            connections: 1024,
            header_timeout_ms: 10_000,
        }
    }
}

/// The console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Folders whose reports the console charts (relative to the server's working folder):
    /// `*.json` files directly inside are benchmark results (`lakehouse bench` writes
    /// `bench-results/`), subfolders holding a `report.json` are agent evals (`lakehouse agent
    /// eval` writes `eval-results/eval-<time>/`). Missing folders are skipped.
    pub reports: Vec<std::path::PathBuf>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            reports: vec!["bench-results".into(), "eval-results".into()],
        }
    }
}

/// One caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who this is (shown in logs and metrics, never the token).
    pub name: String,
    /// SHA-256 of the token, lowercase hex (`lakehouse token hash`).
    pub sha256: String,
    /// What it may do: `read`, `write` (implies read), `admin` (everything).
    pub scopes: Vec<Scope>,
    /// Datasets, corpora, memory namespaces and journals it may touch, by name prefix; empty
    /// means all.
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// The memory namespace this token's MCP calls use when they name none (default
    /// `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The SHA-256 of a token, as the config file stores it.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` as TOML text (for printing config entries).
pub fn to_toml(value: &impl Serialize) -> Result<String, ConfigError> {
    toml::to_string(value).map_err(|e| ConfigError::Invalid(format!("cannot print as TOML: {e}")))
}

/// The name the admin token from `LAKEHOUSE_ADMIN_TOKEN` gets.
pub const ADMIN_TOKEN_NAME: &str = "admin (LAKEHOUSE_ADMIN_TOKEN)";

impl ServerConfig {
    /// Read `path` (TOML). A missing file is an error; use [`ServerConfig::default`] for none.
    pub fn from_file(path: &Path) -> Result<ServerConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parse TOML text.
    pub fn from_toml(text: &str) -> Result<ServerConfig, ConfigError> {
        let config: ServerConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "(text)".into(),
            message: e.to_string().trim().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Apply the environment: `LAKEHOUSE_STORE`, `LAKEHOUSE_ADDR`, `LAKEHOUSE_EMBEDDER`, and
    /// `LAKEHOUSE_ADMIN_TOKEN` (a token with every scope, hashed at once).
    pub fn with_env(self) -> Result<ServerConfig, ConfigError> {
        self.with_vars(|name| std::env::var(name).ok())
    }

    /// [`ServerConfig::with_env`] over any variable source (tests).
    pub fn with_vars(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<ServerConfig, ConfigError> {
        if let Some(store) = var("LAKEHOUSE_STORE").filter(|s| !s.is_empty()) {
            self.store = store;
        }
        if let Some(addr) = var("LAKEHOUSE_ADDR").filter(|s| !s.is_empty()) {
            self.addr = addr.parse().map_err(|e| ConfigError::Env {
                name: "LAKEHOUSE_ADDR",
                reason: format!("{addr:?} is not an address like 127.0.0.1:7777 ({e})"),
            })?;
        }
        if let Some(embedder) = var("LAKEHOUSE_EMBEDDER").filter(|s| !s.is_empty()) {
            self.embedder = embedder;
        }
        if let Some(token) = var("LAKEHOUSE_ADMIN_TOKEN") {
            if token.trim().len() < 16 {
                return Err(ConfigError::Env {
                    name: "LAKEHOUSE_ADMIN_TOKEN",
                    reason: "a token must have at least 16 characters".into(),
                });
            }
            self.tokens.retain(|t| t.name != ADMIN_TOKEN_NAME);
            self.tokens.push(TokenConfig {
                name: ADMIN_TOKEN_NAME.into(),
                sha256: hash_token(token.trim()),
                scopes: vec![Scope::Admin],
                prefixes: Vec::new(),
                namespace: None,
            });
        }
        self.validate()?;
        Ok(self)
    }

    /// Check what parsing cannot: hashes, scopes, limits, names.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        self.embedder
            .parse::<lakehouse::models::EmbedderSpec>()
            .map_err(|e| ConfigError::Invalid(format!("embedder: {e}")))?;
        let l = &self.limits;
        for (name, value) in [
            ("limits.body_bytes", l.body_bytes as u64),
            ("limits.upload_bytes", l.upload_bytes),
            ("limits.request_timeout_ms", l.request_timeout_ms),
            ("limits.concurrency", l.concurrency as u64),
            ("limits.sql_rows", l.sql_rows as u64),
            ("limits.sql_timeout_ms", l.sql_timeout_ms),
            ("limits.sql_memory_bytes", l.sql_memory_bytes as u64),
            ("limits.corpus_cache_bytes", l.corpus_cache_bytes),
            ("limits.ingest_decoded_bytes", l.ingest_decoded_bytes),
            ("limits.connections", l.connections as u64),
            ("limits.header_timeout_ms", l.header_timeout_ms),
        ] {
            if value == 0 {
                return bad(format!("{name} must be above 0"));
            }
        }
        if l.rate_per_second > 0 && l.rate_burst == 0 {
            return bad(
                "limits.rate_burst must be above 0 when limits.rate_per_second is set".into(),
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for t in &self.tokens {
            if t.name.trim().is_empty() {
                return bad("a token has an empty name".into());
            }
            if !names.insert(t.name.as_str()) {
                return bad(format!("two tokens are named {:?}", t.name));
            }
            if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return bad(format!(
                    "token {:?}: sha256 must be 64 hex digits (make one with `lakehouse token hash`)",
                    t.name
                ));
            }
            if t.scopes.is_empty() {
                return bad(format!("token {:?} has no scopes", t.name));
            }
        }
        Ok(())
    }

    /// Refuse to listen beyond loopback without tokens: anyone who can reach the port would
    /// have every scope.
    pub fn check_exposure(&self) -> Result<(), ConfigError> {
        if self.addr.ip().is_loopback() || !self.tokens.is_empty() {
            return Ok(());
        }
        Err(ConfigError::Invalid(format!(
            "refusing to listen on {}: no tokens are configured, so anyone who can reach it could read and change everything. \
             Set LAKEHOUSE_ADMIN_TOKEN, add [[tokens]] to lakehouse.toml (`lakehouse token new`), or listen on 127.0.0.1",
            self.addr
        )))
    }

    /// The configuration as TOML with every token hash replaced, for printing.
    pub fn redacted(&self) -> String {
        let mut shown = self.clone();
        for t in &mut shown.tokens {
            t.sha256 = "<redacted>".into();
        }
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot print the config: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_loopback_and_without_tokens() {
        let c = ServerConfig::from_toml("").unwrap();
        assert!(c.addr.ip().is_loopback());
        assert!(c.tokens.is_empty());
        assert_eq!(c.limits.body_bytes, 10 << 20);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = ServerConfig::from_toml("adress = \"0.0.0.0:1\"").unwrap_err();
        assert!(err.to_string().contains("unknown field `adress`"), "{err}");
        let err = ServerConfig::from_toml("[limits]\nbody_bytes = 0").unwrap_err();
        assert!(err.to_string().contains("limits.body_bytes"), "{err}");
        let err = ServerConfig::from_toml("[limits]\ncorpus_cache_bytes = 0").unwrap_err();
        assert!(
            err.to_string().contains("limits.corpus_cache_bytes"),
            "{err}"
        );
        let c = ServerConfig::from_toml("[limits]\ncorpus_cache_bytes = 1048576").unwrap();
        assert_eq!(c.limits.corpus_cache_bytes, 1 << 20);
        let err = ServerConfig::from_toml(
            "[[tokens]]\nname = \"a\"\nsha256 = \"abc\"\nscopes = [\"read\"]",
        )
        .unwrap_err();
        assert!(err.to_string().contains("64 hex digits"), "{err}");
        let err = ServerConfig::from_toml(&format!(
            "[[tokens]]\nname = \"a\"\nsha256 = \"{}\"\nscopes = [\"root\"]",
            hash_token("x")
        ))
        .unwrap_err();
        assert!(err.to_string().contains("root"), "{err}");
    }

    #[test]
    fn a_public_address_needs_a_token() {
        let mut c = ServerConfig::default();
        c.check_exposure().unwrap();
        c.addr = "0.0.0.0:7777".parse().unwrap();
        let err = c.check_exposure().unwrap_err();
        assert!(
            err.to_string()
                .contains("refusing to listen on 0.0.0.0:7777"),
            "{err}"
        );
        let c = c
            .with_vars(|name| {
                (name == "LAKEHOUSE_ADMIN_TOKEN").then(|| "0123456789abcdef0123".to_string())
            })
            .unwrap();
        c.check_exposure().unwrap();
    }

    #[test]
    fn the_admin_token_from_the_environment_is_hashed_and_redacted() {
        let secret = "s3cret-token-0123456789";
        let c = ServerConfig::default()
            .with_vars(|name| (name == "LAKEHOUSE_ADMIN_TOKEN").then(|| secret.to_string()))
            .unwrap();
        assert_eq!(c.tokens.len(), 1);
        assert_eq!(c.tokens[0].sha256, hash_token(secret));
        let shown = c.redacted();
        assert!(
            !shown.contains(secret) && !shown.contains(&hash_token(secret)),
            "{shown}"
        );
        assert!(shown.contains("<redacted>"), "{shown}");
        let err = ServerConfig::default()
            .with_vars(|name| (name == "LAKEHOUSE_ADMIN_TOKEN").then(|| "short".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("at least 16"), "{err}");
    }
}
