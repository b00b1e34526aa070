//! The state of a namespace: the fold of its commits.
//!
//! Folding never fails and never drops data. Writers validate every operation before they
//! commit it, so a well-formed log folds cleanly; an event that breaks the rules anyway (stored
//! data damaged or written by hand: an id used twice, a revision of a missing or already
//! superseded parent, an unknown record) is applied as far as it makes sense and recorded as an
//! [`Anomaly`], which `open` reports. Walking a chain ([`State::history`]) checks for cycles
//! and missing links, so damaged chains end in an error, never a hang.

use std::collections::{HashMap, HashSet};

use lakehouse_store::Timestamp;
use serde::{Deserialize, Serialize};

use crate::MemoryError;
use crate::event::{Commit, EmbedderInfo, Event};
use crate::record::{Outcome, Record};

/// Something wrong found while folding stored events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The commit it was found in.
    pub seq: u64,
    /// What was wrong and what was done about it.
    pub message: String,
}

/// The key of a record in the indexes: its commit number and its place in the commit.
pub(crate) fn record_key(seq: u64, index: usize) -> u64 {
    (seq << 16) | (index as u64 & 0xffff)
}

/// The id of the `index`-th new record of commit `seq`.
pub(crate) fn record_id(seq: u64, index: usize) -> String {
    if index == 0 {
        format!("m{seq}")
    } else {
        format!("m{seq}.{index}")
    }
}

/// The index key of a record id made by [`record_id`].
pub(crate) fn key_of(id: &str) -> Option<u64> {
    let rest = id.strip_prefix('m')?;
    let (seq, index) = match rest.split_once('.') {
        Some((s, i)) => (s.parse::<u64>().ok()?, i.parse::<usize>().ok()?),
        None => (rest.parse::<u64>().ok()?, 0),
    };
    (index <= 0xffff && seq < (1 << 47)).then(|| record_key(seq, index))
}

/// The fold of a namespace's commits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The namespace.
    pub namespace: String,
    /// The last commit folded in (0: none).
    pub seq: u64,
    /// The time of that commit.
    #[serde(with = "crate::time")]
    pub at: Timestamp,
    /// The embedder recorded by the first commit.
    pub embedder: Option<EmbedderInfo>,
    /// Every record, by id.
    records: HashMap<String, Record>,
    /// Ids in the order they were written.
    order: Vec<String>,
    /// Problems found folding stored events.
    pub anomalies: Vec<Anomaly>,
    /// Live records by fingerprint, oldest first (derived).
    #[serde(skip)]
    fingerprints: HashMap<String, Vec<String>>,
    /// Ids by index key (derived).
    #[serde(skip)]
    keys: HashMap<u64, String>,
}

impl State {
    /// An empty namespace.
    pub(crate) fn new(namespace: &str) -> Self {
        State {
            namespace: namespace.to_string(),
            ..State::default()
        }
    }

    /// Rebuild the derived maps after deserialising a snapshot.
    pub(crate) fn reindex(&mut self) {
        self.fingerprints.clear();
        self.keys.clear();
        for id in &self.order {
            if let Some(r) = self.records.get(id) {
                if let Some(key) = key_of(id) {
                    self.keys.insert(key, id.clone());
                }
                if r.is_live() {
                    self.fingerprints
                        .entry(r.fingerprint.clone())
                        .or_default()
                        .push(id.clone());
                }
            }
        }
    }

    /// Number of records (all states).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when nothing was ever written.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// A record by id.
    pub fn get(&self, id: &str) -> Option<&Record> {
        self.records.get(id)
    }

    /// A record by id, or the error naming it.
    pub(crate) fn require(&self, id: &str) -> Result<&Record, MemoryError> {
        self.get(id).ok_or_else(|| MemoryError::UnknownRecord {
            namespace: self.namespace.clone(),
            id: id.to_string(),
        })
    }

