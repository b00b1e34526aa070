//! The journal: a write-once, batched append log under a prefix of a store.
//!
//! Memory namespaces, agent sessions, and the error and trial journals are journals. The design
//! keeps the behaviour of the seed's `AppendLog` — an in-memory buffer that readers of the same
//! handle see, one new object per flush, ordered reads, compaction into one object — and fixes
//! its flaws (see `DESIGN.md`, "Journal").
//!
//! # Layout
//!
//! Every object sits directly under the journal's prefix:
//!
//! ```text
//! <prefix>/<ts:020>-<writer:016x>-<seq:012>.jsonl                          one flushed batch
//! <prefix>/<first batch stem>.c<last ts:020>-<compactor:016x>.jsonl        a compaction
//! ```
//!
//! `ts` is the flush's time in microseconds (strictly increasing per writer), `writer` the
//! handle's random id, `seq` the sequence number of the batch's first event. A batch object holds
//! one JSON line per event: `{"id":"<writer>-<seq>","ts":<append time>,"data":<json>}`. A
//! compaction starts with a header line naming the batches it holds (`{"compacted":{"v":1,
//! "sources":[["<stem>",<events>],…]}}`), then their events in journal order. Its key sorts just
//! before the first batch it holds. Objects whose names do not follow this scheme are ignored.
//!
//! # Contract
//!
//! See [`Journal`].
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use lakehouse_store::Store;
//! use lakehouse_store::journal::{Cursor, Journal, JournalExt, JournalOptions, StoreJournal};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::open("memory://")?;
//! let journal = StoreJournal::open(Arc::clone(store.object_store()), "journals/errors", JournalOptions::default())?;
//! let id = journal.append_json(&serde_json::json!({"tool": "sql", "error": "timeout"})).await?;
//! journal.close().await?; // flushes: the event is durable now
//!
//! let (events, cursor) = journal.read_since(Cursor::start()).collect_all().await?;
//! assert_eq!(events[0].id, id);
//! assert_eq!(events[0].decode::<serde_json::Value>()?["tool"], "sql");
//!
//! // Later: only what came after `cursor`.
//! let (newer, _) = journal.read_since(cursor).collect_all().await?;
//! assert!(newer.is_empty());
//! # Ok(())
//! # }
//! ```

mod compact;
mod cursor;
mod error;
mod event;
mod key;
mod options;
mod read;
mod stats;
mod store_journal;
#[cfg(feature = "testing")]
pub mod testing;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::value::RawValue;

pub use compact::CompactStats;
pub use cursor::Cursor;
pub use error::JournalError;
pub use event::{Event, EventId, ParseError, WriterId};
pub use options::JournalOptions;
pub use read::EventStream;
pub use stats::{Gap, JournalStats};
pub use store_journal::StoreJournal;

/// A write-once, batched append log.
///
/// # Writing
/// - [`append`](Journal::append) assigns the event an [`EventId`] (this handle's writer id and a
///   sequence number that starts at 0 and grows by one per event) and puts it in the handle's
///   in-memory buffer. It is **not durable** yet. It returns an error only if the handle is closed
///   or the buffer is over its limit and the flush that would make room fails; an event that was
///   not accepted is not in the journal.
/// - The buffer is flushed as **one new object** when it reaches
///   [`max_batch_events`](JournalOptions::max_batch_events) or
///   [`max_batch_bytes`](JournalOptions::max_batch_bytes), when its oldest event has waited
///   [`max_delay`](JournalOptions::max_delay), and on [`flush`](Journal::flush) /
///   [`close`](Journal::close). Objects are written with create-only puts under keys no other
///   writer produces; an existing object is never rewritten.
/// - When `flush` returns `Ok`, every event appended before the call is durable. When it returns an
///   error, the events it was flushing stay in the handle (still visible to its reads) and the next
///   flush tries them again, first; nothing is dropped. A put whose answer was lost but which did
///   write is recognised and not written twice; if it is written twice anyway, readers see it once.
/// - One handle flushes its batches one at a time, in order, so a writer's events become visible
///   in sequence order and never with gaps.
/// - Dropping a handle with events not yet flushed logs a warning naming how many; call `close`.
///
/// # Reading
/// - [`read_since`](Journal::read_since) streams the **durable** events after a [`Cursor`], in
///   journal order, each exactly once; the stream's cursor advances as events are taken, so a
///   later `read_since` from it continues where this one stopped.
/// - Journal order: each writer's events in sequence order; between writers, by the time their
///   batches were flushed. Every reader sees the same order for the same set of objects.
/// - [`read_all`](Journal::read_all) returns every durable event and then this handle's events not
///   yet flushed (`batch_ts` is `None` on those), like the seed's `read_all`.
/// - Reads never return an event twice, even while compaction runs, after it failed halfway, or
///   when two compactions overlap. An object that names itself as ours but cannot be parsed is an
///   error naming the object and line ([`JournalError::Malformed`]).
///
/// # Compaction
/// - [`compact`](Journal::compact) merges every object older than the settle window
///   ([`settle`](JournalOptions::settle)) into one new object, then deletes what it merged. It
///   never deletes an object it did not merge, never loses an event, and is safe with concurrent
///   appenders, readers and other compactions. If deletes fail halfway, the leftovers stay
///   readable and are not shown twice; the next compaction removes them.
///
/// # Time
/// Keys carry the writer's clock. The guarantees above hold for any clocks except one: a reader
/// that tails with a cursor may miss a batch whose put completed more than `settle` after its
/// key's time (a put stuck for that long, or a writer's clock that far behind). A full read
/// (`Cursor::start()`) and compaction never miss or hide such a batch.
#[async_trait]
pub trait Journal: Send + Sync + std::fmt::Debug {
    /// This handle's writer id; part of every event id it assigns.
    fn writer_id(&self) -> WriterId;

    /// Append one event (any JSON value) to the buffer; see the trait docs.
    async fn append(&self, data: &RawValue) -> Result<EventId, JournalError>;

    /// Make every event appended so far durable.
    async fn flush(&self) -> Result<(), JournalError>;

    /// Refuse further appends, then flush. Can be called again if the flush fails.
    async fn close(&self) -> Result<(), JournalError>;

    /// Stream durable events after `cursor`; see the trait docs.
    fn read_since(&self, cursor: Cursor) -> EventStream;

    /// Every durable event, then this handle's unflushed ones.
    async fn read_all(&self) -> Result<Vec<Event>, JournalError>;

    /// Merge settled objects into one; see the trait docs.
    async fn compact(&self) -> Result<CompactStats, JournalError>;

    /// Count objects, events, writers and anomalies by reading the whole journal.
    async fn stats(&self) -> Result<JournalStats, JournalError>;
}

/// Conveniences on every [`Journal`].
#[async_trait]
pub trait JournalExt: Journal {
    /// Serialize `value` as JSON and append it.
    async fn append_json<T: Serialize + Sync + ?Sized>(
        &self,
        value: &T,
    ) -> Result<EventId, JournalError> {
        let raw = serde_json::value::to_raw_value(value).map_err(|source| {
            JournalError::InvalidEvent {
                reason: source.to_string(),
            }
        })?;
        self.append(&raw).await
    }
}

impl<J: Journal + ?Sized> JournalExt for J {}
