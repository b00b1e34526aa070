//! `lakehouse agent …`: run a task through the agent loop, or a task file through the harness.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use lakehouse::agent::eval::{EvalRun, TaskFile, markdown, run_tasks, summarize};
use lakehouse::agent::{Agent, AgentOptions, Decision, OFFLINE_ID, Observer, Outcome, RunReport};
use lakehouse::models::{ChatModel, EmbedderSpec};

use crate::Globals;

#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Run one task: the model calls tools (search, sql, get_record, memory_search, scratchpad)
    /// until the observer accepts its answer or a budget runs out. The session is archived
    /// under sessions/<id> in the store (read it with `lakehouse journal read sessions/<id>`);
    /// an accepted one is sealed into a playbook that the next similar task gets as its
    /// preamble. Exits with an error when the run ends without an accepted answer.
    Run(RunArgs),
    /// Run a task file for N iterations and report pass@1, pass^k, steps, tokens, time,
    /// observer verdicts and playbook hits (JSON + markdown), warm — playbooks sealed from
    /// checked successes, offered to later iterations — and, with --cold, cold (memory frozen).
    ///
    /// The task file (YAML): `tasks: [{id, task, expect: {cites_any, cites_all, contains,
    /// regex}}]`; see examples/tasks.yaml.
    Eval(EvalArgs),
    /// Run an archived session's task again with the model answers it archived (no model
    /// server needed) against today's tools, data and reviewer; nothing is sealed.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The session id (`sessions/<id>` in the store; `agent run` prints it).
    session: String,
    /// Who reviews answers (as for `agent run`).
    #[arg(long, default_value = "heuristic")]
    reviewer: String,
    /// The playbook namespace the tools search.
    #[arg(long, default_value = "agent/playbooks")]
    namespace: String,
}

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// The task file.
    #[arg(long)]
    tasks: std::path::PathBuf,
    /// Runs of every task.
    #[arg(long, default_value_t = 3)]
    iterations: usize,
    /// Also run cold (no playbooks offered or sealed) for comparison.
    #[arg(long)]
    cold: bool,
    /// The model (as for `agent run`).
    #[arg(long, default_value = "offline")]
    model: String,
    /// Who reviews answers (as for `agent run`).
    #[arg(long, default_value = "heuristic")]
    reviewer: String,
    /// Playbook namespace for the warm runs (default: a fresh `eval/<time>`, so runs compare).
    #[arg(long)]
    namespace: Option<String>,
    /// The embedder for the playbook namespace (default: its own, or minilm).
    #[arg(long)]
    embedder: Option<String>,
    /// Model calls at most per run.
    #[arg(long, default_value_t = 12)]
    max_steps: usize,
    /// Where the report goes (a folder per eval inside).
    #[arg(long, default_value = "eval-results")]
    out: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The task, in plain words.
    task: String,
    /// The model: `offline` (the offline planner: no language model, plans from the task, the
    /// tools and playbooks), `ollama:MODEL[@URL]` or `openai:MODEL[@URL]` (key from
    /// OPENAI_API_KEY).
    #[arg(long, default_value = "offline")]
    model: String,
    /// Who reviews answers: `heuristic`, or a model spec like --model (an LLM reviewer, with
    /// the heuristic one as its fallback).
    #[arg(long, default_value = "heuristic")]
    reviewer: String,
    /// The playbook memory namespace.
    #[arg(long, default_value = "agent/playbooks")]
    namespace: String,
    /// The embedder for a new playbook namespace (default: its own, or minilm).
    #[arg(long)]
    embedder: Option<String>,
    /// Model calls at most.
    #[arg(long, default_value_t = 12)]
    max_steps: usize,
    /// Wall time at most, in seconds.
    #[arg(long, default_value_t = 300)]
    max_seconds: u64,
    /// Tokens at most.
    #[arg(long, default_value_t = 200_000)]
    max_tokens: u64,
    /// Do not seal an accepted session into a playbook.
    #[arg(long)]
    no_seal: bool,
}

