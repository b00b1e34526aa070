//! Matrix search: one query over many corpora at once.
//!
//! The query is embedded once per distinct embedder, every corpus is searched in parallel
//! (vector, BM25, or both), the hits of all corpora are merged by score into one vector list
//! per embedder and one BM25 list, and those lists are fused into one ranking. Each hit carries
//! its corpus, id, fused score, rank within its corpus, the raw vector and BM25 scores, a
//! snippet and its metadata. A corpus that is missing or fails (a corrupt segment, a different
//! embedder) is reported in [`SearchResponse::corpora`] and the others still answer.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use lakehouse_models::EmbedderSpec;
use serde::{Deserialize, Serialize};

use crate::VectordError;
use crate::build::check_embedder;
use crate::corpus::{Corpora, CorpusView, Found};
use crate::fanout;
use crate::fusion::{Fusion, fuse};

/// Which indexes answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Vector and BM25, fused.
    #[default]
    Hybrid,
    /// ANN only.
    Vector,
    /// BM25 only.
    Bm25,
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hybrid" => Ok(Mode::Hybrid),
            "vector" => Ok(Mode::Vector),
            "bm25" => Ok(Mode::Bm25),
            other => Err(format!(
                "unknown mode {other:?}: expected hybrid, vector or bm25"
            )),
        }
    }
}

/// A search over one or more corpora. As JSON, only `query` and `corpora` are required; the
/// rest default as in [`SearchRequest::new`], and unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The query text.
    pub query: String,
    /// Corpora to search.
    pub corpora: Vec<String>,
    /// Hits to return in all.
    #[serde(default = "default_k")]
    pub k: usize,
    /// Indexes to use.
    #[serde(default)]
    pub mode: Mode,
    /// How lists are fused.
    #[serde(default)]
    pub fusion: Fusion,
    /// Metadata filters: every `(column, value)` must match exactly.
    #[serde(default)]
    pub filters: Vec<(String, String)>,
}

fn default_k() -> usize {
    10
}

impl SearchRequest {
    /// A hybrid, RRF-fused search for the top 10.
    pub fn new(query: impl Into<String>, corpora: Vec<String>) -> Self {
        Self {
            query: query.into(),
            corpora,
            k: default_k(),
            mode: Mode::Hybrid,
            fusion: Fusion::default(),
            filters: Vec::new(),
        }
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The corpus it came from.
    pub corpus: String,
    /// The document id.
    pub id: String,
    /// Fused score (RRF or summed z-scores).
    pub score: f32,
    /// Position in the fused list, from 1.
    pub rank: usize,
    /// Position among this corpus's hits, from 1.
    pub corpus_rank: usize,
    /// Cosine similarity, when the vector index found it.
    pub vector_score: Option<f32>,
    /// BM25 score, when the text index found it.
    pub bm25_score: Option<f32>,
    /// The start of the text.
    pub snippet: String,
    /// The document's metadata.
    pub metadata: BTreeMap<String, String>,
}

/// How one corpus fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusStatus {
    /// The corpus.
    pub corpus: String,
    /// `None` when it answered; the error otherwise.
    pub error: Option<String>,
    /// Candidates it contributed.
    pub candidates: usize,
    /// Milliseconds it took (load + search).
    pub took_ms: f64,
}

/// The answer to a [`SearchRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// Fused hits, best first.
    pub hits: Vec<Hit>,
    /// One status per corpus asked for, in request order.
    pub corpora: Vec<CorpusStatus>,
    /// Milliseconds spent embedding the query.
    pub embed_ms: f64,
    /// Total milliseconds.
    pub took_ms: f64,
}

impl SearchResponse {
    /// True when at least one corpus answered.
    pub fn any_ok(&self) -> bool {
        self.corpora.iter().any(|c| c.error.is_none())
    }
}

const SNIPPET_CHARS: usize = 200;

fn snippet(text: &str) -> String {
    let mut s: String = text.chars().take(SNIPPET_CHARS).collect();
    if text.chars().nth(SNIPPET_CHARS).is_some() {
        s.push('…');
    }
    s
}

/// Per corpus: its view and its ranked lists.
struct Answer {
    view: Arc<CorpusView>,
    vector: Vec<Found>,
    bm25: Vec<Found>,
}

/// One corpus to search: its view (or why it could not be opened) and the query vector of its
/// embedder (or why there is none).
struct Job {
    view: Result<Arc<CorpusView>, CorpusError>,
    query_vector: Option<Result<Arc<Vec<f32>>, CorpusError>>,
    load_ms: f64,
}

