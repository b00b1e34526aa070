//! `lakehouse corpus …` and `lakehouse search`: build, inspect and tune corpora, and run matrix
//! searches over them.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use lakehouse::models::EmbedderSpec;
use lakehouse::vectord::{
    AnnParams, BuildOptions, Fusion, Manifest, Mode, Progress, Quantization, RowSpec,
    SearchRequest, SearchResponse, TuneOptions,
};

use crate::Globals;

#[derive(Debug, Subcommand)]
pub(crate) enum CorpusCommand {
    /// Build a corpus from a dataset, or bring it up to date (the seed's "vectorize" step).
    ///
    /// Each row becomes a document: --id names the unique id column, --text a column or a
    /// template over columns ("{work_type}: {description}"), --meta columns kept as filterable
    /// metadata. Texts are embedded (MiniLM by default, in-process; fetch it once with
    /// scripts/fetch-model.sh) and indexed twice: HNSW for vectors, BM25 for words.
    ///
    /// Running it again is incremental: unchanged rows cost nothing, changed and new rows are
    /// embedded, rows gone from the dataset are deleted. Work is committed in chunks, so an
    /// interrupted build resumes where it stopped.
    Build(BuildArgs),
    /// List corpora with their document count, embedder and version.
    List,
    /// Show a corpus's manifest: source, embedder, parameters, segments, tuning.
    Describe(NameArg),
    /// Sweep the ANN search breadth, measure recall@k against exact search and latency, journal
    /// every trial (journals/trials) and keep the smallest breadth that reaches the target.
    Tune(TuneArgs),
    /// Merge a corpus's segments into one, dropping deleted documents (vectors are reused).
    Compact(NameArg),
    /// Delete the manifests of versions superseded more than --retain ago (default 7d) and the
    /// segment files no remaining version names; the current version stays. --dry-run only
    /// reports.
    Gc(GcArgs),
    /// Delete a corpus and all its versions.
    Drop(DropArgs),
}

#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    /// The corpus.
    name: String,
    #[command(flatten)]
    retain: crate::gc::RetainArgs,
}

#[derive(Debug, Args)]
pub(crate) struct NameArg {
    /// The corpus.
    name: String,
}

#[derive(Debug, Args)]
pub(crate) struct DropArgs {
    /// The corpus.
    name: String,
    /// Really delete it (there is no undo).
    #[arg(long)]
    yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The corpus to build or update.
    corpus: String,
    /// The dataset to read.
    #[arg(long = "from")]
    from: String,
    /// The text to index: a column name, or a template like "{col_a}: {col_b}".
    #[arg(long)]
    text: String,
    /// The column with each row's unique id, or a template like "{contract}-{revision}" when
    /// no single column is unique.
    #[arg(long)]
    id: String,
    /// Metadata columns to keep with each document (comma-separated); usable as --filter.
    #[arg(long, value_delimiter = ',')]
    meta: Vec<String>,
    /// The embedder: minilm[:DIR], hash[:DIM], ollama:MODEL[@URL], openai:MODEL[@URL]. Default:
    /// the corpus's own, or minilm for a new corpus.
    #[arg(long)]
    embedder: Option<String>,
    /// HNSW connectivity for a new corpus.
    #[arg(long, default_value_t = AnnParams::default().m)]
    m: usize,
    /// HNSW build breadth for a new corpus.
    #[arg(long, default_value_t = AnnParams::default().ef_construction)]
    ef_construction: usize,
    /// How a new corpus's index is searched: sq8 walks the graph on 8-bit codes of the vectors
    /// (a quarter of the memory per step) and re-scores the last candidates exactly; f32 walks
    /// it on the full vectors (slower, the same recall within a point). Check the recall with
    /// `corpus tune`; `bench ann` compares them.
    #[arg(long, default_value = "sq8")]
    quantization: Quantization,
    /// Documents per committed chunk (what an interruption can lose).
    #[arg(long, default_value_t = BuildOptions::default().chunk_rows)]
    chunk_rows: usize,
    /// Keep documents whose rows are gone from the dataset.
    #[arg(long)]
    keep_missing: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TuneArgs {
    /// The corpus.
    corpus: String,
    /// Recall@k to reach.
    #[arg(long, default_value_t = 0.95)]
    target_recall: f64,
    /// k.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Queries sampled from the corpus.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// ef_search values to try (comma-separated, ascending).
    #[arg(long, value_delimiter = ',')]
    ef: Vec<usize>,
}

/// Search one or more corpora at once; results are fused into one ranking.
///
/// Each corpus is searched in parallel with its own indexes (vector, BM25 or both) and the
/// ranked lists are fused (reciprocal rank fusion, k=60, by default). A corpus that is missing
/// or broken is reported and the others still answer; the command fails only if none does.
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// What to look for.
    query: String,
    /// Corpora to search (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    corpora: Vec<String>,
    /// Hits to return.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// hybrid (vector + BM25), vector or bm25.
    #[arg(long, default_value = "hybrid")]
    mode: Mode,
    /// rrf or zscore.
    #[arg(long, default_value = "rrf")]
    fusion: Fusion,
    /// Keep only documents whose metadata column equals a value: --filter col=value (repeat
    /// for several; all must match).
    #[arg(long = "filter")]
    filters: Vec<String>,
}

