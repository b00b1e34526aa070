//! Object names: how batches and compactions are named, and parsing names back.
//!
//! Names are fixed-width so that byte order is journal order: a batch's stem is
//! `<ts:020>-<writer:016x>-<seq:012>`; a compaction is named after the first batch it holds,
//! with a `.c` suffix that sorts just before that batch's own name (`.c…` < `.jsonl`).

use std::fmt;

use super::event::WriterId;
use crate::Timestamp;

/// The identity of one flushed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Stem {
    pub(crate) ts: Timestamp,
    pub(crate) writer: WriterId,
    pub(crate) first_seq: u64,
}

impl fmt::Display for Stem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:020}-{}-{:012}",
            self.ts.0.max(0),
            self.writer,
            self.first_seq
        )
    }
}

impl Stem {
    pub(crate) fn parse(s: &str) -> Option<Stem> {
        let mut parts = s.split('-');
        let (ts, writer, seq) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || ts.len() != 20 || seq.len() != 12 {
            return None;
        }
        if !ts.bytes().all(|b| b.is_ascii_digit()) || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Stem {
            ts: Timestamp(ts.parse().ok()?),
            writer: writer.parse().ok()?,
            first_seq: seq.parse().ok()?,
        })
    }

    pub(crate) fn batch_name(&self) -> String {
        format!("{self}.jsonl")
    }
}

/// What an object under a journal prefix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectName {
    /// One flushed batch.
    Batch(Stem),
    /// A compaction holding batches from `first` to a batch flushed at `last_ts`.
    Compacted {
        first: Stem,
        last_ts: Timestamp,
        compactor: WriterId,
    },
}

impl ObjectName {
    pub(crate) fn parse(name: &str) -> Option<ObjectName> {
        let base = name.strip_suffix(".jsonl")?;
        match base.split_once(".c") {
            None => Stem::parse(base).map(ObjectName::Batch),
            Some((first, rest)) => {
                let (last_ts, compactor) = rest.split_once('-')?;
                if last_ts.len() != 20 || !last_ts.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Some(ObjectName::Compacted {
                    first: Stem::parse(first)?,
                    last_ts: Timestamp(last_ts.parse().ok()?),
                    compactor: compactor.parse().ok()?,
                })
            }
        }
    }

    pub(crate) fn compacted_name(first: Stem, last_ts: Timestamp, compactor: WriterId) -> String {
        format!("{first}.c{:020}-{compactor}.jsonl", last_ts.0.max(0))
    }

    /// The newest batch time this object holds.
    pub(crate) fn last_ts(&self) -> Timestamp {
        match self {
            ObjectName::Batch(stem) => stem.ts,
            ObjectName::Compacted { last_ts, .. } => *last_ts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stem(ts: i64, w: u64, seq: u64) -> Stem {
        Stem {
            ts: Timestamp(ts),
            writer: WriterId(w),
            first_seq: seq,
        }
    }

    #[test]
    fn names_round_trip() {
        let s = stem(1_700_000_000_000_000, 0xfeed, 12);
        assert_eq!(
            ObjectName::parse(&s.batch_name()),
            Some(ObjectName::Batch(s))
        );
        let c = ObjectName::compacted_name(s, Timestamp(5), WriterId(9));
        assert_eq!(
            ObjectName::parse(&c),
            Some(ObjectName::Compacted {
                first: s,
                last_ts: Timestamp(5),
                compactor: WriterId(9)
            })
        );
    }

    #[test]
    fn compaction_sorts_just_before_its_first_batch() {
        let a = stem(100, 1, 0);
        let b = stem(101, 1, 5);
        let c = ObjectName::compacted_name(a, Timestamp(101), WriterId(2));
        let mut names = vec![b.batch_name(), a.batch_name(), c.clone()];
        names.sort();
        assert_eq!(names, vec![c, a.batch_name(), b.batch_name()]);
    }

    #[test]
    fn byte_order_is_time_order() {
        let mut names = [stem(10_000, 1, 0).batch_name(), stem(9, 2, 0).batch_name()];
        names.sort();
        assert_eq!(names[0], stem(9, 2, 0).batch_name());
    }

    #[test]
    fn foreign_names_are_not_ours() {
        for name in [
            "notes.txt",
            "batch_0001.jsonl",
            "x.jsonl",
            "1-2-3.jsonl",
            ".jsonl",
        ] {
            assert_eq!(ObjectName::parse(name), None, "{name}");
        }
    }
}
