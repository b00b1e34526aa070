//! Reading a journal: list the prefix, plan which objects can hold new events, fetch them ahead,
//! decode and check them, and let each event through once ([`Filter`]).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::cursor::{Cursor, Filter};
use super::event::{Event, decode_line};
use super::key::{ObjectName, Stem};
use super::{JournalError, JournalOptions};

/// How many times a read re-lists after objects vanish under it (compaction) before giving up.
const MAX_RELISTS: u32 = 8;

/// What a read needs: the store, the prefix, the options.
#[derive(Debug, Clone)]
pub(crate) struct ReadCtx {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) prefix: Path,
    pub(crate) options: Arc<JournalOptions>,
}

/// One object found under the prefix.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) location: Path,
    pub(crate) name: ObjectName,
    pub(crate) size: u64,
}

/// Everything under the prefix, journal objects in byte (= journal) order.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub(crate) objects: Vec<Listed>,
    pub(crate) foreign: usize,
}

/// The events of one flushed batch, as found in a batch object or inside a compaction.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) stem: Stem,
    pub(crate) events: Vec<Event>,
}

impl ReadCtx {
    pub(crate) fn prefix_str(&self) -> String {
        self.prefix.to_string()
    }

    /// List the prefix, retrying failed listings.
    pub(crate) async fn list(&self) -> Result<Listing, JournalError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.list_once().await {
                Ok(listing) => return Ok(listing),
                Err(source) if attempt < self.options.read_attempts && retryable(&source) => {
                    tracing::debug!(prefix = %self.prefix, attempt, error = %source, "list failed, retrying");
                    tokio::time::sleep(self.options.backoff(attempt)).await;
                }
                Err(source) => {
                    return Err(JournalError::Store {
                        op: "list",
                        key: self.prefix_str(),
                        source,
                    });
                }
            }
        }
    }

    async fn list_once(&self) -> Result<Listing, object_store::Error> {
        let metas: Vec<_> = self.store.list(Some(&self.prefix)).try_collect().await?;
        let mut listing = Listing::default();
        for meta in metas {
            let Some(mut rest) = meta.location.prefix_match(&self.prefix) else {
                continue;
            };
            let name = match (rest.next(), rest.next()) {
                (Some(part), None) => ObjectName::parse(part.as_ref()),
                _ => None,
            };
            drop(rest);
            match name {
                Some(name) => {
                    listing.objects.push(Listed {
                        location: meta.location,
                        name,
                        size: meta.size,
                    });
                }
                None => listing.foreign += 1,
            }
        }
        listing
            .objects
            .sort_by(|a, b| a.location.as_ref().cmp(b.location.as_ref()));
        Ok(listing)
    }

    /// Fetch one object, retrying failures; `None` if it no longer exists.
    pub(crate) async fn fetch(&self, location: &Path) -> Result<Option<Bytes>, JournalError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = match self.store.get(location).await {
                Ok(got) => got.bytes().await,
                Err(e) => Err(e),
            };
            match result {
                Ok(bytes) => return Ok(Some(bytes)),
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(source) if attempt < self.options.read_attempts && retryable(&source) => {
                    tracing::debug!(key = %location, attempt, error = %source, "get failed, retrying");
                    tokio::time::sleep(self.options.backoff(attempt)).await;
                }
                Err(source) => {
                    return Err(JournalError::Store {
                        op: "get",
                        key: location.to_string(),
                        source,
                    });
                }
            }
        }
    }

    /// Fetch (ahead) and decode `plan` in order. `Ok(None)` marks an object that vanished.
    pub(crate) fn fetch_decoded(
        &self,
        plan: Vec<Listed>,
    ) -> impl Stream<Item = (Listed, Result<Option<Vec<Source>>, JournalError>)> + Send + use<>
    {
        let ctx = self.clone();
        let prefetch = self.options.read_prefetch.max(1);
        futures::stream::iter(plan)
            .map(move |listed| {
                let ctx = ctx.clone();
                async move {
                    let decoded = match ctx.fetch(&listed.location).await {
                        Ok(Some(bytes)) => {
                            decode_object(listed.location.as_ref(), listed.name, &bytes).map(Some)
                        }
                        Ok(None) => Ok(None),
                        Err(e) => Err(e),
                    };
                    (listed, decoded)
                }
            })
            .buffered(prefetch)
    }
}

