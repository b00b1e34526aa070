//! [`StoreJournal`]: the [`Journal`] on an object store.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use serde_json::value::RawValue;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::compact::{self, CompactStats};
use super::cursor::Cursor;
use super::event::{Event, EventId, WriterId, decode_line, encode_line, one_line};
use super::key::Stem;
use super::read::{EventStream, ReadCtx, retryable};
use super::stats::{self, JournalStats};
use super::{Journal, JournalError, JournalOptions};
use crate::Timestamp;

/// A [`Journal`] stored under a prefix of an object store. See the trait for the contract.
///
/// Cloning gives another handle to the same writer (same writer id and buffer). A background
/// task flushes on the count, size and delay thresholds; it ends when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct StoreJournal {
    inner: Arc<Inner>,
    _flusher: Arc<FlusherGuard>,
}

#[derive(Debug)]
struct Inner {
    ctx: ReadCtx,
    writer: WriterId,
    buffer: Mutex<Buffer>,
    /// Serialises flushes; holds the time of the last batch so keys strictly increase.
    flushing: tokio::sync::Mutex<Timestamp>,
    wake: Arc<Notify>,
    closed: AtomicBool,
}

/// Events not yet known to be durable: taken batches first (oldest first), then the open buffer.
#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    count: usize,
    first_seq: u64,
    next_seq: u64,
    oldest: Option<Instant>,
    unacked: VecDeque<Batch>,
    unacked_bytes: usize,
}

impl Buffer {
    /// Move the open buffer (if any) to the end of the queue of batches to write.
    fn seal(&mut self) {
        if self.count == 0 {
            return;
        }
        let batch = Batch {
            first_seq: self.first_seq,
            count: self.count,
            body: Bytes::from(std::mem::take(&mut self.bytes)),
        };
        self.count = 0;
        self.oldest = None;
        self.first_seq = self.next_seq;
        self.unacked_bytes += batch.body.len();
        self.unacked.push_back(batch);
    }
}

#[derive(Debug, Clone)]
struct Batch {
    first_seq: u64,
    count: usize,
    body: Bytes,
}

#[derive(Debug)]
struct FlusherGuard(JoinHandle<()>);

impl Drop for FlusherGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let buffer = self.buffer.get_mut().unwrap_or_else(|p| p.into_inner());
        let unflushed = buffer.count + buffer.unacked.iter().map(|b| b.count).sum::<usize>();
        if unflushed > 0 {
            tracing::warn!(
                prefix = %self.ctx.prefix,
                writer = %self.writer,
                unflushed,
                "journal dropped with {unflushed} unflushed events; call close() to keep them"
            );
        }
    }
}

impl StoreJournal {
    /// Open the journal under `prefix` of `store`. Must be called inside a Tokio runtime.
    ///
    /// Opening does no I/O; an empty or missing prefix is an empty journal.
    pub fn open(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        options: JournalOptions,
    ) -> Result<StoreJournal, JournalError> {
        let prefix = parse_prefix(prefix)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| JournalError::NoRuntime)?;
        let writer = options.writer_id.unwrap_or_else(WriterId::random);
        let inner = Arc::new(Inner {
            ctx: ReadCtx {
                store,
                prefix,
                options: Arc::new(options),
            },
            writer,
            buffer: Mutex::new(Buffer::default()),
            flushing: tokio::sync::Mutex::new(Timestamp(0)),
            wake: Arc::new(Notify::new()),
            closed: AtomicBool::new(false),
        });
        let task = runtime.spawn(background_flusher(Arc::downgrade(&inner)));
        Ok(StoreJournal {
            inner,
            _flusher: Arc::new(FlusherGuard(task)),
        })
    }

    /// The journal's prefix in the store.
    pub fn prefix(&self) -> &Path {
        &self.inner.ctx.prefix
    }

    /// The options this handle was opened with.
    pub fn options(&self) -> &JournalOptions {
        &self.inner.ctx.options
    }

    /// Events appended through this handle and not yet known to be durable.
    pub fn unflushed(&self) -> usize {
        let buffer = self.inner.lock();
        buffer.count + buffer.unacked.iter().map(|b| b.count).sum::<usize>()
    }
}

