//! `lakehouse demo`: the whole product in one command, on the real-data samples built into the
//! binary — datasets, corpora, a matrix search, memory's UPSERT/REVISE/RETIRE/HISTORY, and the
//! same task run twice through the agent so the second run uses the playbook the first sealed.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use lakehouse::agent::{Agent, AgentOptions, Observer, OfflinePlanner, RunReport};
use lakehouse::memory::{Draft, Kind, MemoryQuery};
use lakehouse::table::{IngestOptions, Mode, OutputFormat, SqlOptions, write_batches};
use lakehouse::vectord::{BuildOptions, RowSpec, SearchRequest};
use serde_json::json;

use crate::Globals;
use crate::corpus::Bar;

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// The task the agent runs twice.
    #[arg(long, default_value = "Which permits are about replacing a roof?")]
    task: String,
}

/// The samples built into the binary: (dataset, file name, contents).
const SAMPLES: [(&str, &str, &str); 4] = [
    (
        "permits",
        "chicago_permits_sample.csv",
        include_str!("../../table/tests/data/chicago_permits_sample.csv"),
    ),
    (
        "contracts",
        "chicago_contracts_sample.csv",
        include_str!("../../table/tests/data/chicago_contracts_sample.csv"),
    ),
    (
        "sf_permits",
        "sf_permits_sample.csv",
        include_str!("../../table/tests/data/sf_permits_sample.csv"),
    ),
    (
        "companies",
        "sec_company_tickers_sample.json",
        include_str!("../../table/tests/data/sec_company_tickers_sample.json"),
    ),
];

/// (corpus, dataset, id, text, metadata columns)
const CORPORA: [(&str, &str, &str, &str, &[&str]); 4] = [
    (
        "permits",
        "permits",
        "permit",
        "work_description",
        &["work_type", "permit_type"],
    ),
    (
        "contracts",
        "contracts",
        "{purchase_order_contract_number}-{revision_number}",
        "{purchase_order_description} ({vendor_name})",
        &["department"],
    ),
    (
        "sf_permits",
        "sf_permits",
        "record_id",
        "description",
        &["permit_type_definition"],
    ),
    ("companies", "companies", "ticker", "title", &[]),
];

fn step(title: &str) {
    println!("\n== {title}");
}

fn one_line(text: &str, width: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > width {
        format!(
            "{}…",
            flat.chars()
                .take(width.saturating_sub(1))
                .collect::<String>()
        )
    } else {
        flat
    }
}

fn print_run(label: &str, r: &RunReport) {
    let playbooks = if r.playbooks_injected.is_empty() {
        "no playbook yet".to_string()
    } else {
        format!(
            "playbook {} as the preamble",
            r.playbooks_injected.join(", ")
        )
    };
    println!(
        "{label}: {playbooks}; {} tool call(s), {} model call(s), {:?}",
        r.calls.len(),
        r.model_calls,
        r.outcome
    );
    for call in &r.calls {
        println!("    {} {}", call.tool, call.arguments);
    }
    if let Some(s) = &r.sealed {
        println!(
            "    sealed as playbook {} (replay_count {})",
            s.id, s.replay_count
        );
    }
}

