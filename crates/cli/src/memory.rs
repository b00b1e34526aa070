//! `lakehouse memory …`: pathway and playbook memory by hand — UPSERT, REVISE, RETIRE,
//! HISTORY, GET, LIST, SEARCH, outcomes — with JSON in (a file or stdin) and out (`--json`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use lakehouse::memory::{
    Draft, DraftPatch, Kind, ListFilter, Memory, MemoryHit, MemoryQuery, Record, StateFilter,
    Upserted, parse_filter, time,
};
use lakehouse::models::EmbedderSpec;
use serde_json::json;

use crate::Globals;

#[derive(Debug, Subcommand)]
pub(crate) enum MemoryCommand {
    /// Add a record, or bump the replay_count of the live record with the same workflow.
    ///
    /// The draft comes from FILE (or `-` for stdin) as JSON — one object, an array, or one
    /// object per line, all committed together — or from --kind/--content/--meta. A draft:
    /// {"kind": "fact"|"pathway"|"playbook" (default fact), "content": "...", "steps":
    /// [{"tool": "sql", "args": {...}}], "outcome": "...", "variables": [...], "metadata":
    /// {...}, "sessions": [...]}.
    Upsert(UpsertArgs),
    /// Write a new version of a record (it must be the tip of its chain and not retired).
    Revise(ReviseArgs),
    /// Take a record (or its whole chain) out of retrieval, with a reason.
    Retire(RetireArgs),
    /// Show a record's whole version chain, root to tip, from any member.
    History(HistoryArgs),
    /// Show one record, whatever its state.
    Get(GetArgs),
    /// List records (live ones by default), oldest first.
    List(ListArgs),
    /// Search live records by meaning and words (vector + BM25, fused).
    Search(SearchArgs),
    /// Record that replaying a record worked (--success) or did not (--failure).
    RecordOutcome(OutcomeArgs),
    /// Write a snapshot so the namespace opens fast.
    Compact(NamespaceArg),
    /// List the store's namespaces with their commits, snapshots and bytes.
    Namespaces,
}

#[derive(Debug, Args)]
pub(crate) struct NamespaceArg {
    /// The namespace, e.g. `project/agent/user`.
    #[arg(
        long,
        short = 'n',
        default_value = "default",
        env = "LAKEHOUSE_NAMESPACE"
    )]
    namespace: String,
}