/// Whether a store error may go away if the call is made again.
pub(crate) fn retryable(error: &object_store::Error) -> bool {
    !matches!(
        error,
        object_store::Error::NotFound { .. }
            | object_store::Error::AlreadyExists { .. }
            | object_store::Error::Precondition { .. }
            | object_store::Error::NotModified { .. }
            | object_store::Error::NotImplemented { .. }
            | object_store::Error::InvalidPath { .. }
            | object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. }
    )
}

#[derive(Deserialize)]
struct Header {
    compacted: HeaderBody,
}

#[derive(Deserialize)]
struct HeaderBody {
    v: u32,
    sources: Vec<(String, usize)>,
}

/// Decode one object and check that its events are what its name and header say.
pub(crate) fn decode_object(
    key: &str,
    name: ObjectName,
    bytes: &[u8],
) -> Result<Vec<Source>, JournalError> {
    let malformed = |line: usize, reason: String| JournalError::Malformed {
        key: key.to_string(),
        line,
        reason,
    };
    let mut lines = bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.is_empty());
    let plan: Vec<(Stem, usize)> = match name {
        ObjectName::Batch(stem) => vec![(stem, usize::MAX)],
        ObjectName::Compacted { .. } => {
            let (n, line) = lines
                .next()
                .ok_or_else(|| malformed(0, "empty compaction".into()))?;
            let header: Header = serde_json::from_slice(line)
                .map_err(|e| malformed(n, format!("bad compaction header: {e}")))?;
            if header.compacted.v != 1 {
                return Err(malformed(
                    n,
                    format!("unknown format v{}", header.compacted.v),
                ));
            }
            header
                .compacted
                .sources
                .into_iter()
                .map(|(stem, count)| {
                    Stem::parse(&stem)
                        .map(|s| (s, count))
                        .ok_or_else(|| malformed(n, format!("bad source name '{stem}'")))
                })
                .collect::<Result<_, _>>()?
        }
    };
    let mut sources = Vec::with_capacity(plan.len());
    for (stem, count) in plan {
        let mut events = Vec::new();
        while events.len() < count {
            let Some((n, line)) = lines.next() else { break };
            let event = decode_line(line, stem.ts).map_err(|e| malformed(n, e.to_string()))?;
            let expected = stem.first_seq + events.len() as u64;
            if event.id.writer != stem.writer || event.id.seq != expected {
                return Err(malformed(
                    n,
                    format!(
                        "event {} where {}-{expected} was expected",
                        event.id, stem.writer
                    ),
                ));
            }
            events.push(event);
        }
        if count != usize::MAX && events.len() != count {
            return Err(malformed(
                0,
                format!(
                    "source {stem} should hold {count} events, found {}",
                    events.len()
                ),
            ));
        }
        if events.is_empty() {
            return Err(malformed(0, format!("batch {stem} holds no events")));
        }
        sources.push(Source { stem, events });
    }
    if let Some((n, _)) = lines.next() {
        return Err(malformed(
            n,
            "more events than the compaction header lists".into(),
        ));
    }
    Ok(sources)
}

/// Read every object that may hold events the filter has not taken, in journal order, sending
/// chunks of new events. Re-lists when an object vanishes under it (compaction).
async fn read_task(
    ctx: ReadCtx,
    mut filter: Filter,
    tx: mpsc::Sender<Result<Vec<Event>, JournalError>>,
) {
    let mut relists = 0;
    'list: loop {
        let listing = match ctx.list().await {
            Ok(listing) => listing,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        let plan: Vec<Listed> = listing
            .objects
            .into_iter()
            .filter(|o| filter.may_hold_new(o.name.last_ts()))
            .collect();
        let mut fetches = std::pin::pin!(ctx.fetch_decoded(plan));
        while let Some((listed, decoded)) = fetches.next().await {
            let sources = match decoded {
                Ok(Some(sources)) => sources,
                Ok(None) => {
                    relists += 1;
                    if relists > MAX_RELISTS {
                        let err = JournalError::ReadRaced {
                            prefix: ctx.prefix_str(),
                            attempts: relists,
                        };
                        let _ = tx.send(Err(err)).await;
                        return;
                    }
                    tracing::debug!(key = %listed.location, "object vanished while reading; listing again");
                    continue 'list;
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let mut chunk = Vec::new();
            for source in sources {
                for event in source.events {
                    if filter.admit(event.id.writer, event.id.seq, source.stem.ts) {
                        chunk.push(event);
                    }
                }
            }
            if !chunk.is_empty() && tx.send(Ok(chunk)).await.is_err() {
                return; // the reader went away
            }
        }
        return;
    }
}

/// A stream of durable events from a journal, with the [`Cursor`] just after the last event taken.
///
/// Events are fetched ahead in the background; dropping the stream stops that.
pub struct EventStream {
    rx: Option<mpsc::Receiver<Result<Vec<Event>, JournalError>>>,
    pending: std::vec::IntoIter<Event>,
    cursor: Cursor,
    task: Option<JoinHandle<()>>,
    error: Option<JournalError>,
}

impl EventStream {
    pub(crate) fn spawn(ctx: ReadCtx, cursor: Cursor) -> EventStream {
        let filter = cursor.filter(ctx.options.settle_micros());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return EventStream::failed(cursor, JournalError::NoRuntime);
        };
        let (tx, rx) = mpsc::channel(4);
        let task = runtime.spawn(read_task(ctx, filter, tx));
        EventStream {
            rx: Some(rx),
            pending: Vec::new().into_iter(),
            cursor,
            task: Some(task),
            error: None,
        }
    }

    /// A stream that yields `error` and ends.
    pub(crate) fn failed(cursor: Cursor, error: JournalError) -> EventStream {
        EventStream {
            rx: None,
            pending: Vec::new().into_iter(),
            cursor,
            task: None,
            error: Some(error),
        }
    }

    /// The position just after the last event this stream yielded.
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// Take every remaining event; returns them with the cursor after the last.
    pub async fn collect_all(mut self) -> Result<(Vec<Event>, Cursor), JournalError> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event?);
        }
        Ok((events, std::mem::take(&mut self.cursor)))
    }
}

