//! `lakehouse analyze`: a model over every row of a dataset, structured answers into a new one.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lakehouse::agent::analyze::{AnalyzeSpec, PromptFile, analyze};
use lakehouse::models::{ChatSpec, open_chat};

use crate::Globals;

#[derive(Debug, Args)]
pub(crate) struct AnalyzeArgs {
    /// The dataset to read.
    dataset: String,
    /// The prompt file (YAML: `prompt` with {column} placeholders, `schema` of the answer); see
    /// examples/analyze_contracts.yaml.
    #[arg(long)]
    prompt: std::path::PathBuf,
    /// The dataset to write (created, or appended to: rows already in it are skipped, so an
    /// interrupted run resumes).
    #[arg(long)]
    output: String,
    /// The column that identifies a row.
    #[arg(long)]
    id: String,
    /// The model: ollama:MODEL[@URL] or openai:MODEL[@URL].
    #[arg(long)]
    model: String,
    /// At most this many input rows.
    #[arg(long)]
    limit: Option<usize>,
    /// Model calls in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Rows per commit to the output (what an interruption can lose).
    #[arg(long, default_value_t = 25)]
    chunk: usize,
}

pub(crate) async fn run(globals: &Globals, args: AnalyzeArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.prompt)
        .with_context(|| format!("reading {}", args.prompt.display()))?;
    let prompt = PromptFile::parse(&text).with_context(|| args.prompt.display().to_string())?;
    let model = open_chat(&args.model.parse::<ChatSpec>()?)?;
    let lakehouse = globals.open().await?;
    let spec = AnalyzeSpec {
        dataset: args.dataset,
        id_column: args.id,
        output: args.output,
        limit: args.limit,
        concurrency: args.concurrency,
        chunk: args.chunk,
    };
    let bar = if globals.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} rows ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    bar.set_message(format!("analyzing with {}", model.id()));
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let report = analyze(
        lakehouse.tables(),
        Arc::clone(&model),
        &prompt,
        &spec,
        &progress,
    )
    .await?;
    bar.finish_and_clear();
    if globals.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} rows: {} analyzed ({} failed, see the error column), {} already in {} skipped; {} tokens",
            report.rows, report.analyzed, report.failed, report.skipped, spec.output, report.tokens
        );
        println!(
            "query it: lakehouse sql \"SELECT * FROM {} LIMIT 10\"",
            spec.output
        );
    }
    Ok(())
}
