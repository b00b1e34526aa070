//! [`Cursor`]: where a reader stands in a journal.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use super::JournalError;
use super::event::{Event, WriterId};
use crate::Timestamp;

/// A position in a journal: what a reader has already taken.
///
/// A cursor remembers, for each writer seen recently, the last sequence number taken, and the
/// newest batch time taken. Batches older than that time minus the settle window count as read.
/// It survives compaction (it names no objects) and prints as a short string
/// (`v1:<newest>:<writer>=<seq>@<batch ts>,…`) that parses back with [`str::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    newest: Option<Timestamp>,
    writers: BTreeMap<WriterId, (u64, Timestamp)>,
}

impl Cursor {
    /// Before the first event.
    pub fn start() -> Cursor {
        Cursor::default()
    }

    /// Whether this cursor has taken nothing.
    pub fn is_start(&self) -> bool {
        self.newest.is_none() && self.writers.is_empty()
    }

    /// Record that `event` was taken. Events without a batch time (not yet flushed) are ignored.
    pub fn advance(&mut self, event: &Event) {
        let Some(batch_ts) = event.batch_ts else {
            return;
        };
        self.writers
            .insert(event.id.writer, (event.id.seq, batch_ts));
        self.newest = Some(self.newest.map_or(batch_ts, |n| n.max(batch_ts)));
    }

    /// The last sequence number taken from `writer`, if this cursor remembers it.
    pub fn last_seq(&self, writer: WriterId) -> Option<u64> {
        self.writers.get(&writer).map(|(seq, _)| *seq)
    }

    /// The filter a read from this cursor applies, forgetting writers older than twice the settle
    /// window (their batches are all below the floor).
    pub(crate) fn filter(&self, settle_micros: i64) -> Filter {
        let floor = self.newest.map(|n| n.plus_micros(-settle_micros));
        let forget_before = floor.map(|f| f.plus_micros(-settle_micros));
        let writers = self
            .writers
            .iter()
            .filter(|(_, (_, ts))| forget_before.is_none_or(|f| *ts >= f))
            .map(|(w, (seq, _))| (*w, *seq))
            .collect();
        Filter { floor, writers }
    }
}

/// Which events a read lets through: each writer's events once, in order, and nothing at or
/// below the floor from writers it does not track.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) floor: Option<Timestamp>,
    writers: HashMap<WriterId, u64>,
}

impl Filter {
    /// Whether an object whose newest batch is `last_ts` can hold anything new.
    pub(crate) fn may_hold_new(&self, last_ts: Timestamp) -> bool {
        self.floor.is_none_or(|floor| last_ts > floor)
    }

    /// Whether the event `(writer, seq)` from a batch flushed at `batch_ts` is new; if so it is
    /// recorded as taken.
    pub(crate) fn admit(&mut self, writer: WriterId, seq: u64, batch_ts: Timestamp) -> bool {
        let new = match self.writers.get(&writer) {
            Some(last) => seq > *last,
            None => self.floor.is_none_or(|floor| batch_ts > floor),
        };
        if new {
            self.writers.insert(writer, seq);
        }
        new
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v1:{}:", self.newest.map_or(-1, |n| n.0))?;
        for (i, (writer, (seq, ts))) in self.writers.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{writer}={seq}@{ts}")?;
        }
        Ok(())
    }
}

impl FromStr for Cursor {
    type Err = JournalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| JournalError::InvalidCursor {
            cursor: s.to_string(),
            reason: reason.to_string(),
        };
        let rest = s
            .trim()
            .strip_prefix("v1:")
            .ok_or_else(|| bad("does not start with 'v1:'"))?;
        let (newest, writers) = rest.split_once(':').ok_or_else(|| bad("missing ':'"))?;
        let newest: i64 = newest.parse().map_err(|_| bad("bad newest time"))?;
        let mut cursor = Cursor {
            newest: (newest >= 0).then_some(Timestamp(newest)),
            writers: BTreeMap::new(),
        };
        for entry in writers.split(',').filter(|e| !e.is_empty()) {
            let (writer, rest) = entry
                .split_once('=')
                .ok_or_else(|| bad("entry without '='"))?;
            let (seq, ts) = rest
                .split_once('@')
                .ok_or_else(|| bad("entry without '@'"))?;
            let writer: WriterId = writer
                .parse()
                .map_err(|e: super::event::ParseError| bad(&e.to_string()))?;
            let seq = seq.parse().map_err(|_| bad("bad sequence number"))?;
            let ts = Timestamp(ts.parse().map_err(|_| bad("bad batch time"))?);
            cursor.writers.insert(writer, (seq, ts));
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::EventId;
    use serde_json::value::RawValue;

    fn event(writer: u64, seq: u64, batch_ts: i64) -> Event {
        Event {
            id: EventId {
                writer: WriterId(writer),
                seq,
            },
            ts: Timestamp(batch_ts),
            batch_ts: Some(Timestamp(batch_ts)),
            data: RawValue::from_string("1".into()).unwrap(),
        }
    }

    #[test]
    fn prints_and_parses_back() {
        let mut c = Cursor::start();
        assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        c.advance(&event(1, 4, 100));
        c.advance(&event(2, 9, 250));
        let text = c.to_string();
        assert_eq!(text, "v1:250:0000000000000001=4@100,0000000000000002=9@250");
        assert_eq!(text.parse::<Cursor>().unwrap(), c);
    }

    #[test]
    fn bad_cursors_say_why() {
        for bad in [
            "",
            "v2:1:",
            "v1:x:",
            "v1:1:zz=1@1",
            "v1:1:0000000000000001=1",
        ] {
            let err = bad.parse::<Cursor>().unwrap_err();
            assert!(
                matches!(err, JournalError::InvalidCursor { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn filter_takes_each_event_once() {
        let mut c = Cursor::start();
        c.advance(&event(1, 4, 1_000));
        let mut f = c.filter(100);
        assert!(!f.admit(WriterId(1), 4, Timestamp(1_000)), "already taken");
        assert!(f.admit(WriterId(1), 5, Timestamp(1_050)));
        assert!(
            !f.admit(WriterId(1), 5, Timestamp(1_060)),
            "a second copy of the same event"
        );
        assert!(
            !f.admit(WriterId(2), 0, Timestamp(800)),
            "an unknown writer's batch below the floor"
        );
        assert!(
            f.admit(WriterId(2), 0, Timestamp(950)),
            "an unknown writer's batch above the floor"
        );
        assert!(!f.may_hold_new(Timestamp(900)));
        assert!(f.may_hold_new(Timestamp(901)));
    }

    #[test]
    fn old_writers_are_forgotten() {
        let mut c = Cursor::start();
        c.advance(&event(1, 0, 100));
        c.advance(&event(2, 0, 10_000));
        let mut f = c.filter(1_000);
        // Writer 1 is forgotten: its batch is far below the floor, so still not re-read...
        assert!(!f.admit(WriterId(1), 0, Timestamp(100)));
        // ...but its new batches above the floor are.
        assert!(f.admit(WriterId(1), 1, Timestamp(9_500)));
    }
}