impl Stream for EventStream {
    type Item = Result<Event, JournalError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(event) = this.pending.next() {
                this.cursor.advance(&event);
                return Poll::Ready(Some(Ok(event)));
            }
            if let Some(error) = this.error.take() {
                this.rx = None;
                return Poll::Ready(Some(Err(error)));
            }
            let Some(rx) = this.rx.as_mut() else {
                return Poll::Ready(None);
            };
            match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.pending = chunk.into_iter(),
                Poll::Ready(Some(Err(error))) => this.error = Some(error),
                Poll::Ready(None) => {
                    this.rx = None;
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::journal::event::{WriterId, encode_line};
    use serde_json::value::RawValue;

    fn stem(ts: i64, seq: u64) -> Stem {
        Stem {
            ts: Timestamp(ts),
            writer: WriterId(1),
            first_seq: seq,
        }
    }

    fn lines(seqs: std::ops::Range<u64>) -> Vec<u8> {
        let data = RawValue::from_string("{}".into()).unwrap();
        let mut out = Vec::new();
        for seq in seqs {
            encode_line(
                &mut out,
                crate::journal::EventId {
                    writer: WriterId(1),
                    seq,
                },
                Timestamp(0),
                &data,
            );
        }
        out
    }

    #[test]
    fn batch_events_must_match_the_name() {
        let body = lines(3..6);
        let ok = decode_object("k", ObjectName::Batch(stem(10, 3)), &body).unwrap();
        assert_eq!(ok[0].events.len(), 3);
        let err = decode_object("k", ObjectName::Batch(stem(10, 4)), &body).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn compaction_header_counts_are_checked() {
        let name = ObjectName::Compacted {
            first: stem(10, 0),
            last_ts: Timestamp(20),
            compactor: WriterId(2),
        };
        let header = format!(
            r#"{{"compacted":{{"v":1,"sources":[["{}",2],["{}",1]]}}}}"#,
            stem(10, 0),
            stem(20, 2)
        );
        let mut body = format!("{header}\n").into_bytes();
        body.extend(lines(0..3));
        let sources = decode_object("k", name, &body).unwrap();
        assert_eq!(sources.len(), 2);
        assert_eq!(sources[1].events[0].batch_ts, Some(Timestamp(20)));
        body.extend(lines(3..4));
        let err = decode_object("k", name, &body).unwrap_err();
        assert!(err.to_string().contains("more events than"), "{err}");
    }

    #[test]
    fn garbage_is_malformed_with_a_line_number() {
        let err =
            decode_object("p/x.jsonl", ObjectName::Batch(stem(1, 0)), b"{\"id\":\n").unwrap_err();
        assert!(
            matches!(err, JournalError::Malformed { line: 1, .. }),
            "{err}"
        );
        let err = decode_object("p/x.jsonl", ObjectName::Batch(stem(1, 0)), b"").unwrap_err();
        assert!(err.to_string().contains("holds no events"), "{err}");
    }
}
