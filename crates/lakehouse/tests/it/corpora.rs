//! Corpora built from the checked-in samples of the real datasets with MiniLM (fetched by
//! `scripts/fetch-model.sh`; a missing model fails these tests, nothing falls back to `hash`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use lakehouse::models::{Embedder, EmbedderSpec, HashEmbedder, ModelError};
use lakehouse::store::journal::{Journal, JournalOptions};
use lakehouse::table::IngestOptions;
use lakehouse::vectord::{
    BuildOptions, Corpora, Mode, NoProgress, RowSpec, SearchRequest, SourceRow, TuneOptions,
    VectordError,
};
use lakehouse::{Config, Lakehouse};

fn sample(file: &str) -> String {
    lakehouse_testkit::crate_dir()
        .join("../table/tests/data")
        .join(file)
        .display()
        .to_string()
}

async fn open(url: &str) -> Lakehouse {
    Lakehouse::open(Config::default().with_store_url(url))
        .await
        .unwrap()
}

fn spec(id: &str, text: &str, meta: &[&str]) -> RowSpec {
    RowSpec {
        id: id.into(),
        text: text.into(),
        meta: meta.iter().map(|m| m.to_string()).collect(),
    }
}

/// Ingest a sample and build a MiniLM corpus from it.
async fn corpus(lh: &Lakehouse, name: &str, file: &str, rows: RowSpec) {
    lh.tables()
        .ingest(name, &sample(file), IngestOptions::new())
        .await
        .unwrap();
    let built = lh
        .build_corpus(name, name, &rows, BuildOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(built.report.docs > 0);
    assert_eq!(built.report.embedded, built.report.docs);
}

async fn permits(lh: &Lakehouse) {
    corpus(
        lh,
        "permits",
        "chicago_permits_sample.csv",
        spec("permit", "work_description", &["work_type", "permit_type"]),
    )
    .await;
}

#[tokio::test]
async fn matrix_search_spans_real_corpora_and_reports_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let lh = open(dir.path().to_str().unwrap()).await;
    permits(&lh).await;
    corpus(
        &lh,
        "contracts",
        "chicago_contracts_sample.csv",
        spec(
            "{purchase_order_contract_number}-{revision_number}",
            "{purchase_order_description} ({vendor_name})",
            &["department"],
        ),
    )
    .await;
    corpus(
        &lh,
        "sf_permits",
        "sf_permits_sample.csv",
        spec("record_id", "description", &["permit_type_definition"]),
    )
    .await;
    corpus(
        &lh,
        "companies",
        "sec_company_tickers_sample.json",
        spec("ticker", "title", &[]),
    )
    .await;

    let m = lh.corpora().manifest("permits").await.unwrap();
    assert!(m.embedder.id.starts_with("minilm:"), "{}", m.embedder.id);
    assert_eq!(m.embedder.dim, 384);

    let all: Vec<String> = ["permits", "contracts", "sf_permits", "companies", "nope"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut request = SearchRequest::new("replace the roof", all.clone());
    request.k = 30;
    let response = lh.corpora().search(&request).await.unwrap();
    assert_eq!(response.hits.len(), 30);
    // Roof work is in both permit corpora; SEC company names have nothing on it.
    let corpora_hit: std::collections::HashSet<&str> =
        response.hits.iter().map(|h| h.corpus.as_str()).collect();
    assert!(
        corpora_hit.contains("permits") && corpora_hit.contains("sf_permits"),
        "{corpora_hit:?}"
    );
    assert!(
        response
            .hits
            .iter()
            .take(10)
            .all(|h| h.corpus != "companies")
    );
    assert!(
        response
            .hits
            .iter()
            .take(3)
            .all(|h| h.snippet.to_lowercase().contains("roof")),
        "top hits are about roofs: {:#?}",
        response
            .hits
            .iter()
            .take(3)
            .map(|h| &h.snippet)
            .collect::<Vec<_>>()
    );
    for (i, h) in response.hits.iter().enumerate() {
        assert_eq!(h.rank, i + 1);
        assert!(h.corpus_rank >= 1 && !h.id.is_empty() && !h.snippet.is_empty());
        assert!(h.vector_score.is_some() || h.bm25_score.is_some());
    }
    let nope = response
        .corpora
        .iter()
        .find(|c| c.corpus == "nope")
        .unwrap();
    assert!(
        nope.error.as_deref().unwrap().contains("does not exist"),
        "{nope:?}"
    );
    assert_eq!(
        response
            .corpora
            .iter()
            .filter(|c| c.error.is_none())
            .count(),
        4
    );

    // Vectors find companies by meaning: no title contains "oil".
    let mut by_meaning = SearchRequest::new("oil company", vec!["companies".into()]);
    by_meaning.mode = Mode::Vector;
    by_meaning.k = 5;
    let r = lh.corpora().search(&by_meaning).await.unwrap();
    let ids: Vec<&str> = r.hits.iter().map(|h| h.id.as_str()).collect();
    assert!(
        ids.iter()
            .any(|id| ["XOM", "OXY", "CVX", "COP"].contains(id)),
        "{ids:?}"
    );

    // Metadata filters apply inside each corpus; a corpus without the column says so.
    let mut filtered = SearchRequest::new(
        "replace the roof",
        vec!["permits".into(), "companies".into()],
    );
    filtered.filters = vec![("work_type".into(), "Reroofing".into())];
    let r = lh.corpora().search(&filtered).await.unwrap();
    assert!(!r.hits.is_empty());
    assert!(
        r.hits
            .iter()
            .all(|h| h.metadata["work_type"] == "Reroofing")
    );
    let companies = r.corpora.iter().find(|c| c.corpus == "companies").unwrap();
    assert!(
        companies
            .error
            .as_deref()
            .unwrap()
            .contains("no metadata column \"work_type\"")
    );
}

#[tokio::test]
async fn hybrid_and_bm25_find_exact_terms_vector_alone_may_miss() {
    let dir = tempfile::tempdir().unwrap();
    let lh = open(dir.path().to_str().unwrap()).await;
    corpus(
        &lh,
        "contracts",
        "chicago_contracts_sample.csv",
        spec(
            "{purchase_order_contract_number}-{revision_number}",
            "{purchase_order_description} ({vendor_name})",
            &["department"],
        ),
    )
    .await;
    let docs = lh.corpora().open("contracts").await.unwrap();
    // A vendor that appears in exactly one document: its name is a rare exact term.
    let mut counts = std::collections::HashMap::new();
    for (_, d) in docs.live_docs() {
        for w in d
            .text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 6)
        {
            *counts.entry(w.to_lowercase()).or_insert(0) += 1;
        }
    }
    let (id, word) = docs
        .live_docs()
        .find_map(|(_, d)| {
            let rare = d
                .text
                .split(|c: char| !c.is_alphanumeric())
                .find(|w| w.len() > 6 && counts[&w.to_lowercase()] == 1)?;
            Some((d.id.clone(), rare.to_string()))
        })
        .unwrap();
    for mode in [Mode::Bm25, Mode::Hybrid] {
        let mut req = SearchRequest::new(word.clone(), vec!["contracts".into()]);
        req.mode = mode;
        let r = lh.corpora().search(&req).await.unwrap();
        assert_eq!(
            r.hits[0].id, id,
            "{mode:?} finds the one document with {word:?}"
        );
        assert!(r.hits[0].bm25_score.is_some());
    }
    let mut req = SearchRequest::new(word, vec!["contracts".into()]);
    req.mode = Mode::Vector;
    let r = lh.corpora().search(&req).await.unwrap();
    assert!(
        r.hits
            .iter()
            .all(|h| h.bm25_score.is_none() && h.vector_score.is_some())
    );
}