/// Why one corpus did not answer; shared, since one embedder's failure is every corpus's
/// that needs it. It is reported in that corpus's status, not as the call's error.
type CorpusError = Arc<VectordError>;

impl Job {
    /// Search this corpus; `Err` is what is reported for it.
    fn run(
        self,
        query: &str,
        filters: &[(String, String)],
        mode: Mode,
        depth: usize,
    ) -> Result<(Answer, f64), CorpusError> {
        let started = Instant::now();
        let view = self.view?;
        let query_vector = match (mode, self.query_vector) {
            (Mode::Bm25, _) => None,
            (_, Some(Ok(v))) => Some(v),
            (_, Some(Err(e))) => return Err(e),
            (_, None) => return Err(Arc::new(VectordError::NoQueryVector)),
        };
        let search = || {
            check_filters(&view, filters)?;
            let vector = match &query_vector {
                Some(qv) => view.vector_search(qv, depth, filters)?,
                None => Vec::new(),
            };
            let bm25 = if mode == Mode::Vector {
                Vec::new()
            } else {
                view.bm25_search(query, depth, filters)?
            };
            Ok::<_, VectordError>((vector, bm25))
        };
        let (vector, bm25) = search().map_err(Arc::new)?;
        let took_ms = self.load_ms + started.elapsed().as_secs_f64() * 1000.0;
        Ok((Answer { view, vector, bm25 }, took_ms))
    }
}

fn validate(request: &SearchRequest) -> Result<(), VectordError> {
    if request.query.trim().is_empty() {
        return Err(VectordError::EmptyQuery);
    }
    if request.corpora.is_empty() {
        return Err(VectordError::InvalidRequest(
            "name at least one corpus".into(),
        ));
    }
    // a name that cannot be a corpus is a mistake in the request, not a corpus that failed
    for name in &request.corpora {
        crate::validate_name(name)?;
    }
    if request.k == 0 || request.k > 1000 {
        return Err(VectordError::InvalidRequest(format!(
            "k must be between 1 and 1000, got {}",
            request.k
        )));
    }
    if let Some((c, _)) = request.filters.iter().find(|(c, _)| c.is_empty()) {
        return Err(VectordError::InvalidRequest(format!(
            "filter with empty column {c:?}"
        )));
    }
    Ok(())
}

fn check_filters(view: &CorpusView, filters: &[(String, String)]) -> Result<(), VectordError> {
    let columns = view.meta_columns();
    for (c, _) in filters {
        if !columns.contains(c) {
            return Err(VectordError::InvalidRequest(format!(
                "no metadata column {c:?} in corpus {:?} (has: {})",
                view.manifest.corpus,
                if columns.is_empty() {
                    "none".to_string()
                } else {
                    columns.join(", ")
                }
            )));
        }
    }
    Ok(())
}