    /// A record by index key.
    pub(crate) fn by_key(&self, key: u64) -> Option<&Record> {
        self.keys.get(&key).and_then(|id| self.records.get(id))
    }

    /// The oldest live record with this fingerprint, if any. (Two can be live at once: a
    /// revision may repeat another live record's workflow.)
    pub(crate) fn live_with_fingerprint(&self, fingerprint: &str) -> Option<&Record> {
        self.fingerprints
            .get(fingerprint)?
            .iter()
            .filter_map(|id| self.records.get(id))
            .find(|r| r.is_live())
    }

    /// Every record, oldest first.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.order.iter().filter_map(|id| self.records.get(id))
    }

    /// Fold one commit in.
    pub(crate) fn apply(&mut self, commit: &Commit) {
        let seq = commit.seq;
        let at = commit.at;
        for event in &commit.events {
            if let Err(message) = self.apply_event(event, at) {
                tracing::warn!(namespace = %self.namespace, seq, "{message}");
                self.anomalies.push(Anomaly { seq, message });
            }
        }
        self.seq = seq;
        self.at = self.at.max(at);
    }

    fn insert(&mut self, record: Record) {
        if let Some(key) = key_of(&record.id) {
            self.keys.insert(key, record.id.clone());
        }
        if record.is_live() {
            self.fingerprints
                .entry(record.fingerprint.clone())
                .or_default()
                .push(record.id.clone());
        }
        self.order.push(record.id.clone());
        self.records.insert(record.id.clone(), record);
    }

    fn unlist_fingerprint(&mut self, id: &str) {
        if let Some(fp) = self.records.get(id).map(|r| r.fingerprint.clone())
            && let Some(ids) = self.fingerprints.get_mut(&fp)
        {
            ids.retain(|i| i != id);
            if ids.is_empty() {
                self.fingerprints.remove(&fp);
            }
        }
    }

    fn apply_event(&mut self, event: &Event, at: Timestamp) -> Result<(), String> {
        match event {
            Event::Created { embedder } => match &self.embedder {
                None => self.embedder = Some(embedder.clone()),
                Some(e) if e == embedder => {}
                Some(e) => {
                    return Err(format!(
                        "a second Created event names embedder {}; keeping {}",
                        embedder.id, e.id
                    ));
                }
            },
            Event::Added { record } => {
                if self.records.contains_key(&record.id) {
                    return Err(format!(
                        "record {} added twice; the second is ignored",
                        record.id
                    ));
                }
                self.insert((**record).clone());
            }
            Event::Revised { parent, record } => {
                if self.records.contains_key(&record.id) {
                    return Err(format!(
                        "record {} added twice; the second is ignored",
                        record.id
                    ));
                }
                let problem = match self.records.get(parent) {
                    None => Some(format!(
                        "revision {} names parent {parent}, which does not exist (kept as a dangling version)",
                        record.id
                    )),
                    Some(p) if p.superseded_by.is_some() => Some(format!(
                        "revision {} of {parent}, which was already superseded by {} (the chain forks)",
                        record.id,
                        p.superseded_by.as_deref().unwrap_or_default()
                    )),
                    Some(_) => None,
                };
                if problem.is_none() {
                    self.unlist_fingerprint(parent);
                    if let Some(p) = self.records.get_mut(parent) {
                        p.superseded_at = Some(at);
                        p.superseded_by = Some(record.id.clone());
                    }
                }
                self.insert((**record).clone());
                if let Some(problem) = problem {
                    return Err(problem);
                }
            }
            Event::Replayed { id, session } => {
                let r = self
                    .records
                    .get_mut(id)
                    .ok_or_else(|| format!("replay of unknown record {id}"))?;
                r.replay_count += 1;
                r.replays.push(at);
                if let Some(s) = session
                    && !r.draft.sessions.contains(s)
                {
                    r.draft.sessions.push(s.clone());
                }
            }
            Event::Retired { ids, reason, actor } => {
                let mut problems = Vec::new();
                for id in ids {
                    match self.records.get(id) {
                        None => problems.push(format!("retire of unknown record {id}")),
                        Some(r) if r.retired_at.is_some() => {
                            problems.push(format!("record {id} retired twice; the first stands"));
                        }
                        Some(_) => {
                            self.unlist_fingerprint(id);
                            if let Some(r) = self.records.get_mut(id) {
                                r.retired_at = Some(at);
                                r.retire_reason = Some(reason.clone());
                                r.retired_by.clone_from(actor);
                            }
                        }
                    }
                }
                if !problems.is_empty() {
                    return Err(problems.join("; "));
                }
            }
            Event::Outcome {
                id,
                success,
                session,
            } => {
                let r = self
                    .records
                    .get_mut(id)
                    .ok_or_else(|| format!("outcome for unknown record {id}"))?;
                if *success {
                    r.success_count += 1;
                } else {
                    r.failure_count += 1;
                }
                r.outcomes.push(Outcome {
                    at,
                    success: *success,
                    session: session.clone(),
                });
            }
        }
        Ok(())
    }

    /// The tip of the chain `id` is in (following `superseded_by`), cycle-safe.
    pub(crate) fn tip_of(&self, id: &str) -> Result<&Record, MemoryError> {
        let mut current = self.require(id)?;
        let mut seen = HashSet::new();
        while let Some(next) = current.superseded_by.as_deref() {
            if !seen.insert(current.id.as_str()) {
                return Err(corrupt(id, format!("{next} leads back into a cycle")));
            }
            current = self
                .get(next)
                .ok_or_else(|| corrupt(id, format!("successor {next} is missing")))?;
        }
        Ok(current)
    }

    /// The whole chain of `id`, root first, as of `as_of` (`None`: now).
    ///
    /// Walks up by `parent_id` to the root, then down by `superseded_by`, with a visited set:
    /// a cycle, a missing record or a fork ends the walk with [`MemoryError::CorruptChain`].
    pub fn history(&self, id: &str, as_of: Option<Timestamp>) -> Result<Vec<Record>, MemoryError> {
        let start = self.require(id)?;
        let mut seen = HashSet::new();
        let mut root = start;
        seen.insert(root.id.as_str());
        while let Some(parent) = root.parent_id.as_deref() {
            if !seen.insert(parent) {
                return Err(corrupt(id, format!("cycle: {parent} is its own ancestor")));
            }
            root = self
                .get(parent)
                .ok_or_else(|| corrupt(id, format!("parent {parent} of {} is missing", root.id)))?;
        }
        let mut chain = vec![root];
        let mut seen = HashSet::from([root.id.as_str()]);
        let mut current = root;
        while let Some(next) = current.superseded_by.as_deref() {
            if !seen.insert(next) {
                return Err(corrupt(
                    id,
                    format!("cycle: {next} appears twice walking down"),
                ));
            }
            let record = self.get(next).ok_or_else(|| {
                corrupt(id, format!("successor {next} of {} is missing", current.id))
            })?;
            if record.parent_id.as_deref() != Some(current.id.as_str()) {
                return Err(corrupt(
                    id,
                    format!(
                        "{next} succeeds {} but names parent {:?}",
                        current.id, record.parent_id
                    ),
                ));
            }
            chain.push(record);
            current = record;
        }
        if !seen.contains(start.id.as_str()) {
            return Err(corrupt(
                id,
                format!(
                    "{id} is not on the chain from its root {} (the chain forks)",
                    root.id
                ),
            ));
        }
        Ok(match as_of {
            None => chain.into_iter().cloned().collect(),
            Some(t) => chain.into_iter().filter_map(|r| r.as_of(t)).collect(),
        })
    }
}

fn corrupt(id: &str, detail: String) -> MemoryError {
    MemoryError::CorruptChain {
        id: id.to_string(),
        detail,
    }
}