fn rows(n: usize, version: &str) -> Vec<SourceRow> {
    (0..n)
        .map(|i| SourceRow {
            id: format!("doc-{i}"),
            text: format!(
                "building permit {i} for {version} repairs to the {} of the house",
                ["roof", "porch", "garage", "basement", "kitchen"][i % 5]
            ),
            meta: [(
                "part".to_string(),
                ["roof", "porch", "garage", "basement", "kitchen"][i % 5].to_string(),
            )]
            .into_iter()
            .collect(),
        })
        .collect()
}

#[tokio::test]
async fn incremental_builds_embed_only_new_and_changed_rows_and_delete_missing_ones() {
    let lh = open("memory://").await;
    let c = lh.corpora();
    let options = BuildOptions {
        embedder: Some(EmbedderSpec::default()),
        ..BuildOptions::default()
    };
    let first = c
        .build("docs", &rows(40, "interior"), &options, &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        (first.added, first.embedded, first.docs, first.version),
        (40, 40, 40, 1)
    );

    // Same rows again: nothing to do, no new version.
    let again = c
        .build("docs", &rows(40, "interior"), &options, &NoProgress)
        .await
        .unwrap();
    assert_eq!((again.unchanged, again.embedded, again.version), (40, 0, 1));

    // Change two texts, drop three rows, add four.
    let mut next = rows(44, "interior");
    next[1].text = "complete demolition of a two-story frame garage".into();
    next[2].text = "install solar panels on the flat roof".into();
    next.retain(|r| !["doc-5", "doc-6", "doc-7"].contains(&r.id.as_str()));
    let update = c.build("docs", &next, &options, &NoProgress).await.unwrap();
    assert_eq!(
        (
            update.added,
            update.updated,
            update.deleted,
            update.unchanged
        ),
        (4, 2, 3, 35)
    );
    assert_eq!(
        update.embedded, 6,
        "only new and changed texts are embedded"
    );
    assert_eq!(update.docs, 41);

    let search = |q: &str| {
        let mut r = SearchRequest::new(q, vec!["docs".into()]);
        r.k = 50;
        r
    };
    let r = c.search(&search("solar panels")).await.unwrap();
    assert_eq!(r.hits[0].id, "doc-2");
    assert_eq!(
        r.hits.iter().filter(|h| h.id == "doc-2").count(),
        1,
        "the old version is gone"
    );
    let r = c.search(&search("building permit repairs")).await.unwrap();
    assert!(
        r.hits
            .iter()
            .all(|h| !["doc-5", "doc-6", "doc-7"].contains(&h.id.as_str()))
    );

    // A changed text that equals a stored one reuses its vector.
    let mut moved = next.clone();
    moved[0].text = next[3].text.clone();
    let reuse = c
        .build("docs", &moved, &options, &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        (reuse.updated, reuse.embedded, reuse.reused_vectors),
        (1, 0, 1)
    );

    // Compaction keeps the same live documents in one segment.
    let before = c.manifest("docs").await.unwrap().docs;
    let compacted = c.compact("docs", &NoProgress).await.unwrap();
    assert_eq!((compacted.segments.len(), compacted.docs), (1, before));
    let r = c.search(&search("solar panels")).await.unwrap();
    assert_eq!(r.hits[0].id, "doc-2");
}