pub(crate) async fn run(globals: &Globals, args: DemoArgs) -> anyhow::Result<()> {
    let lakehouse = globals.open().await?;
    println!(
        "Lakehouse demo in store {} (offline: nothing needed but the MiniLM model)",
        globals.store
    );

    step("1. ingest the bundled real-data samples into Delta tables");
    let dir = tempfile::tempdir()?;
    for (dataset, file, contents) in SAMPLES {
        let path = dir.path().join(file);
        std::fs::write(&path, contents)?;
        let report = lakehouse
            .tables()
            .ingest(
                dataset,
                &path.to_string_lossy(),
                IngestOptions::new().with_mode(Mode::Overwrite),
            )
            .await
            .with_context(|| format!("ingesting {file}"))?;
        println!("{dataset:<11} {:>4} rows from {file}", report.rows);
    }

    step("2. build a corpus from each (MiniLM vectors + BM25, stored as segments)");
    for (corpus, dataset, id, text, meta) in CORPORA {
        let spec = RowSpec {
            id: id.into(),
            text: text.into(),
            meta: meta.iter().map(|m| m.to_string()).collect(),
        };
        let bar = Bar::new(globals.json);
        let built = lakehouse
            .build_corpus(corpus, dataset, &spec, BuildOptions::default(), &bar)
            .await
            .with_context(|| format!("building corpus {corpus}"))?;
        println!(
            "{corpus:<11} version {}: {} added, {} unchanged, {} embedded",
            built.report.version, built.report.added, built.report.unchanged, built.report.embedded
        );
    }

    step("3. one query over all four corpora (matrix search, RRF-fused)");
    let names: Vec<String> = CORPORA.iter().map(|c| c.0.to_string()).collect();
    let mut request = SearchRequest::new("replace the roof", names);
    request.k = 5;
    let response = lakehouse.corpora().search(&request).await?;
    for hit in &response.hits {
        println!(
            "{:.4}  {}:{}  {}",
            hit.score,
            hit.corpus,
            hit.id,
            one_line(&hit.snippet, 70)
        );
    }

    step("SQL over the same data (DataFusion over the Delta tables)");
    let query = "SELECT work_type, count(*) AS n FROM permits WHERE work_type IS NOT NULL GROUP BY work_type ORDER BY n DESC LIMIT 5";
    println!("{query}");
    let batches = lakehouse
        .tables()
        .sql_collect(query, &SqlOptions::default())
        .await?;
    write_batches(&batches, OutputFormat::Table, &mut std::io::stdout())?;

    step("4. memory: UPSERT, UPSERT again, REVISE, RETIRE, HISTORY (namespace demo/memory)");
    let memory = lakehouse.memory("demo/memory", None).await?;
    let draft = Draft::new(Kind::Pathway, "count roof permits by ward")
        .with_step("sql", json!({"query": "SELECT ward, count(*) FROM permits WHERE work_description ILIKE '%roof%' GROUP BY ward"}))
        .with_outcome("a count per ward");
    let first = memory.upsert(draft.clone()).await?;
    println!(
        "upsert   {:?} {} (replay_count {})",
        first.action, first.record.id, first.record.replay_count
    );
    let again = memory.upsert(draft).await?;
    println!(
        "upsert   {:?} {} (replay_count {}): the same workflow",
        again.action, again.record.id, again.record.replay_count
    );
    let revised = memory
        .revise(
            &again.record.id,
            Draft::new(Kind::Pathway, "count roof permits by ward and year")
                .with_step("sql", json!({"query": "SELECT ward, year(issue_date), count(*) FROM permits WHERE work_description ILIKE '%roof%' GROUP BY 1, 2"})),
            None,
        )
        .await?;
    println!(
        "revise   {} -> {} (version {})",
        again.record.id, revised.id, revised.version
    );
    let query = MemoryQuery::new("roof permits per ward");
    let before = memory.search(&query).await?;
    let tip_found = before.iter().any(|h| h.record.id == revised.id);
    println!(
        "search   \"roof permits per ward\" finds the tip {}: {}",
        revised.id,
        if tip_found { "yes" } else { "no" }
    );
    let retired = memory
        .retire(
            &revised.id,
            "superseded by the playbook the agent seals",
            Some("demo"),
            false,
        )
        .await?;
    println!(
        "retire   {} ({})",
        retired[0].id,
        retired[0].retire_reason.as_deref().unwrap_or_default()
    );
    for r in memory.history(&first.record.id, None)? {
        println!(
            "history  {} v{} {:<10} {}",
            r.id,
            r.version,
            r.state(),
            r.draft.content
        );
    }
    let after = memory.search(&query).await?;
    println!(
        "search   after the retirement: {} live record(s) of that chain match (retired and superseded ones never do)",
        after
            .iter()
            .filter(|h| h.record.root_id == first.record.id)
            .count()
    );

    step("5. the agent runs the same task twice (offline planner; playbooks in demo/playbooks)");
    let workspace = lakehouse.workspace("demo/playbooks", None).await?;
    let agent = Agent::new(
        workspace,
        Arc::new(OfflinePlanner),
        Observer::Heuristic,
        Arc::clone(lakehouse.store().object_store()),
        AgentOptions::default(),
    );
    println!("task: {}", args.task);
    let first = agent.run(&args.task).await?;
    print_run("run 1", &first);
    let second = agent.run(&args.task).await?;
    print_run("run 2", &second);
    if let Some(answer) = &second.answer {
        println!("\n{answer}");
    }

    println!(
        "\nWhere it lives (store {}):\n  tables/      Delta tables (read them with DuckDB, Polars, Spark, Python deltalake)\n  corpora/     vector + BM25 segments and manifests\n  memory/      memory namespaces: numbered commits and snapshots\n  sessions/    every agent session, event by event (lakehouse journal read sessions/{})\n\nTry next:\n  lakehouse search \"oil company\" --corpora companies --mode vector\n  lakehouse sql \"SELECT work_type, count(*) FROM permits GROUP BY 1 ORDER BY 2 DESC LIMIT 5\"\n  lakehouse memory history {} -n demo/memory\n  lakehouse agent run \"Who holds the city's roofing agreement?\"\n  lakehouse agent eval --tasks examples/tasks.yaml --iterations 3 --cold\n  lakehouse agent run \"…\" --model ollama:qwen3   (or openai:gpt-4o-mini with OPENAI_API_KEY)",
        globals.store, second.session, again.record.id
    );
    Ok(())
}
