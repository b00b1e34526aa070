//! `lakehouse agent …`: run a task through the agent loop.

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use lakehouse::agent::{
    Agent, AgentOptions, Decision, OFFLINE_ID, Observer, OfflinePlanner, Outcome, RunReport,
};
use lakehouse::models::{ChatModel, ChatSpec, EmbedderSpec, open_chat};

use crate::Globals;

#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Run one task: the model calls tools (search, sql, get_record, memory_search, scratchpad)
    /// until the observer accepts its answer or a budget runs out. The session is archived
    /// under sessions/<id> in the store; an accepted one is sealed into a playbook that the next
    /// similar task gets as its preamble.
    Run(RunArgs),
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
    if spec == "offline" {
        return Ok(Arc::new(OfflinePlanner));
    }
    Ok(open_chat(&spec.parse::<ChatSpec>()?)?)
}

pub(crate) async fn run(globals: &Globals, command: AgentCommand) -> anyhow::Result<()> {
    match command {
        AgentCommand::Run(args) => {
            let lakehouse = globals.open().await?;
            let embedder = args
                .embedder
                .as_deref()
                .map(str::parse::<EmbedderSpec>)
                .transpose()?;
            let workspace = lakehouse.workspace(&args.namespace, embedder).await?;
            let observer = match args.reviewer.as_str() {
                "heuristic" => Observer::Heuristic,
                spec => Observer::Llm(model(spec)?),
            };
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