/// Check a journal prefix: a non-empty object path without `.`/`..` or empty segments.
fn parse_prefix(prefix: &str) -> Result<Path, JournalError> {
    let bad = |reason: String| JournalError::InvalidPrefix {
        prefix: prefix.to_string(),
        reason,
    };
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        return Err(bad("a journal needs a non-empty prefix".into()));
    }
    if trimmed
        .split('/')
        .any(|part| part == "." || part == ".." || part.is_empty())
    {
        return Err(bad("segments may not be empty, '.' or '..'".into()));
    }
    Path::parse(trimmed).map_err(|e| bad(e.to_string()))
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Buffer> {
        // A panic while holding this lock cannot leave the buffer half-updated in a way that
        // loses events (every update is a push or a swap), so keep going.
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn options(&self) -> &JournalOptions {
        &self.ctx.options
    }

    /// What the background flusher should do now: write sealed batches, and whether to seal the
    /// open buffer first (its oldest event has waited `max_delay`, or the handle is closing);
    /// if nothing is due, when the open buffer will be.
    fn flush_due(&self) -> (bool, bool, Option<Instant>) {
        let buffer = self.lock();
        let deadline = buffer.oldest.map(|t| t + self.options().max_delay);
        let seal_open = buffer.count > 0
            && (deadline.is_some_and(|d| d <= Instant::now())
                || self.closed.load(Ordering::SeqCst));
        (seal_open || !buffer.unacked.is_empty(), seal_open, deadline)
    }

    async fn append(&self, data: &RawValue) -> Result<EventId, JournalError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(JournalError::Closed {
                prefix: self.ctx.prefix_str(),
            });
        }
        let data = one_line(data).map_err(|e| JournalError::InvalidEvent {
            reason: e.to_string(),
        })?;
        let over = {
            let buffer = self.lock();
            buffer.bytes.len() + buffer.unacked_bytes >= self.options().max_buffered_bytes
        };
        if over {
            // Backpressure: make room before accepting more. If this fails, the event is refused.
            self.flush().await?;
        }
        let ts = self.options().clock.now();
        let (id, wake) = {
            let mut buffer = self.lock();
            let id = EventId {
                writer: self.writer,
                seq: buffer.next_seq,
            };
            buffer.next_seq += 1;
            if buffer.count == 0 {
                buffer.first_seq = id.seq;
                buffer.oldest = Some(Instant::now());
            }
            buffer.count += 1;
            encode_line(&mut buffer.bytes, id, ts, &data);
            let full = buffer.count >= self.options().max_batch_events
                || buffer.bytes.len() >= self.options().max_batch_bytes;
            if full {
                // Seal the batch now so that no object holds more than the thresholds allow;
                // the flusher writes sealed batches in order.
                buffer.seal();
            }
            (id, full || buffer.count == 1)
        };
        if wake {
            self.wake.notify_one();
        }
        Ok(id)
    }

    async fn flush(&self) -> Result<(), JournalError> {
        self.write_batches(true).await
    }

    /// Write the sealed batches in order, after sealing the open buffer if `seal_open`.
    async fn write_batches(&self, seal_open: bool) -> Result<(), JournalError> {
        let mut last_ts = self.flushing.lock().await;
        if seal_open {
            self.lock().seal();
        }
        loop {
            let Some(batch) = self.lock().unacked.front().cloned() else {
                return Ok(());
            };
            self.put_batch(&mut last_ts, &batch).await?;
            let mut buffer = self.lock();
            buffer.unacked.pop_front();
            buffer.unacked_bytes -= batch.body.len();
        }
    }

    /// Write one batch as a new object, retrying with a fresh key; see the trait's contract.
    async fn put_batch(&self, last_ts: &mut Timestamp, batch: &Batch) -> Result<(), JournalError> {
        let options = self.options();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let ts = options.clock.now().max(last_ts.plus_micros(1));
            *last_ts = ts;
            let stem = Stem {
                ts,
                writer: self.writer,
                first_seq: batch.first_seq,
            };
            let key = self.ctx.prefix.clone().join(stem.batch_name());
            let put = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            let result = self
                .ctx
                .store
                .put_opts(&key, PutPayload::from(batch.body.clone()), put)
                .await;
            let error = match result {
                Ok(_) => return Ok(()),
                Err(source @ object_store::Error::AlreadyExists { .. }) => {
                    // Our own earlier attempt at this key may have written it (lost answer).
                    match self.ctx.fetch(&key).await? {
                        Some(existing) if existing == batch.body => return Ok(()),
                        Some(_) => {
                            return Err(JournalError::KeyCollision {
                                key: key.to_string(),
                            });
                        }
                        None => JournalError::Store {
                            op: "put",
                            key: key.to_string(),
                            source,
                        },
                    }
                }
                Err(source) => {
                    let retry = retryable(&source);
                    let error = JournalError::Store {
                        op: "put",
                        key: key.to_string(),
                        source,
                    };
                    if !retry {
                        return Err(error);
                    }
                    error
                }
            };
            if attempt >= options.put_attempts {
                return Err(error);
            }
            tracing::debug!(%key, attempt, %error, "flush failed, retrying");
            tokio::time::sleep(options.backoff(attempt)).await;
        }
    }

    /// This handle's events that are not known to be durable, decoded.
    fn unflushed_events(&self) -> Result<Vec<Event>, JournalError> {
        let (batches, open) = {
            let buffer = self.lock();
            let batches: Vec<Bytes> = buffer.unacked.iter().map(|b| b.body.clone()).collect();
            (batches, buffer.bytes.clone())
        };
        let mut events = Vec::new();
        for body in batches.iter().map(|b| b.as_ref()).chain([open.as_slice()]) {
            for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let mut event =
                    decode_line(line, Timestamp(0)).map_err(|e| JournalError::InvalidEvent {
                        reason: format!("buffered event: {e}"),
                    })?;
                event.batch_ts = None;
                events.push(event);
            }
        }
        Ok(events)
    }
}