fn model(spec: &str) -> anyhow::Result<Arc<dyn ChatModel>> {
    Ok(lakehouse::agent::open_model(spec)?)
}

fn observer(spec: &str) -> anyhow::Result<Observer> {
    Ok(Observer::from_spec(spec)?)
}

async fn eval(globals: &Globals, args: EvalArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.tasks)
        .with_context(|| format!("reading {}", args.tasks.display()))?;
    let file = TaskFile::parse(&text).with_context(|| args.tasks.display().to_string())?;
    let lakehouse = globals.open().await?;
    let embedder = args
        .embedder
        .as_deref()
        .map(str::parse::<EmbedderSpec>)
        .transpose()?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| format!("eval/{}", stamp.to_lowercase()));
    let model = model(&args.model)?;
    let store = Arc::clone(lakehouse.store().object_store());
    let base = AgentOptions {
        max_steps: args.max_steps,
        ..AgentOptions::default()
    };
    let mut modes = Vec::new();
    if args.cold {
        eprintln!(
            "cold: {} tasks x {} iterations, memory frozen",
            file.tasks.len(),
            args.iterations
        );
        let workspace = lakehouse
            .workspace(&format!("{namespace}-cold"), embedder.clone())
            .await?;
        let options = AgentOptions {
            seal: false,
            preamble_playbooks: 0,
            ..base.clone()
        };
        let agent = Agent::new(
            workspace,
            Arc::clone(&model),
            observer(&args.reviewer)?,
            Arc::clone(&store),
            options,
        );
        modes.push(("cold", run_tasks(&agent, &file, args.iterations).await?));
    }
    eprintln!(
        "warm: {} tasks x {} iterations, playbooks in namespace {namespace}",
        file.tasks.len(),
        args.iterations
    );
    let workspace = lakehouse.workspace(&namespace, embedder).await?;
    let agent = Agent::new(
        workspace,
        Arc::clone(&model),
        observer(&args.reviewer)?,
        store,
        base,
    );
    modes.push(("warm", run_tasks(&agent, &file, args.iterations).await?));

    let summaries: Vec<serde_json::Value> = modes.iter().map(|(_, runs)| summarize(runs)).collect();
    let dir = args.out.join(format!("eval-{stamp}"));
    std::fs::create_dir_all(&dir)?;
    let mut report = serde_json::json!({"tasks": args.tasks, "model": model.id(), "reviewer": args.reviewer,
        "iterations": args.iterations, "namespace": namespace});
    for ((mode, runs), summary) in modes.iter().zip(&summaries) {
        report[*mode] = serde_json::json!({"summary": summary, "runs": runs});
    }
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    let table: Vec<(&str, &serde_json::Value, &[EvalRun])> = modes
        .iter()
        .zip(&summaries)
        .map(|((mode, runs), s)| (*mode, s, runs.as_slice()))
        .collect();
    let md = markdown(
        &format!("Agent eval: {} ({})", args.tasks.display(), model.id()),
        &table,
    );
    std::fs::write(dir.join("report.md"), &md)?;
    if globals.json {
        println!(
            "{}",
            serde_json::json!({"report": dir, "summaries": modes.iter().map(|(m, _)| *m).zip(&summaries).collect::<Vec<_>>()})
        );
    } else {
        println!("{}", md.split("\n## ").next().unwrap_or_default());
        println!("report: {}/report.md (and report.json)", dir.display());
    }
    Ok(())
}