/// Wraps MiniLM and fails after a number of calls: an interrupted build.
#[derive(Debug)]
struct FailsAfter {
    inner: Arc<dyn Embedder>,
    calls_left: AtomicUsize,
}

#[async_trait]
impl Embedder for FailsAfter {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    async fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        if self
            .calls_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_err()
        {
            return Err(ModelError::Config("interrupted".into()));
        }
        self.inner.embed(texts).await
    }
}

#[tokio::test]
async fn an_interrupted_build_resumes_where_it_stopped() {
    let minilm = lakehouse::models::open_embedder(&EmbedderSpec::default())
        .await
        .unwrap();
    let store = lakehouse::store::Store::open("memory://").unwrap();
    let failing = Corpora::new(Arc::clone(store.object_store()));
    failing
        .register_embedder(
            &EmbedderSpec::default(),
            Arc::new(FailsAfter {
                inner: Arc::clone(&minilm),
                calls_left: AtomicUsize::new(3),
            }),
        )
        .await;
    let options = BuildOptions {
        chunk_rows: 10,
        embed_batch: 5,
        ..BuildOptions::default()
    };
    let err = failing
        .build("docs", &rows(50, "x"), &options, &NoProgress)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("interrupted"), "{err}");
    // Three embed calls of five texts: one full chunk of ten was committed.
    let m = failing.manifest("docs").await.unwrap();
    assert_eq!(m.docs, 10);

    let fresh = Corpora::new(Arc::clone(store.object_store()));
    let resumed = fresh
        .build("docs", &rows(50, "x"), &options, &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        (
            resumed.unchanged,
            resumed.added,
            resumed.embedded,
            resumed.docs
        ),
        (10, 40, 40, 50)
    );
}

