//! `lakehouse serve` (the HTTP API over the store), `lakehouse mcp` (MCP over stdio),
//! `lakehouse config show` (the effective server configuration, secrets redacted) and
//! `lakehouse token new|hash` (tokens for the config file, which stores only their hashes).

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use lakehouse_server::auth::Scope;
use lakehouse_server::{AppState, ServerConfig, config::hash_token};

use crate::Globals;

/// The config file read when `--config` is not given, if it exists.
const DEFAULT_CONFIG: &str = "lakehouse.toml";

#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// The config file (TOML). Default: ./lakehouse.toml when it exists. Every key is optional:
    /// store, addr, embedder, [limits] (body_bytes, upload_bytes, request_timeout_ms,
    /// concurrency, connections, header_timeout_ms, rate_per_second, rate_burst, sql_rows,
    /// sql_timeout_ms, sql_memory_bytes, corpus_cache_bytes, ingest_decoded_bytes), [console]
    /// (reports: folders of benchmark and eval reports to chart), [[tokens]] (name, sha256,
    /// scopes, prefixes, namespace).
    #[arg(long, env = "LAKEHOUSE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Listen here (overrides the file and LAKEHOUSE_ADDR). Port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Args)]
pub(crate) struct McpArgs {
    /// The config file (TOML), as for `lakehouse serve`: its store, embedder and limits apply
    /// (tokens and addr do not: the stdio client is the local user). Default: ./lakehouse.toml
    /// when it exists.
    #[arg(long, env = "LAKEHOUSE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The memory namespace the memory tools use when a call names none.
    #[arg(long, value_name = "NAMESPACE", default_value = lakehouse_server::mcp::DEFAULT_NAMESPACE)]
    namespace: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the configuration `lakehouse serve` would use (file, then environment, then
    /// flags), with token hashes redacted.
    Show(ConfigArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Make a new random token: prints the token (once: store it) and the [[tokens]] entry for
    /// lakehouse.toml, which holds only its hash.
    New(NewTokenArgs),
    /// Print the SHA-256 of a token read from stdin, as lakehouse.toml stores it.
    Hash,
}

#[derive(Debug, Args)]
pub(crate) struct NewTokenArgs {
    /// Who it is for (shown in logs and metrics).
    #[arg(long)]
    name: String,
    /// read, write or admin.
    #[arg(long, default_value = "read")]
    scope: String,
    /// Limit it to datasets, corpora, namespaces and journals whose names start with this
    /// (repeatable).
    #[arg(long, value_name = "PREFIX")]
    prefix: Vec<String>,
    /// The memory namespace its MCP calls use when they name none (default: `default`).
    #[arg(long, value_name = "NAMESPACE")]
    namespace: Option<String>,
}

/// The effective configuration: the file, then the environment, then the flags.
fn load(globals: &Globals, args: &ConfigArgs) -> anyhow::Result<ServerConfig> {
    let mut config = match &args.config {
        Some(path) => ServerConfig::from_file(path)?,
        None if std::path::Path::new(DEFAULT_CONFIG).exists() => {
            ServerConfig::from_file(std::path::Path::new(DEFAULT_CONFIG))?
        }
        None => ServerConfig::default(),
    }
    .with_env()?;
    if let Some(store) = &globals.store_flag {
        config.store.clone_from(store);
    }
    if let Some(addr) = args.addr {
        config.addr = addr;
    }
    config.validate()?;
    Ok(config)
}

pub(crate) async fn serve(globals: &Globals, args: ServeArgs) -> anyhow::Result<()> {
    let config = load(globals, &args.config)?;
    config.check_exposure()?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let addr = listener.local_addr()?;
    let store = config.store.clone();
    let auth = if config.tokens.is_empty() {
        "no auth (loopback only)".to_string()
    } else {
        format!("{} token(s)", config.tokens.len())
    };
    let state = AppState::open(config)
        .await
        .with_context(|| format!("opening store {store}"))?;
    eprintln!(
        "lakehouse: serving {store} on http://{addr} ({auth}); console at http://{addr}/, API docs at http://{addr}/docs; Ctrl-C or SIGTERM stops"
    );
    lakehouse_server::serve(state, listener, lakehouse_server::shutdown_signal()).await?;
    eprintln!("lakehouse: stopped; in-flight requests finished, journals flushed");
    Ok(())
}

/// `lakehouse mcp`: one MCP client over stdin/stdout until it disconnects (or SIGTERM/Ctrl-C).
/// stdout carries only protocol messages; logs go to stderr.
pub(crate) async fn mcp(globals: &Globals, args: McpArgs) -> anyhow::Result<()> {
    lakehouse::memory::validate_namespace(&args.namespace)
        .with_context(|| format!("--namespace {:?}", args.namespace))?;
    let config = load(
        globals,
        &ConfigArgs {
            config: args.config,
            addr: None,
        },
    )?;
    let store = config.store.clone();
    let state = AppState::open(config)
        .await
        .with_context(|| format!("opening store {store}"))?;
    tracing::info!(store = %store, namespace = %args.namespace, "serving MCP over stdio");
    let server = lakehouse_server::mcp::McpServer::local(state.clone(), args.namespace);
    let result = tokio::select! {
        served = server.serve_stdio() => served.map_err(anyhow::Error::from),
        () = lakehouse_server::shutdown_signal() => Ok(()),
    };
    state.close().await;
    result
}

pub(crate) fn config(globals: &Globals, command: ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Show(args) => {
            let config = load(globals, &args)?;
            print!("{}", config.redacted());
        }
    }
    Ok(())
}

pub(crate) fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::New(args) => {
            let scope: Scope = serde_json::from_value(serde_json::Value::String(
                args.scope.clone(),
            ))
            .map_err(|_| {
                anyhow::anyhow!(
                    "unknown scope {:?}: expected read, write or admin",
                    args.scope
                )
            })?;
            let token = format!(
                "lh_{:016x}{:016x}",
                rand::random::<u64>(),
                rand::random::<u64>()
            );
            let entry = lakehouse_server::TokenConfig {
                name: args.name,
                sha256: hash_token(&token),
                scopes: vec![scope],
                prefixes: args.prefix,
                namespace: args.namespace,
            };
            #[derive(serde::Serialize)]
            struct Entry {
                tokens: Vec<lakehouse_server::TokenConfig>,
            }
            let block = toml_block(&Entry {
                tokens: vec![entry],
            })?;
            println!("token (shown once; the server keeps only its hash): {token}");
            println!();
            println!("add to lakehouse.toml:");
            print!("{block}");
        }
        TokenCommand::Hash => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the token from stdin")?;
            let token = text.trim();
            anyhow::ensure!(!token.is_empty(), "stdin holds no token");
            println!("{}", hash_token(token));
        }
    }
    Ok(())
}

fn toml_block(value: &impl serde::Serialize) -> anyhow::Result<String> {
    Ok(lakehouse_server::config::to_toml(value)?)
}