#[derive(Debug, Args)]
pub(crate) struct EmbedderArg {
    /// The embedder for a new namespace: minilm[:DIR], hash[:DIM], ollama:MODEL[@URL],
    /// openai:MODEL[@URL]. Default: the namespace's own, or minilm.
    #[arg(long)]
    embedder: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DraftArgs {
    /// JSON draft(s) from this file, or `-` for stdin.
    #[arg(conflicts_with_all = ["content", "kind", "meta", "outcome", "session"])]
    file: Option<PathBuf>,
    /// The kind: fact (a fact about a user or the world; the default), pathway (a recorded
    /// workflow) or playbook (a procedure distilled from successes).
    #[arg(long)]
    kind: Option<String>,
    /// The text: the fact, the task (pathway) or the procedure (playbook).
    #[arg(long)]
    content: Option<String>,
    /// Metadata, key=value (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    meta: Vec<String>,
    /// How it ended.
    #[arg(long)]
    outcome: Option<String>,
    /// The session it came from.
    #[arg(long)]
    session: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct UpsertArgs {
    #[command(flatten)]
    ns: NamespaceArg,
    #[command(flatten)]
    embedder: EmbedderArg,
    #[command(flatten)]
    draft: DraftArgs,
    /// Read one JSON draft per line from stdin (FILE `-`) and commit each as it arrives,
    /// printing its result once it is durable; a bad line stops with an error naming it.
    #[arg(long, requires = "file")]
    each: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReviseArgs {
    #[command(flatten)]
    ns: NamespaceArg,
    /// The record to revise (the tip of its chain).
    id: String,
    /// The fields to change as JSON (a draft's fields; those left out are kept), from this
    /// file or `-` for stdin.
    #[arg(conflicts_with_all = ["content", "kind", "meta", "outcome", "session"])]
    file: Option<PathBuf>,
    /// A new kind: fact, pathway or playbook.
    #[arg(long)]
    kind: Option<String>,
    /// New text.
    #[arg(long)]
    content: Option<String>,
    /// Set a metadata key (repeatable; the other keys are kept; `KEY=` removes KEY).
    #[arg(long, value_name = "KEY=VALUE")]
    meta: Vec<String>,
    /// A new outcome.
    #[arg(long)]
    outcome: Option<String>,
    /// Link one more session.
    #[arg(long)]
    session: Option<String>,
    /// Refuse unless the record is at this version (optimistic concurrency).
    #[arg(long, value_name = "N")]
    expected_version: Option<u32>,
    #[command(flatten)]
    embedder: EmbedderArg,
}

#[derive(Debug, Args)]
pub(crate) struct RetireArgs {
    #[command(flatten)]
    ns: NamespaceArg,
    /// The record.
    id: String,
    /// Why it is retired (recorded, shown in history).
    #[arg(long)]
    reason: String,
    /// Who retires it.
    #[arg(long)]
    actor: Option<String>,
    /// Retire every version of its chain not yet retired.
    #[arg(long)]
    chain: bool,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    #[command(flatten)]
    ns: NamespaceArg,
    /// Any record of the chain.
    id: String,
    /// The chain as it was at this time (RFC 3339, e.g. 2026-11-25T10:00:00Z).
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    #[command(flatten)]
    ns: NamespaceArg,
    /// The record.
    id: String,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    ns: NamespaceArg,
    /// Only facts, pathways or playbooks.
    #[arg(long)]
    kind: Option<String>,
    /// live, superseded, retired or all.
    #[arg(long, default_value = "live")]
    state: String,
    /// Only records with this metadata, key=value (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    filter: Vec<String>,
    /// At most N records.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// The namespace as it was at this time (RFC 3339, e.g. 2026-11-25T10:00:00Z): records
    /// written since left out, later revisions, retirements and counts undone.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    #[command(flatten)]
    ns: NamespaceArg,
    /// What to look for.
    query: String,
    /// How many hits.
    #[arg(long, short, default_value_t = 5)]
    k: usize,
    /// Only facts, pathways or playbooks.
    #[arg(long)]
    kind: Option<String>,
    /// Only records with this metadata, key=value (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    filter: Vec<String>,
    /// Search as the namespace was at this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    #[command(flatten)]
    embedder: EmbedderArg,
}

#[derive(Debug, Args)]
pub(crate) struct OutcomeArgs {
    #[command(flatten)]
    ns: NamespaceArg,
    /// The record replayed.
    id: String,
    /// The replay worked.
    #[arg(long, conflicts_with = "failure", required_unless_present = "failure")]
    success: bool,
    /// The replay failed.
    #[arg(long)]
    failure: bool,
    /// The session it happened in.
    #[arg(long)]
    session: Option<String>,
}

async fn open(
    globals: &Globals,
    ns: &NamespaceArg,
    embedder: &EmbedderArg,
) -> anyhow::Result<Memory> {
    let lakehouse = globals.open().await?;
    let spec = embedder
        .embedder
        .as_deref()
        .map(str::parse::<EmbedderSpec>)
        .transpose()?;
    Ok(lakehouse.memory(&ns.namespace, spec).await?)
}

async fn open_bare(globals: &Globals, ns: &NamespaceArg) -> anyhow::Result<Memory> {
    let memory = globals
        .open()
        .await?
        .memory_without_embedder(&ns.namespace)
        .await?;
    let (anomalies, damaged) = memory.anomalies();
    for a in anomalies {
        eprintln!("warning: commit {}: {}", a.seq, a.message);
    }
    for d in damaged {
        eprintln!("warning: skipped damaged snapshot {d}");
    }
    Ok(memory)
}

/// The text of FILE, or of stdin for `-`.
fn read_input(file: &PathBuf) -> anyhow::Result<String> {
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading stdin")?;
    } else {
        text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    }
    Ok(text)
}

/// Read drafts from a file or stdin: one JSON object, an array, or one object per line.
fn read_drafts(file: &PathBuf) -> anyhow::Result<Vec<Draft>> {
    let text = read_input(file)?;
    let trimmed = text.trim_start();
    let drafts = if trimmed.starts_with('[') {
        let values: Vec<serde_json::Value> = serde_json::from_str(trimmed).map_err(|e| {
            anyhow::anyhow!("{} is not a JSON array of drafts: {e}", file.display())
        })?;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                Draft::from_json(&v.to_string())
                    .with_context(|| format!("{} item {}", file.display(), i + 1))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    } else if let Ok(one) = serde_json::from_str::<serde_json::Value>(trimmed) {
        vec![Draft::from_json(&one.to_string()).with_context(|| file.display().to_string())?]
    } else {
        trimmed
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                Draft::from_json(l).with_context(|| format!("{} line {}", file.display(), n + 1))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    anyhow::ensure!(!drafts.is_empty(), "{} holds no drafts", file.display());
    Ok(drafts)
}

fn parse_meta(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| parse_filter(p).map_err(Into::into))
        .collect()
}

/// What `memory revise` changes: the JSON patch it was given, or the fields set by flags
/// (metadata keys merged into the record's own).
fn revise_patch(args: &ReviseArgs, current: &Draft) -> anyhow::Result<DraftPatch> {
    if let Some(file) = &args.file {
        let text = read_input(file)?;
        return DraftPatch::from_json(&text).with_context(|| file.display().to_string());
    }
    let mut patch = DraftPatch {
        kind: kind(args.kind.as_deref())?,
        content: args.content.clone(),
        outcome: args.outcome.clone().map(Some),
        ..DraftPatch::default()
    };
    if !args.meta.is_empty() {
        let mut metadata = current.metadata.clone();
        for (key, value) in parse_meta(&args.meta)? {
            if value.is_empty() {
                metadata.remove(&key);
            } else {
                metadata.insert(key, value);
            }
        }
        patch.metadata = Some(metadata);
    }
    if let Some(session) = &args.session {
        let mut sessions = current.sessions.clone();
        sessions.push(session.clone());
        patch.sessions = Some(sessions);
    }
    anyhow::ensure!(
        !patch.is_empty(),
        "give what changes: --content, --kind, --meta, --outcome, --session, or a JSON FILE"
    );
    Ok(patch)
}

/// The drafts the arguments describe.
fn drafts(args: &DraftArgs) -> anyhow::Result<Vec<Draft>> {
    if let Some(file) = &args.file {
        return read_drafts(file);
    }
    let content = args
        .content
        .clone()
        .context("give the draft as FILE (or `-` for stdin), or with --content")?;
    let kind = kind(args.kind.as_deref())?.unwrap_or_default();
    let mut draft = Draft::new(kind, content);
    draft.metadata = parse_meta(&args.meta)?;
    draft.outcome.clone_from(&args.outcome);
    draft.sessions.extend(args.session.clone());
    draft.validate()?;
    Ok(vec![draft])
}

fn as_of(text: Option<&str>) -> anyhow::Result<Option<lakehouse::store::Timestamp>> {
    Ok(text.map(time::parse).transpose()?)
}

fn filters(pairs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|p| parse_filter(p).map_err(Into::into))
        .collect()
}

fn kind(text: Option<&str>) -> anyhow::Result<Option<Kind>> {
    Ok(text.map(str::parse::<Kind>).transpose()?)
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

fn one_line(text: &str, width: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > width {
        format!("{}…", flat.chars().take(width - 1).collect::<String>())
    } else {
        flat
    }
}

fn print_record_line(r: &Record) {
    println!(
        "{:<10} v{:<3} {:<8} {:<10} replays {:<4} ok {:<3} failed {:<3} {}",
        r.id,
        r.version,
        r.draft.kind,
        r.state(),
        r.replay_count,
        r.success_count,
        r.failure_count,
        one_line(&r.draft.content, 60)
    );
}

fn print_upserted(u: &Upserted) {
    match u.action {
        lakehouse::memory::Action::Added => println!(
            "added {} ({}, version {})",
            u.record.id, u.record.draft.kind, u.record.version
        ),
        lakehouse::memory::Action::Updated => println!(
            "updated {}: same workflow as before, replay_count {}",
            u.record.id, u.record.replay_count
        ),
    }
}

pub(crate) async fn run(globals: &Globals, command: MemoryCommand) -> anyhow::Result<()> {
    match command {
        MemoryCommand::Upsert(args) if args.each => {
            anyhow::ensure!(
                args.draft.file.as_deref() == Some(std::path::Path::new("-")),
                "--each reads stdin: give FILE as `-`"
            );
            let memory = open(globals, &args.ns, &args.embedder).await?;
            for (i, line) in std::io::stdin().lines().enumerate() {
                let n = i + 1;
                let line = line.context("reading stdin")?;
                if line.trim().is_empty() {
                    continue;
                }
                let draft = Draft::from_json(&line).with_context(|| format!("stdin line {n}"))?;
                let u = memory.upsert(draft).await?;
                if globals.json {
                    print_json(&u)?;
                } else {
                    print_upserted(&u);
                }
                std::io::Write::flush(&mut std::io::stdout())?;
            }
        }
        MemoryCommand::Upsert(args) => {
            let drafts = drafts(&args.draft)?;
            let memory = open(globals, &args.ns, &args.embedder).await?;
            for u in memory.upsert_many(drafts).await? {
                if globals.json {
                    print_json(&u)?;
                } else {
                    print_upserted(&u);
                }
            }
        }
        MemoryCommand::Revise(args) => {
            let memory = open(globals, &args.ns, &args.embedder).await?;
            let current = memory.get(&args.id)?;
            let patch = revise_patch(&args, &current.draft)?;
            let record = memory
                .revise_with(&args.id, &patch, args.expected_version)
                .await?;
            if globals.json {
                print_json(&record)?;
            } else {
                println!(
                    "revised {} -> {} (version {}, chain {})",
                    args.id, record.id, record.version, record.root_id
                );
            }
        }
        MemoryCommand::Retire(args) => {
            let memory = open_bare(globals, &args.ns).await?;
            let retired = memory
                .retire(&args.id, &args.reason, args.actor.as_deref(), args.chain)
                .await?;
            if globals.json {
                print_json(&retired)?;
            } else {
                let ids: Vec<&str> = retired.iter().map(|r| r.id.as_str()).collect();
                println!("retired {} ({})", ids.join(", "), args.reason.trim());
            }
        }
        MemoryCommand::History(args) => {
            let memory = open_bare(globals, &args.ns).await?;
            let chain = memory.history(&args.id, as_of(args.as_of.as_deref())?)?;
            if globals.json {
                print_json(&chain)?;
            } else {
                for r in &chain {
                    print_record_line(r);
                    println!("{:<10} created {}", "", time::format(r.created_at));
                    if let (Some(at), Some(by)) = (r.superseded_at, &r.superseded_by) {
                        println!("{:<10} superseded {} by {by}", "", time::format(at));
                    }
                    if let Some(at) = r.retired_at {
                        println!(
                            "{:<10} retired {} by {}: {}",
                            "",
                            time::format(at),
                            r.retired_by.as_deref().unwrap_or("-"),
                            r.retire_reason.as_deref().unwrap_or("")
                        );
                    }
                }
            }
        }
        MemoryCommand::Get(args) => {
            let memory = open_bare(globals, &args.ns).await?;
            let record = memory.get(&args.id)?;
            if globals.json {
                print_json(&record)?;
            } else {
                println!("{}", serde_json::to_string_pretty(&record)?);
            }
        }
        MemoryCommand::List(args) => {
            let memory = open_bare(globals, &args.ns).await?;
            let filter = ListFilter {
                kind: kind(args.kind.as_deref())?,
                state: args.state.parse::<StateFilter>()?,
                filters: filters(&args.filter)?,
                limit: args.limit,
                as_of: as_of(args.as_of.as_deref())?,
            };
            let records = memory.list(&filter);
            if globals.json {
                for r in &records {
                    print_json(r)?;
                }
            } else if records.is_empty() {
                println!("no records in namespace {:?} match", memory.namespace());
            } else {
                records.iter().for_each(print_record_line);
            }
        }
        MemoryCommand::Search(args) => {
            let memory = open(globals, &args.ns, &args.embedder).await?;
            let query = MemoryQuery {
                text: args.query,
                k: args.k,
                kind: kind(args.kind.as_deref())?,
                filters: filters(&args.filter)?,
                as_of: as_of(args.as_of.as_deref())?,
            };
            let hits = memory.search(&query).await?;
            if globals.json {
                for h in &hits {
                    print_json(h)?;
                }
            } else if hits.is_empty() {
                println!(
                    "no live records in namespace {:?} match",
                    memory.namespace()
                );
            } else {
                for (n, MemoryHit { record, score, .. }) in hits.iter().enumerate() {
                    print!("{:>2}. {score:.4} ", n + 1);
                    print_record_line(record);
                }
            }
        }
        MemoryCommand::RecordOutcome(args) => {
            let memory = open_bare(globals, &args.ns).await?;
            let record = memory
                .record_outcome(&args.id, args.success, args.session.as_deref())
                .await?;
            if globals.json {
                print_json(&record)?;
            } else {
                println!(
                    "{}: {} successes, {} failures",
                    record.id, record.success_count, record.failure_count
                );
            }
        }
        MemoryCommand::Namespaces => {
            let lakehouse = globals.open().await?;
            let found =
                lakehouse::memory::namespaces(lakehouse.store().object_store().as_ref()).await?;
            if globals.json {
                for n in &found {
                    print_json(n)?;
                }
            } else if found.is_empty() {
                println!(
                    "no memory namespaces in {} yet: try `lakehouse memory upsert --namespace NS --content ...`",
                    lakehouse.store().url()
                );
            } else {
                println!(
                    "{:<48} {:>8} {:>9} {:>12}",
                    "namespace", "commits", "snapshots", "bytes"
                );
                for n in &found {
                    println!(
                        "{:<48} {:>8} {:>9} {:>12}",
                        n.name, n.commits, n.snapshots, n.bytes
                    );
                }
            }
        }
        MemoryCommand::Compact(ns) => {
            let memory = open_bare(globals, &ns).await?;
            let seq = memory.compact().await?;
            if globals.json {
                print_json(&json!({"namespace": memory.namespace(), "snapshot": seq}))?;
            } else {
                println!(
                    "snapshot of {:?} at commit {seq} written",
                    memory.namespace()
                );
            }
        }
    }
    Ok(())
}