#[tokio::test]
async fn a_build_whose_puts_lose_their_answers_commits_each_version_once() {
    use lakehouse::store::{FaultConfig, FaultyStore, Op};
    let clean = lakehouse::store::Store::open("memory://").unwrap();
    // Every put lands; two in five tell the builder they failed.
    let faulty = Arc::new(FaultyStore::new(
        Arc::clone(clean.object_store()),
        FaultConfig::new(11).with_rate(Op::PutLostAck, 0.4),
    ));
    let options = BuildOptions {
        embedder: Some("hash:64".parse().unwrap()),
        chunk_rows: 10,
        ..BuildOptions::default()
    };
    let built = Corpora::new(faulty.clone())
        .build("docs", &rows(50, "x"), &options, &NoProgress)
        .await
        .unwrap();
    assert!(faulty.injected(Op::PutLostAck) > 0);
    assert_eq!((built.docs, built.added), (50, 50));
    // Read back through the clean store: one manifest per committed chunk, nothing twice.
    let fresh = Corpora::new(Arc::clone(clean.object_store()));
    let m = fresh.manifest("docs").await.unwrap();
    assert_eq!((m.docs, m.version), (50, built.version));
    let again = fresh
        .build("docs", &rows(50, "x"), &options, &NoProgress)
        .await
        .unwrap();
    assert_eq!((again.unchanged, again.embedded), (50, 0));
    let mut request = SearchRequest::new("permit 7 repairs", vec!["docs".into()]);
    request.k = 100;
    let found = fresh.search(&request).await.unwrap();
    let mut ids: Vec<&str> = found.hits.iter().map(|h| h.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50, "every document once");
}

#[tokio::test]
async fn tune_measures_recall_journals_trials_and_records_the_choice() {
    let dir = tempfile::tempdir().unwrap();
    let lh = open(dir.path().to_str().unwrap()).await;
    permits(&lh).await;
    let options = TuneOptions {
        queries: 50,
        ef_values: vec![10, 20, 40, 80],
        ..TuneOptions::default()
    };
    let report = lh
        .corpora()
        .tune("permits", &options, &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.trials.len(), 4);
    assert!(report.target_met, "{:?}", report.trials);
    let recalls: Vec<f64> = report.trials.iter().map(|t| t.recall).collect();
    assert!(recalls.iter().all(|r| (0.0..=1.0).contains(r)));
    assert!(recalls[3] >= 0.95, "{recalls:?}");
    let chosen = report
        .trials
        .iter()
        .find(|t| t.ef_search == report.chosen_ef_search)
        .unwrap();
    assert!(chosen.recall >= 0.95);
    assert!(
        report
            .trials
            .iter()
            .filter(|t| t.ef_search < report.chosen_ef_search)
            .all(|t| t.recall < 0.95)
    );

    let m = lh.corpora().manifest("permits").await.unwrap();
    assert_eq!(m.version, report.version);
    assert_eq!(m.params.ef_search, report.chosen_ef_search);
    assert!(m.tuned.unwrap().recall >= 0.95);
    let journal = lh
        .journal(
            lakehouse::vectord::TRIALS_JOURNAL,
            JournalOptions::default(),
        )
        .unwrap();
    let events = journal.read_all().await.unwrap();
    assert_eq!(events.len(), 4);
}