pub(crate) async fn run(globals: &Globals, command: AgentCommand) -> anyhow::Result<()> {
    match command {
        AgentCommand::Eval(args) => eval(globals, args).await?,
        AgentCommand::Replay(args) => {
            let lakehouse = globals.open().await?;
            let store = Arc::clone(lakehouse.store().object_store());
            let replay = lakehouse::agent::replay(Arc::clone(&store), &args.session).await?;
            eprintln!(
                "replaying session {} (model {}) with its archived answers",
                args.session, replay.original_model
            );
            let options = AgentOptions {
                seal: false,
                preamble_playbooks: 0,
                ..AgentOptions::default()
            };
            let workspace = lakehouse.workspace(&args.namespace, None).await?;
            let agent = Agent::new(
                workspace,
                Arc::new(replay.model),
                observer(&args.reviewer)?,
                store,
                options,
            );
            let report = agent.run(&replay.task).await?;
            if globals.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print_report(&report);
            }
        }
        AgentCommand::Run(args) => {
            let lakehouse = globals.open().await?;
            let embedder = args
                .embedder
                .as_deref()
                .map(str::parse::<EmbedderSpec>)
                .transpose()?;
            let workspace = lakehouse.workspace(&args.namespace, embedder).await?;
            let observer = observer(&args.reviewer)?;
            let options = AgentOptions {
                max_steps: args.max_steps,
                max_wall: Duration::from_secs(args.max_seconds),
                max_tokens: args.max_tokens,
                seal: !args.no_seal,
                ..AgentOptions::default()
            };
            let agent = Agent::new(
                workspace,
                model(&args.model)?,
                observer,
                Arc::clone(lakehouse.store().object_store()),
                options,
            );
            let report = agent.run(&args.task).await?;
            if globals.json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print_report(&report);
            }
            let why = match &report.outcome {
                Outcome::Accepted => return Ok(()),
                Outcome::NotAccepted => "the reviewer did not accept the answer".to_string(),
                Outcome::BudgetExhausted { budget } => format!("the {budget} budget ran out"),
                Outcome::ModelFailed { error } => format!("the model failed: {error}"),
            };
            anyhow::bail!(
                "no accepted answer: {why} (session sessions/{})",
                report.session
            );
        }
    }
    Ok(())
}

fn print_report(r: &RunReport) {
    if r.model == OFFLINE_ID {
        println!(
            "model      offline planner (no language model: plans from the task, the tools and playbooks)"
        );
    } else {
        println!("model      {}", r.model);
    }
    if r.playbooks_injected.is_empty() {
        println!("playbooks  none matched; planning from scratch");
    } else {
        println!(
            "playbooks  {} given as the preamble",
            r.playbooks_injected.join(", ")
        );
    }
    for (n, call) in r.calls.iter().enumerate() {
        let result: String = call.result.chars().take(90).collect();
        println!(
            "step {:>2}    {} {}  → {}{}",
            n + 1,
            call.tool,
            call.arguments,
            if call.ok { "" } else { "error: " },
            result
        );
    }
    for v in &r.verdicts {
        let decision = match v.decision {
            Decision::Accept => "accepted",
            Decision::Revise => "sent back (revise)",
            Decision::Reject => "sent back (reject)",
        };
        println!(
            "review     {decision} by {}{}",
            v.reviewer,
            if v.feedback.is_empty() {
                String::new()
            } else {
                format!(": {}", v.feedback)
            }
        );
    }
    match &r.outcome {
        Outcome::Accepted => println!("outcome    accepted"),
        Outcome::NotAccepted => {
            println!("outcome    not accepted after {} reviews", r.verdicts.len());
        }
        Outcome::BudgetExhausted { budget } => {
            println!("outcome    {budget} budget used up; best answer below");
        }
        Outcome::ModelFailed { error } => println!("outcome    the model failed: {error}"),
    }
    if let Some(answer) = &r.answer {
        println!("\n{answer}\n");
        if !r.citations.is_empty() {
            println!("citations  {}", r.citations.join(", "));
        }
    }
    match &r.sealed {
        Some(s) => println!(
            "sealed     playbook {} ({}; replay_count {})",
            s.id,
            match s.action {
                lakehouse::memory::Action::Added => "new",
                lakehouse::memory::Action::Updated => "same workflow as before",
            },
            s.replay_count
        ),
        None => println!("sealed     nothing"),
    }
    println!(
        "session    sessions/{}  ({} model calls, {} tokens, {} ms)",
        r.session,
        r.model_calls,
        r.usage.total(),
        r.wall_ms
    );
}
