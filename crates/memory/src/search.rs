//! Queries over a namespace: SEARCH (hybrid, live tips only, as-of) and LIST.

use std::collections::HashMap;

use lakehouse_store::Timestamp;
use lakehouse_vectord::Fusion;
use lakehouse_vectord::fusion::fuse;
use serde::{Deserialize, Serialize};

use crate::MemoryError;
use crate::index::Indexes;
use crate::record::{Kind, Record};
use crate::state::State;

/// The most hits one search returns.
pub const MAX_K: usize = 1000;

/// Weight of the replay/success boost: about two rank steps near the top of an RRF ranking, so
/// it orders near-ties and never lifts a poor match over a good one.
pub(crate) const BOOST: f32 = 0.0005;

/// A SEARCH.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryQuery {
    /// The text to look for; must not be empty.
    pub text: String,
    /// How many hits (1 to [`MAX_K`]).
    pub k: usize,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only records whose metadata has every `key = value`.
    pub filters: Vec<(String, String)>,
    /// Answer as the namespace was at this time (records, chains, counters, retirements).
    pub as_of: Option<Timestamp>,
}

impl MemoryQuery {
    /// The 10 best live records for `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            k: 10,
            kind: None,
            filters: Vec::new(),
            as_of: None,
        }
    }

    /// At most `k` hits.
    pub fn with_k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Only records of `kind`.
    pub fn with_kind(mut self, kind: Kind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Only records with `key = value` in their metadata.
    pub fn with_filter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.filters.push((key.into(), value.into()));
        self
    }

    /// As the namespace was at `t`.
    pub fn as_of(mut self, t: Timestamp) -> Self {
        self.as_of = Some(t);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), MemoryError> {
        if self.text.trim().is_empty() {
            return Err(MemoryError::InvalidInput("the query is empty".into()));
        }
        if self.k == 0 || self.k > MAX_K {
            return Err(MemoryError::InvalidInput(format!(
                "k = {} is out of range 1..={MAX_K}",
                self.k
            )));
        }
        Ok(())
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryHit {
    /// The record (as of the query's time; without its embedding).
    pub record: Record,
    /// The fused score with the replay/success boost; higher is better.
    pub score: f32,
    /// Cosine similarity, when the vector search found it.
    pub vector_score: Option<f32>,
    /// BM25 score, when the lexical search found it.
    pub lexical_score: Option<f32>,
}

/// Which records LIST returns by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateFilter {
    /// Live tips (the default).
    #[default]
    Live,
    /// Replaced by a revision.
    Superseded,
    /// Retired.
    Retired,
    /// Everything.
    All,
}

impl std::str::FromStr for StateFilter {
    type Err = MemoryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(Self::Live),
            "superseded" => Ok(Self::Superseded),
            "retired" => Ok(Self::Retired),
            "all" => Ok(Self::All),
            other => Err(MemoryError::InvalidInput(format!(
                "unknown state {other:?}: expected live, superseded, retired or all"
            ))),
        }
    }
}

/// A LIST.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListFilter {
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only records in this state.
    pub state: StateFilter,
    /// Only records whose metadata has every `key = value`.
    pub filters: Vec<(String, String)>,
    /// At most this many (oldest first).
    pub limit: Option<usize>,
    /// The namespace as it was at this time: records written since left out, later
    /// supersessions, retirements, replays and outcomes undone (`None`: now).
    pub as_of: Option<Timestamp>,
}

/// Whether `record` passes a kind and metadata filter.
pub(crate) fn matches(record: &Record, kind: Option<Kind>, filters: &[(String, String)]) -> bool {
    kind.is_none_or(|k| record.draft.kind == k)
        && filters
            .iter()
            .all(|(key, value)| record.draft.metadata.get(key) == Some(value))
}

impl ListFilter {
    pub(crate) fn admits(&self, record: &Record) -> bool {
        let state_ok = match self.state {
            StateFilter::Live => record.is_live(),
            StateFilter::Superseded => record.superseded_at.is_some(),
            StateFilter::Retired => record.retired_at.is_some(),
            StateFilter::All => true,
        };
        state_ok && matches(record, self.kind, &self.filters)
    }
}

/// Parse `key=value` filter arguments.
pub fn parse_filter(text: &str) -> Result<(String, String), MemoryError> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(MemoryError::InvalidInput(format!(
            "filter {text:?} is not key=value"
        ))),
    }
}

/// SEARCH over indexes that are built: hybrid candidates, fused, boosted, the best `k` copied out.
pub(crate) fn search_in(
    state: &State,
    indexes: &Indexes,
    query: &MemoryQuery,
    vector: &[f32],
) -> Result<Vec<MemoryHit>, MemoryError> {
    let keep = |key: u64| {
        state
            .by_key(key)
            .is_some_and(|r| r.live_at(query.as_of) && matches(r, query.kind, &query.filters))
    };
    let n = (query.k * 4).max(40);
    let by_vector = indexes.vector_search(vector, n, &keep)?;
    let by_text = indexes.lexical_search(&query.text, n, &keep)?;
    let vector_scores: HashMap<u64, f32> = by_vector.iter().copied().collect();
    let text_scores: HashMap<u64, f32> = by_text.iter().copied().collect();
    let fused = fuse(&[by_vector, by_text], Fusion::default());
    // rank every candidate first, then copy out only the k returned
    let mut ranked: Vec<(f32, u64, &Record)> = fused
        .into_iter()
        .filter_map(|(key, score)| {
            let record = state.by_key(key)?;
            let merit = record.merit_at(query.as_of)?;
            Some((score + BOOST * (merit / 4.0).tanh(), key, record))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.truncate(query.k);
    Ok(ranked
        .into_iter()
        .filter_map(|(score, key, record)| {
            let record = match query.as_of {
                Some(t) => record.as_of(t)?,
                None => record.clone(),
            };
            Some(MemoryHit {
                score,
                vector_score: vector_scores.get(&key).copied(),
                lexical_score: text_scores.get(&key).copied(),
                record: record.without_embedding(),
            })
        })
        .collect())
}