#[tokio::test]
async fn bad_requests_and_mismatched_embedders_are_clear_errors() {
    let lh = open("memory://").await;
    let c = lh.corpora();
    let options = BuildOptions::default();
    c.build("docs", &rows(20, "x"), &options, &NoProgress)
        .await
        .unwrap();

    let err = c
        .search(&SearchRequest::new("  ", vec!["docs".into()]))
        .await
        .unwrap_err();
    assert!(matches!(err, VectordError::EmptyQuery), "{err}");
    let err = c
        .search(&SearchRequest::new("roof", vec![]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at least one corpus"), "{err}");
    let mut zero = SearchRequest::new("roof", vec!["docs".into()]);
    zero.k = 0;
    assert!(c.search(&zero).await.is_err());
    let err = c.open("../etc").await.unwrap_err();
    assert!(matches!(err, VectordError::InvalidName { .. }), "{err}");
    let err = c.manifest("unknown").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("corpus \"unknown\" does not exist (known: docs)"),
        "{err}"
    );

    // Rows handed to the library directly are checked too.
    let mut twice = rows(3, "x");
    twice.push(twice[0].clone());
    let err = c
        .build("docs", &twice, &options, &NoProgress)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("duplicate id \"doc-0\""), "{err}");
    let mut blank = rows(3, "x");
    blank[1].text = "  ".into();
    assert!(
        c.build("docs", &blank, &options, &NoProgress)
            .await
            .is_err()
    );
    assert_eq!(
        c.manifest("docs").await.unwrap().version,
        1,
        "nothing was written"
    );

    // Extending a MiniLM corpus with another embedder is refused before anything is written.
    let hash = BuildOptions {
        embedder: Some("hash:64".parse().unwrap()),
        ..BuildOptions::default()
    };
    let err = c
        .build("docs", &rows(30, "x"), &hash, &NoProgress)
        .await
        .unwrap_err();
    assert!(
        matches!(err, VectordError::EmbedderMismatch { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("dimension 384")
            && err.to_string().contains("hash:64 (dimension 64)"),
        "{err}"
    );
    assert_eq!(c.manifest("docs").await.unwrap().version, 1);

    // A query embedder of another dimension is reported for that corpus.
    let other = Corpora::new(Arc::clone(lh.store().object_store()));
    other
        .register_embedder(
            &EmbedderSpec::default(),
            Arc::new(HashEmbedder::new(64).unwrap()),
        )
        .await;
    let r = other
        .search(&SearchRequest::new("roof", vec!["docs".into()]))
        .await
        .unwrap();
    assert!(
        r.corpora[0]
            .error
            .as_deref()
            .unwrap()
            .contains("was built with embedder minilm"),
        "{:?}",
        r.corpora
    );
    assert!(!r.any_ok());
    // BM25 alone needs no embedder.
    let mut bm25 = SearchRequest::new("roof", vec!["docs".into()]);
    bm25.mode = Mode::Bm25;
    assert!(!other.search(&bm25).await.unwrap().hits.is_empty());
}

#[tokio::test]
async fn a_corrupt_segment_fails_only_its_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let lh = open(dir.path().to_str().unwrap()).await;
    let c = lh.corpora();
    for name in ["good", "bad_vectors", "bad_bm25", "bad_docs"] {
        c.build(name, &rows(20, "x"), &BuildOptions::default(), &NoProgress)
            .await
            .unwrap();
    }
    for (name, file) in [
        ("bad_vectors", "vectors.hnsw"),
        ("bad_bm25", "bm25.pack"),
        ("bad_docs", "docs.parquet"),
    ] {
        let seg = &c.manifest(name).await.unwrap().segments[0].id;
        let path = dir
            .path()
            .join(format!("corpora/{name}/segments/{seg}/{file}"));
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    // A fresh handle, so nothing is served from cache.
    let fresh = Corpora::new(Arc::clone(lh.store().object_store()));
    let names = ["good", "bad_vectors", "bad_bm25", "bad_docs"]
        .map(String::from)
        .to_vec();
    let r = fresh
        .search(&SearchRequest::new("roof repairs", names))
        .await
        .unwrap();
    assert!(!r.hits.is_empty() && r.hits.iter().all(|h| h.corpus == "good"));
    for status in &r.corpora[1..] {
        let e = status.error.as_deref().unwrap();
        assert!(
            e.contains("corrupt corpus file") && e.contains(&status.corpus),
            "{e}"
        );
    }
    assert!(r.corpora[0].error.is_none());
}

#[tokio::test]
async fn a_segment_from_the_usearch_days_asks_for_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let lh = open(dir.path().to_str().unwrap()).await;
    let c = lh.corpora();
    c.build("old", &rows(5, "x"), &BuildOptions::default(), &NoProgress)
        .await
        .unwrap();
    // Make the manifest name the vector file the way versions before our own index did.
    let manifests = dir.path().join("corpora/old/manifests");
    let path = std::fs::read_dir(&manifests)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("vectors.hnsw"), "{text}");
    std::fs::write(&path, text.replace("vectors.hnsw", "vectors.usearch")).unwrap();
    let fresh = Corpora::new(Arc::clone(lh.store().object_store()));
    let r = fresh
        .search(&SearchRequest::new("roof repairs", vec!["old".into()]))
        .await
        .unwrap();
    let e = r.corpora[0].error.as_deref().unwrap();
    assert!(
        e.contains("older format") && e.contains("lakehouse corpus drop old"),
        "{e}"
    );
}

