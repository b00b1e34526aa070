//! Journal statistics: a full read that counts instead of returning events.

use std::collections::HashMap;
use std::pin::pin;

use futures::StreamExt;

use super::JournalError;
use super::cursor::Filter;
use super::event::WriterId;
use super::key::ObjectName;
use super::read::ReadCtx;
use crate::Timestamp;

/// What a journal holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct JournalStats {
    /// Objects holding one flushed batch.
    pub batch_objects: usize,
    /// Objects written by compaction.
    pub compacted_objects: usize,
    /// Other objects under the prefix (ignored by the journal).
    pub foreign_objects: usize,
    /// Bytes of the journal's objects.
    pub bytes: u64,
    /// Distinct events.
    pub events: u64,
    /// Stored copies skipped because another object already held them (compaction leftovers).
    pub duplicate_copies: u64,
    /// Distinct writers.
    pub writers: usize,
    /// The oldest batch time.
    pub first_batch_ts: Option<Timestamp>,
    /// The newest batch time.
    pub last_batch_ts: Option<Timestamp>,
    /// Places where a writer's sequence numbers jump: events that should exist but were not found.
    pub gaps: Vec<Gap>,
}

/// A jump in one writer's sequence numbers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Gap {
    /// The writer.
    pub writer: String,
    /// The last sequence number found before the jump (`None`: the writer's first events).
    pub after: Option<u64>,
    /// The next sequence number found.
    pub next: u64,
}

const MAX_ATTEMPTS: u32 = 8;

pub(crate) async fn stats(ctx: &ReadCtx) -> Result<JournalStats, JournalError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match stats_once(ctx).await? {
            Some(stats) => return Ok(stats),
            None if attempts < MAX_ATTEMPTS => continue,
            None => {
                return Err(JournalError::ReadRaced {
                    prefix: ctx.prefix_str(),
                    attempts,
                });
            }
        }
    }
}

/// `None` if an object vanished mid-way (compaction); the caller starts over.
async fn stats_once(ctx: &ReadCtx) -> Result<Option<JournalStats>, JournalError> {
    let listing = ctx.list().await?;
    let mut stats = JournalStats {
        foreign_objects: listing.foreign,
        ..Default::default()
    };
    for listed in &listing.objects {
        stats.bytes += listed.size;
        match listed.name {
            ObjectName::Batch(_) => stats.batch_objects += 1,
            ObjectName::Compacted { .. } => stats.compacted_objects += 1,
        }
    }
    let mut filter = Filter::default();
    let mut last_seq: HashMap<WriterId, u64> = HashMap::new();
    let mut fetches = pin!(ctx.fetch_decoded(listing.objects));
    while let Some((_, decoded)) = fetches.next().await {
        let Some(sources) = decoded? else {
            return Ok(None);
        };
        for source in sources {
            let ts = source.stem.ts;
            stats.first_batch_ts = Some(stats.first_batch_ts.map_or(ts, |t| t.min(ts)));
            stats.last_batch_ts = Some(stats.last_batch_ts.map_or(ts, |t| t.max(ts)));
            for event in &source.events {
                if !filter.admit(event.id.writer, event.id.seq, ts) {
                    stats.duplicate_copies += 1;
                    continue;
                }
                stats.events += 1;
                let previous = last_seq.insert(event.id.writer, event.id.seq);
                let expected = previous.map_or(0, |p| p + 1);
                if event.id.seq != expected {
                    stats.gaps.push(Gap {
                        writer: event.id.writer.to_string(),
                        after: previous,
                        next: event.id.seq,
                    });
                }
            }
        }
    }
    stats.writers = last_seq.len();
    Ok(Some(stats))
}