/// Flush when the thresholds say so; back off while flushes fail. Ends with the last handle.
async fn background_flusher(inner: std::sync::Weak<Inner>) {
    let mut failures = 0u32;
    loop {
        let Some(journal) = inner.upgrade() else {
            return;
        };
        let (due, seal_open, deadline) = journal.flush_due();
        if due {
            match journal.write_batches(seal_open).await {
                Ok(()) => failures = 0,
                Err(error) => {
                    failures += 1;
                    tracing::warn!(
                        prefix = %journal.ctx.prefix, %error, failures,
                        "background flush failed; events are kept and will be retried"
                    );
                    let pause = journal.options().backoff(failures);
                    drop(journal);
                    tokio::time::sleep(pause).await;
                }
            }
            continue;
        }
        // Wait for an append to wake us or for the oldest event's deadline, without keeping the
        // journal alive meanwhile.
        let wake = Arc::clone(&journal.wake);
        drop(journal);
        let wait = async {
            let notified = wake.notified();
            match deadline {
                Some(deadline) => {
                    tokio::select! {
                        () = notified => {}
                        () = tokio::time::sleep_until(deadline) => {}
                    }
                }
                None => notified.await,
            }
        };
        wait.await;
    }
}

#[async_trait]
impl Journal for StoreJournal {
    fn writer_id(&self) -> WriterId {
        self.inner.writer
    }

    async fn append(&self, data: &RawValue) -> Result<EventId, JournalError> {
        self.inner.append(data).await
    }

    async fn flush(&self) -> Result<(), JournalError> {
        self.inner.flush().await
    }

    async fn close(&self) -> Result<(), JournalError> {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.flush().await
    }

    fn read_since(&self, cursor: Cursor) -> EventStream {
        EventStream::spawn(self.inner.ctx.clone(), cursor)
    }

    async fn read_all(&self) -> Result<Vec<Event>, JournalError> {
        // Snapshot the unflushed events first: anything that becomes durable meanwhile is then
        // in the durable read, and the per-writer filter below drops the buffered copy.
        let unflushed = self.inner.unflushed_events()?;
        let (mut events, cursor) = self.read_since(Cursor::start()).collect_all().await?;
        let durable_until = cursor.last_seq(self.inner.writer);
        events.extend(
            unflushed
                .into_iter()
                .filter(|e| durable_until.is_none_or(|s| e.id.seq > s)),
        );
        Ok(events)
    }

    async fn compact(&self) -> Result<CompactStats, JournalError> {
        compact::compact(&self.inner.ctx, self.inner.writer).await
    }

    async fn stats(&self) -> Result<JournalStats, JournalError> {
        stats::stats(&self.inner.ctx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_checked() {
        for bad in ["", "/", "a/../b", "a//b", "./a"] {
            let err = parse_prefix(bad).unwrap_err();
            assert!(
                matches!(err, JournalError::InvalidPrefix { .. }),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            parse_prefix("/journals/errors/").unwrap().as_ref(),
            "journals/errors"
        );
    }
}
