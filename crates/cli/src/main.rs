//! `lakehouse`: the command-line interface to Lakehouse.
//!
//! Global flags pick the store and the output; each subcommand lives in its own module. Errors
//! print as one line (`error: …` with its causes) and exit non-zero; usage errors exit 2.

/// `println!` that returns an error instead of panicking when stdout is gone (a closed pipe).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod agent;
mod analyze;
mod bench;
mod corpus;
mod dataset;
mod demo;
mod gc;
mod journal;
mod memory;
mod serve;
mod sql;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lakehouse::{Config, Lakehouse};
use tracing_subscriber::EnvFilter;

/// Lakehouse: a data-and-memory platform for AI agents.
///
/// Everything lives in one store: a local folder (the default, ./lakehouse-data), memory://, or
/// s3://bucket/prefix (AWS_* variables; AWS_ENDPOINT_URL for MinIO-style servers).
#[derive(Debug, Parser)]
#[command(name = "lakehouse", version, propagate_version = true)]
struct Cli {
    /// Where data lives: a folder, file:///abs/path, memory://, or s3://bucket/prefix.
    /// [default: ./lakehouse-data; for `serve`, the config file's store]
    #[arg(long, global = true, env = "LAKEHOUSE_STORE")]
    store: Option<String>,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,

    /// More logging on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The whole product on the bundled real-data samples: ingest, corpora, a matrix search,
    /// memory UPSERT/REVISE/RETIRE/HISTORY, and one task run twice through the agent (the
    /// second run uses the playbook the first sealed). Safe to run again.
    Demo(demo::DemoArgs),
    /// Ingest raw corpora (CSV, JSON, JSONL, Parquet, text) into Delta tables; list, describe,
    /// show history, drop.
    #[command(subcommand)]
    Dataset(dataset::DatasetCommand),
    /// Run a read-only SQL query over every dataset (tables are named after datasets).
    Sql(sql::SqlArgs),
    /// Build, inspect, tune and drop corpora (vector + BM25 indexes over a dataset's rows).
    #[command(subcommand)]
    Corpus(corpus::CorpusCommand),
    /// Search one or more corpora at once (matrix search), fused into one ranking.
    Search(corpus::SearchArgs),
    /// Append to, read, compact and inspect journals (write-once append logs in the store).
    #[command(subcommand)]
    Journal(journal::JournalCommand),
    /// Agent memory: versioned pathways and playbooks (upsert, revise, retire, history, get,
    /// list, search, record-outcome) in a namespace.
    #[command(subcommand)]
    Memory(memory::MemoryCommand),
    /// Run tasks through the agent loop (tools, observer, playbooks).
    #[command(subcommand)]
    Agent(agent::AgentCommand),
    /// Run a model over every row of a dataset with a prompt template and a JSON schema;
    /// structured answers go to a new dataset (concurrent, resumable).
    Analyze(analyze::AnalyzeArgs),
    /// Reclaim space: delete the dataset files and corpus versions no version within the
    /// retention window reads (--retain, default 7d). The current version of everything stays;
    /// --dry-run only reports. Memory and journals are not touched.
    Gc(gc::GcArgs),
    /// Measure Lakehouse against its peers; writes JSON under bench-results/.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Serve the HTTP API (datasets, SQL, corpora, search, memory, journals, jobs) from one
    /// warm process: models, indexes and namespaces stay loaded between requests. Loopback
    /// without tokens; any other address needs a token (LAKEHOUSE_ADMIN_TOKEN or [[tokens]]).
    Serve(serve::ServeArgs),
    /// Serve MCP over stdin/stdout for one local client (Claude Desktop, Cursor, any MCP
    /// client): tools for SQL, search and memory, playbooks as prompts, datasets and corpora
    /// as resources. `lakehouse serve` offers the same at /mcp over HTTP.
    Mcp(serve::McpArgs),
    /// The server's configuration.
    #[command(subcommand)]
    Config(serve::ConfigCommand),
    /// Make and hash API tokens for lakehouse.toml.
    #[command(subcommand)]
    Token(serve::TokenCommand),
}

/// What every command gets: the parsed global flags.
#[derive(Debug, Clone)]
pub(crate) struct Globals {
    pub(crate) store: String,
    /// `--store` / `LAKEHOUSE_STORE` when given (the server's config file is overridden only then).
    pub(crate) store_flag: Option<String>,
    pub(crate) json: bool,
}

impl Globals {
    pub(crate) async fn open(&self) -> anyhow::Result<Lakehouse> {
        Ok(Lakehouse::open(Config::default().with_store_url(&self.store)).await?)
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(verbose: u8, serving: bool) {
    let default = match verbose {
        // the server logs one line per request; the Delta kernel's per-snapshot INFO lines (a
        // handful for every table a request opens) only at -v. The kernel also warns, with a
        // long backtrace, when an old file's statistics do not fit a changed schema (it reads
        // the file without them, e.g. in a vacuum after an overwrite): errors only.
        0 if serving => "info,buoyant_kernel=error,deltalake_core=warn",
        0 => "warn,buoyant_kernel=error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, matches!(cli.command, Command::Serve(_)));
    let globals = Globals {
        store: cli
            .store
            .clone()
            .unwrap_or_else(|| lakehouse::store::DEFAULT_STORE_URL.to_string()),
        store_flag: cli.store,
        json: cli.json,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(&globals, args).await,
            Command::Dataset(command) => dataset::run(&globals, command).await,
            Command::Sql(args) => sql::run(&globals, args).await,
            Command::Corpus(command) => corpus::run(&globals, command).await,
            Command::Search(args) => corpus::search(&globals, args).await,
            Command::Journal(command) => journal::run(&globals, command).await,
            Command::Memory(command) => memory::run(&globals, command).await,
            Command::Agent(command) => agent::run(&globals, command).await,
            Command::Analyze(args) => analyze::run(&globals, args).await,
            Command::Gc(args) => gc::run(&globals, args).await,
            Command::Bench(command) => bench::run(&globals, command).await,
            Command::Serve(args) => serve::serve(&globals, args).await,
            Command::Mcp(args) => serve::mcp(&globals, args).await,
            Command::Config(command) => serve::config(&globals, command),
            Command::Token(command) => serve::token(command),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`lakehouse … | head`): not an error.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
