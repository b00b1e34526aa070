//! Parameter trials: find the smallest ANN search breadth (`ef_search`) that reaches a target
//! recall, measured against exact search, and record it in the manifest.
//!
//! Queries are a spread-out sample of the corpus's own document vectors (each query's own
//! document is left out of both the approximate and the exact answers). Every trial (its
//! parameters, recall@k, latency percentiles, throughput) is appended to the trial journal
//! under `journals/trials/`, whatever is chosen.

use std::collections::HashSet;
use std::time::Instant;

use lakehouse_store::journal::{Journal, JournalExt, JournalOptions, StoreJournal};
use serde::Serialize;

use crate::VectordError;
use crate::ann::exact_search;
use crate::build::Progress;
use crate::corpus::Corpora;
use crate::manifest::{Manifest, TuneRecord};

/// Where trials are journaled.
pub const TRIALS_JOURNAL: &str = "journals/trials";

/// What to tune for.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// Recall@k to reach. Default 0.95.
    pub target_recall: f64,
    /// k. Default 10.
    pub k: usize,
    /// Queries sampled from the corpus. Default 200.
    pub queries: usize,
    /// `ef_search` values to try, ascending.
    pub ef_values: Vec<usize>,
}

impl Default for TuneOptions {
    fn default() -> Self {
        Self {
            target_recall: 0.95,
            k: 10,
            queries: 200,
            ef_values: vec![10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512],
        }
    }
}

/// One trial.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trial {
    /// The corpus.
    pub corpus: String,
    /// The corpus version tuned.
    pub version: u64,
    /// Connectivity (fixed at build time).
    pub m: usize,
    /// Build breadth (fixed at build time).
    pub ef_construction: usize,
    /// Search breadth tried.
    pub ef_search: usize,
    /// k.
    pub k: usize,
    /// Queries run.
    pub queries: usize,
    /// Mean recall@k against exact search.
    pub recall: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 95th percentile latency, ms.
    pub p95_ms: f64,
    /// Queries per second, one thread.
    pub qps: f64,
}

/// The outcome of [`Corpora::tune`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TuneReport {
    /// Every trial, in order.
    pub trials: Vec<Trial>,
    /// The chosen `ef_search`.
    pub chosen_ef_search: usize,
    /// Whether the target was reached (if not, the largest breadth tried is chosen).
    pub target_met: bool,
    /// The manifest version recording the choice.
    pub version: u64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl Corpora {
    /// Sweep `ef_search` on `name`, journal every trial, record the choice.
    pub async fn tune(
        &self,
        name: &str,
        options: &TuneOptions,
        progress: &dyn Progress,
    ) -> Result<TuneReport, VectordError> {
        if !(0.0..=1.0).contains(&options.target_recall) || options.k == 0 || options.queries == 0 {
            return Err(VectordError::InvalidRequest(format!(
                "target recall must be in [0, 1] and k, queries at least 1 (got {}, {}, {})",
                options.target_recall, options.k, options.queries
            )));
        }
        if options.ef_values.is_empty() {
            return Err(VectordError::InvalidRequest(
                "no ef_search values to try".into(),
            ));
        }
        let view = self.open(name).await?;
        let manifest: Manifest = view.manifest.clone();
        let dim = manifest.embedder.dim;
        // All live vectors, in one matrix, with their (segment, key).
        let mut ids = Vec::new();
        let mut matrix = Vec::new();
        for (seg, doc) in view.live_docs() {
            if let Some(v) = view.vector(seg, doc.key)? {
                ids.push(doc.key);
                matrix.extend_from_slice(&v);
            }
        }
        if ids.len() <= options.k {
            return Err(VectordError::InvalidRequest(format!(
                "corpus {name:?} has {} documents; tuning needs more than k = {}",
                ids.len(),
                options.k
            )));
        }
        let n_queries = options.queries.min(ids.len());
        let step = ids.len() as f64 / n_queries as f64;
        let sample: Vec<usize> = (0..n_queries).map(|i| (i as f64 * step) as usize).collect();
        let k = options.k;
        progress.start("exact search", n_queries as u64);
        let mut truth: Vec<HashSet<u64>> = Vec::with_capacity(n_queries);
        for &q in &sample {
            let query = &matrix[q * dim..(q + 1) * dim];
            let exact = exact_search(&matrix, dim, query, k + 1)?;
            truth.push(
                exact
                    .into_iter()
                    .filter(|(i, _)| *i != q)
                    .take(k)
                    .map(|(i, _)| ids[i])
                    .collect(),
            );
            progress.advance(1);
        }
        progress.finish();

        let journal = StoreJournal::open(
            self.store.clone(),
            TRIALS_JOURNAL,
            JournalOptions::default(),
        )?;
        let mut trials = Vec::new();
        progress.start("trials", options.ef_values.len() as u64);
        for &ef in &options.ef_values {
            view.set_ef_search(ef.max(k + 1));
            let mut latencies = Vec::with_capacity(n_queries);
            let mut recall_sum = 0.0;
            let started = Instant::now();
            for (qi, &q) in sample.iter().enumerate() {
                let query = &matrix[q * dim..(q + 1) * dim];
                let t = Instant::now();
                let hits = view.vector_search(query, k + 1, &[])?;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                let found = hits
                    .iter()
                    .filter(|h| h.key != ids[q])
                    .take(k)
                    .filter(|h| truth[qi].contains(&h.key))
                    .count();
                recall_sum += found as f64 / truth[qi].len().max(1) as f64;
            }
            let elapsed = started.elapsed().as_secs_f64();
            latencies.sort_by(f64::total_cmp);
            let trial = Trial {
                corpus: name.to_string(),
                version: manifest.version,
                m: manifest.params.m,
                ef_construction: manifest.params.ef_construction,
                ef_search: ef,
                k,
                queries: n_queries,
                recall: recall_sum / n_queries as f64,
                p50_ms: percentile(&latencies, 0.5),
                p95_ms: percentile(&latencies, 0.95),
                qps: n_queries as f64 / elapsed.max(1e-9),
            };
            journal.append_json(&trial).await?;
            trials.push(trial);
            progress.advance(1);
        }
        journal.close().await?;
        progress.finish();
        view.set_ef_search(manifest.params.ef_search);

        let chosen = trials
            .iter()
            .find(|t| t.recall >= options.target_recall)
            .or(trials.last())
            .cloned()
            .ok_or_else(|| VectordError::InvalidRequest("no trials ran".into()))?;
        let target_met = chosen.recall >= options.target_recall;
        let mut next = manifest;
        next.params.ef_search = chosen.ef_search;
        next.tuned = Some(TuneRecord {
            target_recall: options.target_recall,
            recall: chosen.recall,
            k,
            p50_ms: chosen.p50_ms,
            trials: trials.len(),
            at_micros: self.clock.now().as_micros(),
        });
        let committed = self.commit_params(next).await?;
        Ok(TuneReport {
            trials,
            chosen_ef_search: chosen.ef_search,
            target_met,
            version: committed.version,
        })
    }
}