#[tokio::test]
async fn corpora_live_on_s3_too() {
    let store = lakehouse_testkit::s3_store("corpora").await;
    let c = Corpora::new(Arc::clone(store.object_store()));
    let report = c
        .build(
            "docs",
            &rows(30, "x"),
            &BuildOptions::default(),
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(report.docs, 30);
    let fresh = Corpora::new(Arc::clone(store.object_store()));
    let r = fresh
        .search(&SearchRequest::new("garage repairs", vec!["docs".into()]))
        .await
        .unwrap();
    assert!(
        r.any_ok() && r.hits[0].metadata["part"] == "garage",
        "{:?}",
        r.hits[0]
    );
    assert_eq!(fresh.names().await.unwrap(), vec!["docs".to_string()]);
}

#[tokio::test]
async fn loaded_segments_stay_within_the_cache_budget() {
    let lh = open("memory://").await;
    let options = BuildOptions {
        embedder: Some("hash:64".parse().unwrap()),
        ..BuildOptions::default()
    };
    for name in ["a", "b", "c"] {
        lh.corpora()
            .build(name, &rows(40, "interior"), &options, &NoProgress)
            .await
            .unwrap();
    }
    // each corpus's segment bytes, from its manifest (their files' sizes)
    let mut size = std::collections::HashMap::new();
    for name in ["a", "b", "c"] {
        let view = lh.corpora().open(name).await.unwrap();
        let bytes: u64 = view
            .manifest
            .segments
            .iter()
            .flat_map(|s| &s.files)
            .map(|f| f.bytes)
            .sum();
        size.insert(name, bytes);
    }
    let one = size["a"].max(size["b"]).max(size["c"]);
    let store = Arc::clone(lh.store().object_store());

    // room for two of the three corpora: searching all of them in turn keeps evicting, and
    // every search still answers
    let budget = 2 * one + one / 2;
    let bounded = Corpora::new(Arc::clone(&store)).with_cache_bytes(budget);
    for _ in 0..3 {
        for name in ["a", "b", "c"] {
            let found = bounded
                .search(&SearchRequest::new("interior", vec![name.into()]))
                .await
                .unwrap();
            assert!(!found.hits.is_empty(), "{name}: {found:?}");
            assert!(
                bounded.cached_bytes() <= budget,
                "{} bytes held, budget {budget}",
                bounded.cached_bytes()
            );
        }
    }
    // the two searched last are what it holds
    assert_eq!(bounded.cached_bytes(), size["b"] + size["c"]);

    // the default budget holds all three
    let unbounded = Corpora::new(store);
    for name in ["a", "b", "c"] {
        unbounded
            .search(&SearchRequest::new("interior", vec![name.into()]))
            .await
            .unwrap();
    }
    assert_eq!(unbounded.cached_bytes(), size.values().sum::<u64>());
}