impl Corpora {
    /// Run a matrix search. Request errors (empty query, no corpora, bad k) fail the call;
    /// per-corpus errors are reported in the response.
    pub async fn search(&self, request: &SearchRequest) -> Result<SearchResponse, VectordError> {
        validate(request)?;
        let started = Instant::now();
        let mut names: Vec<&String> = Vec::new();
        for name in &request.corpora {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        // 1. Open every corpus (cached when current).
        let opened = futures::future::join_all(names.iter().map(|n| async move {
            let t = Instant::now();
            let view = self.open(n).await;
            (view, t.elapsed().as_secs_f64() * 1000.0)
        }))
        .await;

        // 2. Embed the query once per embedder the corpora need.
        let embed_started = Instant::now();
        // Keyed by the manifest's whole embedder record, so every corpus is checked against
        // the embedder that answers for it.
        let embedder_key = |v: &CorpusView| {
            let e = &v.manifest.embedder;
            format!("{}\n{}\n{}", e.spec, e.id, e.dim)
        };
        let mut query_vectors: HashMap<String, Result<Arc<Vec<f32>>, CorpusError>> = HashMap::new();
        if request.mode != Mode::Bm25 {
            for (view, _) in &opened {
                let Ok(view) = view else { continue };
                let spec = &view.manifest.embedder.spec;
                let key = embedder_key(view);
                if query_vectors.contains_key(&key) {
                    continue;
                }
                let result = async {
                    let parsed: EmbedderSpec = spec.parse()?;
                    let embedder = self.embedder(&parsed).await?;
                    check_embedder(&view.manifest, embedder.as_ref())?;
                    let mut v = embedder.embed(&[request.query.as_str()]).await?;
                    Ok::<_, VectordError>(Arc::new(v.pop().unwrap_or_default()))
                }
                .await
                .map_err(Arc::new);
                query_vectors.insert(key, result);
            }
        }
        let embed_ms = embed_started.elapsed().as_secs_f64() * 1000.0;

        // 3. Search every corpus in parallel: one blocking task runs them, with rayon's threads
        // joining in (`fanout`; a corpus search takes tens of microseconds, so a thread
        // hand-off per corpus would cost as much as the search).
        let depth = match request.mode {
            Mode::Hybrid => (request.k * 2).max(20),
            _ => request.k,
        };
        let jobs: Vec<Job> = opened
            .into_iter()
            .map(|(view, load_ms)| {
                let qv = view
                    .as_ref()
                    .ok()
                    .and_then(|v| query_vectors.get(&embedder_key(v)).cloned());
                Job {
                    view: view.map_err(Arc::new),
                    query_vector: qv,
                    load_ms,
                }
            })
            .collect();
        let query = request.query.clone();
        let filters = request.filters.clone();
        let mode = request.mode;
        let results: Vec<Result<(Answer, f64), CorpusError>> =
            tokio::task::spawn_blocking(move || {
                fanout::run_all(
                    jobs,
                    move |job: Job| job.run(&query, &filters, mode, depth),
                    || Err(Arc::new(VectordError::SearchPanicked)),
                )
            })
            .await?;

        // 4. Fuse.
        let mut statuses = Vec::new();
        let mut answers: Vec<Answer> = Vec::new();
        // Ranked lists of (answer index, segment index, key): one BM25 list over all corpora,
        // and one vector list per embedder (cosines from one embedder are comparable across
        // corpora; from two, they are not). Merging by score before fusing makes a matrix
        // search rank like a search over the union of the corpora: a corpus whose best hit is
        // poor does not get a top rank just for being searched.
        type Ranked = Vec<((usize, usize, u64), f32)>;
        let mut vector_lists: Vec<(String, Ranked)> = Vec::new();
        let mut bm25_list: Ranked = Vec::new();
        for (name, result) in names.iter().zip(results) {
            match result {
                Ok((answer, took_ms)) => {
                    let a = answers.len();
                    let candidates = answer.vector.len() + answer.bm25.len();
                    let embedder = &answer.view.manifest.embedder.id;
                    let at = match vector_lists.iter().position(|(e, _)| e == embedder) {
                        Some(at) => at,
                        None => {
                            vector_lists.push((embedder.clone(), Vec::new()));
                            vector_lists.len() - 1
                        }
                    };
                    let item = |f: &Found| ((a, f.segment, f.key), f.score);
                    vector_lists[at].1.extend(answer.vector.iter().map(item));
                    bm25_list.extend(answer.bm25.iter().map(item));
                    answers.push(answer);
                    statuses.push(CorpusStatus {
                        corpus: (*name).clone(),
                        error: None,
                        candidates,
                        took_ms,
                    });
                }
                Err(error) => statuses.push(CorpusStatus {
                    corpus: (*name).clone(),
                    error: Some(error.to_string()),
                    candidates: 0,
                    took_ms: 0.0,
                }),
            }
        }
        let mut lists: Vec<Ranked> = vector_lists.into_iter().map(|(_, l)| l).collect();
        lists.push(bm25_list);
        lists.retain(|l| !l.is_empty());
        for list in &mut lists {
            list.sort_by(|x, y| y.1.total_cmp(&x.1));
        }
        let fused = fuse(&lists, request.fusion);
        let mut corpus_ranks: HashMap<usize, usize> = HashMap::new();
        let mut hits = Vec::new();
        for ((a, segment, key), score) in fused {
            let answer = &answers[a];
            let Some(doc) = answer.view.doc(segment, key) else {
                continue;
            };
            let corpus_rank = corpus_ranks.entry(a).or_insert(0);
            *corpus_rank += 1;
            let find = |list: &[Found]| {
                list.iter()
                    .find(|f| f.segment == segment && f.key == key)
                    .map(|f| f.score)
            };
            hits.push(Hit {
                corpus: answer.view.manifest.corpus.clone(),
                id: doc.id.clone(),
                score,
                rank: hits.len() + 1,
                corpus_rank: *corpus_rank,
                vector_score: find(&answer.vector),
                bm25_score: find(&answer.bm25),
                snippet: snippet(&doc.text),
                metadata: doc.meta.clone(),
            });
            if hits.len() == request.k {
                break;
            }
        }
        Ok(SearchResponse {
            hits,
            corpora: statuses,
            embed_ms,
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }
}
