//! Settings for a journal handle.

use std::sync::Arc;
use std::time::Duration;

use super::event::WriterId;
use crate::{Clock, SystemClock};

/// How a [`super::StoreJournal`] batches, retries and reads. Build with the `with_*` setters.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    /// Flush when this many events are buffered. Default 1,000.
    pub max_batch_events: usize,
    /// Flush when this many bytes are buffered. Default 4 MiB.
    pub max_batch_bytes: usize,
    /// Flush when the oldest buffered event has waited this long. Default 200 ms.
    pub max_delay: Duration,
    /// `append` flushes before accepting more once this many bytes wait in the handle
    /// (backpressure when the store is slow or failing). Default 64 MiB.
    pub max_buffered_bytes: usize,
    /// How long a flushed batch may take to become visible; see the journal's contract ("Time").
    /// Compaction leaves objects younger than this alone. Default 10 s.
    pub settle: Duration,
    /// Attempts per put before a flush gives up (and keeps its events). Default 4.
    pub put_attempts: u32,
    /// Attempts per get or list before a read gives up. Default 4.
    pub read_attempts: u32,
    /// First backoff between attempts; doubles each time. Default 50 ms.
    pub retry_backoff: Duration,
    /// Objects fetched ahead while reading. Default 8.
    pub read_prefetch: usize,
    /// The writer id; random when `None`.
    pub writer_id: Option<WriterId>,
    /// Where timestamps come from.
    pub clock: Arc<dyn Clock>,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            max_batch_events: 1_000,
            max_batch_bytes: 4 << 20,
            max_delay: Duration::from_millis(200),
            max_buffered_bytes: 64 << 20,
            settle: Duration::from_secs(10),
            put_attempts: 4,
            read_attempts: 4,
            retry_backoff: Duration::from_millis(50),
            read_prefetch: 8,
            writer_id: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl JournalOptions {
    /// Flush every `n` events (at least 1).
    pub fn with_max_batch_events(mut self, n: usize) -> Self {
        self.max_batch_events = n.max(1);
        self
    }

    /// Flush at `n` buffered bytes (at least 1).
    pub fn with_max_batch_bytes(mut self, n: usize) -> Self {
        self.max_batch_bytes = n.max(1);
        self
    }

    /// Flush when the oldest buffered event is this old.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Apply backpressure past this many buffered bytes.
    pub fn with_max_buffered_bytes(mut self, n: usize) -> Self {
        self.max_buffered_bytes = n.max(1);
        self
    }

    /// Set the settle window.
    pub fn with_settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Attempts per put (at least 1).
    pub fn with_put_attempts(mut self, n: u32) -> Self {
        self.put_attempts = n.max(1);
        self
    }

    /// Attempts per get or list (at least 1).
    pub fn with_read_attempts(mut self, n: u32) -> Self {
        self.read_attempts = n.max(1);
        self
    }

    /// First backoff between attempts.
    pub fn with_retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry_backoff = backoff;
        self
    }

    /// Use this writer id instead of a random one.
    pub fn with_writer_id(mut self, id: WriterId) -> Self {
        self.writer_id = Some(id);
        self
    }

    /// Use this clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub(crate) fn settle_micros(&self) -> i64 {
        i64::try_from(self.settle.as_micros()).unwrap_or(i64::MAX)
    }

    /// The backoff before attempt `attempt` (1-based, after a failure), capped at 5 s.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        (self.retry_backoff * factor).min(Duration::from_secs(5))
    }
}