/// A progress bar for builds and trials.
pub(crate) struct Bar(ProgressBar);

impl Bar {
    pub(crate) fn new(hidden: bool) -> Self {
        let bar = if hidden {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        let style = ProgressStyle::with_template(
            "{spinner} {msg} {bar:30} {pos}/{len} ({per_sec}, eta {eta}) [{elapsed_precise}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Bar(bar)
    }
}

impl Progress for Bar {
    fn start(&self, phase: &str, total: u64) {
        self.0.reset();
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_message(phase.to_string());
        self.0.enable_steady_tick(Duration::from_millis(150));
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn parse_embedder(spec: Option<&str>) -> anyhow::Result<Option<EmbedderSpec>> {
    spec.map(str::parse::<EmbedderSpec>)
        .transpose()
        .map_err(Into::into)
}

pub(crate) async fn run(globals: &Globals, command: CorpusCommand) -> anyhow::Result<()> {
    let lakehouse = globals.open().await?;
    let corpora = lakehouse.corpora();
    match command {
        CorpusCommand::Build(args) => {
            let spec = RowSpec {
                id: args.id,
                text: args.text,
                meta: args.meta,
            };
            let options = BuildOptions {
                embedder: parse_embedder(args.embedder.as_deref())?,
                params: Some(AnnParams {
                    m: args.m,
                    ef_construction: args.ef_construction,
                    quantization: args.quantization,
                    ..AnnParams::default()
                }),
                chunk_rows: args.chunk_rows,
                delete_missing: !args.keep_missing,
                ..BuildOptions::default()
            };
            let bar = Bar::new(globals.json);
            let built = lakehouse
                .build_corpus(&args.corpus, &args.from, &spec, options, &bar)
                .await
                .with_context(|| {
                    format!(
                        "building corpus {:?} from dataset {:?}",
                        args.corpus, args.from
                    )
                })?;
            bar.finish();
            if globals.json {
                outln!("{}", serde_json::to_string(&built)?)?;
            } else {
                let r = &built.report;
                outln!(
                    "corpus {} v{} from dataset {}: {} docs ({} added, {} updated, {} deleted, {} unchanged; {} rows with empty text skipped)",
                    r.corpus,
                    r.version,
                    built.dataset,
                    r.docs,
                    r.added,
                    r.updated,
                    r.deleted,
                    r.unchanged,
                    built.skipped_empty
                )?;
                outln!(
                    "embedded {} texts, reused {} stored vectors; {} segment(s){} in {:.1}s",
                    r.embedded,
                    r.reused_vectors,
                    r.segments,
                    if r.compacted { " after compaction" } else { "" },
                    r.seconds
                )?;
                if r.version == r.from_version {
                    outln!("nothing changed: the corpus was already up to date")?;
                }
            }
        }
        CorpusCommand::List => {
            let names = corpora.names().await?;
            let mut manifests = Vec::new();
            for n in &names {
                manifests.push(corpora.manifest(n).await?);
            }
            if globals.json {
                for m in &manifests {
                    outln!("{}", serde_json::to_string(&summary(m))?)?;
                }
            } else if manifests.is_empty() {
                outln!(
                    "no corpora yet; build one with `lakehouse corpus build <name> --from <dataset> --text <col> --id <col>`"
                )?;
            } else {
                outln!(
                    "{:<24} {:>9} {:>4} {:>4}  embedder",
                    "corpus",
                    "docs",
                    "ver",
                    "segs"
                )?;
                for m in &manifests {
                    outln!(
                        "{:<24} {:>9} {:>4} {:>4}  {} (dim {})",
                        m.corpus,
                        m.docs,
                        m.version,
                        m.segments.len(),
                        m.embedder.id,
                        m.embedder.dim
                    )?;
                }
            }
        }
        CorpusCommand::Describe(args) => {
            let m = corpora.manifest(&args.name).await?;
            if globals.json {
                outln!("{}", serde_json::to_string_pretty(&m)?)?;
            } else {
                describe(&m)?;
            }
        }
        CorpusCommand::Tune(args) => {
            let mut options = TuneOptions {
                target_recall: args.target_recall,
                k: args.k,
                queries: args.queries,
                ..TuneOptions::default()
            };
            if !args.ef.is_empty() {
                options.ef_values = args.ef;
            }
            let bar = Bar::new(globals.json);
            let report = corpora.tune(&args.corpus, &options, &bar).await?;
            if globals.json {
                outln!("{}", serde_json::to_string(&report)?)?;
            } else {
                outln!(
                    "{:>6} {:>8} {:>9} {:>9} {:>9}",
                    "ef",
                    "recall",
                    "p50 ms",
                    "p95 ms",
                    "qps"
                )?;
                for t in &report.trials {
                    outln!(
                        "{:>6} {:>8.4} {:>9.3} {:>9.3} {:>9.0}{}",
                        t.ef_search,
                        t.recall,
                        t.p50_ms,
                        t.p95_ms,
                        t.qps,
                        if t.ef_search == report.chosen_ef_search {
                            "  <- chosen"
                        } else {
                            ""
                        }
                    )?;
                }
                if report.target_met {
                    outln!(
                        "ef_search {} reaches recall@{} >= {}; recorded in version {}",
                        report.chosen_ef_search,
                        options.k,
                        options.target_recall,
                        report.version
                    )?;
                } else {
                    outln!(
                        "no tried value reaches recall@{} >= {}; using the largest, {} (version {}); rebuild with a larger --m or --ef-construction",
                        options.k,
                        options.target_recall,
                        report.chosen_ef_search,
                        report.version
                    )?;
                }
                outln!(
                    "trials journaled under {}",
                    lakehouse::vectord::TRIALS_JOURNAL
                )?;
            }
        }
        CorpusCommand::Compact(args) => {
            let bar = Bar::new(globals.json);
            let m = corpora.compact(&args.name, &bar).await?;
            if globals.json {
                outln!("{}", serde_json::to_string(&summary(&m))?)?;
            } else {
                outln!(
                    "corpus {} v{}: {} docs in one segment",
                    m.corpus,
                    m.version,
                    m.docs
                )?;
            }
        }
        CorpusCommand::Gc(args) => {
            let done = corpora
                .gc(&args.name, args.retain.retain, args.retain.dry_run)
                .await?;
            if globals.json {
                outln!("{}", serde_json::to_string(&done)?)?;
            } else {
                outln!("{}", crate::gc::corpus_line(&done))?;
            }
        }
        CorpusCommand::Drop(args) => {
            if !args.yes {
                bail!(
                    "dropping corpus {:?} deletes every version; pass --yes to confirm",
                    args.name
                );
            }
            let deleted = corpora.drop_corpus(&args.name).await?;
            outln!("dropped corpus {} ({deleted} objects)", args.name)?;
        }
    }
    Ok(())
}

fn summary(m: &Manifest) -> serde_json::Value {
    serde_json::json!({
        "corpus": m.corpus, "docs": m.docs, "version": m.version,
        "segments": m.segments.len(), "embedder": m.embedder.id, "dim": m.embedder.dim,
        "ef_search": m.params.ef_search,
    })
}

fn describe(m: &Manifest) -> anyhow::Result<()> {
    outln!("corpus     {}", m.corpus)?;
    outln!("version    {}", m.version)?;
    outln!("documents  {}", m.docs)?;
    outln!(
        "embedder   {} (dim {}, spec {})",
        m.embedder.id,
        m.embedder.dim,
        m.embedder.spec
    )?;
    outln!(
        "hnsw       m={} ef_construction={} ef_search={} vectors {}",
        m.params.m,
        m.params.ef_construction,
        m.params.ef_search,
        m.params.quantization
    )?;
    if let Some(s) = &m.source {
        outln!(
            "source     dataset {} text {:?} id {:?} meta [{}]",
            s.dataset,
            s.text,
            s.id,
            s.meta.join(", ")
        )?;
    }
    if let Some(t) = &m.tuned {
        outln!(
            "tuned      recall@{} {:.4} (target {}) p50 {:.3} ms over {} trials",
            t.k,
            t.recall,
            t.target_recall,
            t.p50_ms,
            t.trials
        )?;
    }
    outln!("segments   {}", m.segments.len())?;
    for s in &m.segments {
        let bytes: u64 = s.files.iter().map(|f| f.bytes).sum();
        outln!(
            "  {}  {} docs, {} deleted, {} bytes",
            s.id,
            s.docs,
            s.deleted.len(),
            bytes
        )?;
    }
    Ok(())
}

fn parse_filter(f: &str) -> anyhow::Result<(String, String)> {
    match f.split_once('=') {
        Some((c, v)) if !c.trim().is_empty() => Ok((c.trim().to_string(), v.to_string())),
        _ => bail!("invalid --filter {f:?}: expected column=value"),
    }
}

pub(crate) async fn search(globals: &Globals, args: SearchArgs) -> anyhow::Result<()> {
    let lakehouse = globals.open().await?;
    let request = SearchRequest {
        query: args.query,
        corpora: args.corpora,
        k: args.k,
        mode: args.mode,
        fusion: args.fusion,
        filters: args
            .filters
            .iter()
            .map(|f| parse_filter(f))
            .collect::<anyhow::Result<_>>()?,
    };
    let response = lakehouse.corpora().search(&request).await?;
    if globals.json {
        outln!("{}", serde_json::to_string(&response)?)?;
    } else {
        print_response(&response)?;
    }
    if !response.any_ok() {
        bail!("no corpus could answer");
    }
    Ok(())
}

fn print_response(r: &SearchResponse) -> anyhow::Result<()> {
    for h in &r.hits {
        let scores = match (h.vector_score, h.bm25_score) {
            (Some(v), Some(b)) => format!("cos {v:.3}, bm25 {b:.2}"),
            (Some(v), None) => format!("cos {v:.3}"),
            (None, Some(b)) => format!("bm25 {b:.2}"),
            (None, None) => String::new(),
        };
        outln!(
            "{:>2}. [{} #{}] {}  score {:.4} ({scores})",
            h.rank,
            h.corpus,
            h.corpus_rank,
            h.id,
            h.score
        )?;
        outln!("    {}", h.snippet.replace('\n', " "))?;
        if !h.metadata.is_empty() {
            let meta: Vec<String> = h.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
            outln!("    {}", meta.join("  "))?;
        }
    }
    if r.hits.is_empty() {
        outln!("no hits")?;
    }
    for c in &r.corpora {
        match &c.error {
            None => outln!(
                "# {}: {} candidates in {:.1} ms",
                c.corpus,
                c.candidates,
                c.took_ms
            )?,
            Some(e) => outln!("# {}: FAILED: {e}", c.corpus)?,
        }
    }
    outln!(
        "# query embedded in {:.1} ms; total {:.1} ms",
        r.embed_ms,
        r.took_ms
    )?;
    Ok(())
}
