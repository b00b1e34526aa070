//! Compaction: merge every settled object into one, then delete what was merged.
//!
//! Safe by construction rather than by locking: the merged object holds each event once (the
//! same [`Filter`] reads use), it is written create-only under a new key, only objects that were
//! read are deleted, and readers skip what a leftover repeats. A merged object that vanishes
//! mid-way (another compaction) aborts this one before it writes or deletes anything. Each
//! writer's events are merged only up to the first gap in what the listing showed (a batch
//! the listing missed), so a merged object never sorts ahead of an unmerged batch that holds
//! earlier events of the same writer.

use std::collections::HashMap;
use std::pin::pin;

use futures::StreamExt;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::JournalError;
use super::cursor::Filter;
use super::event::{WriterId, encode_line};
use super::key::{ObjectName, Stem};
use super::read::{Listed, ReadCtx, Source};
use crate::Timestamp;

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CompactStats {
    /// Objects merged (batches, earlier compactions, leftovers).
    pub merged_objects: usize,
    /// Events in the new object.
    pub events: usize,
    /// The new object's key, if one was written.
    pub output: Option<String>,
    /// Merged objects deleted afterwards.
    pub deleted: usize,
    /// Merged objects whose delete failed; they stay readable without duplicates, and the next
    /// compaction removes them.
    pub delete_failures: usize,
    /// Objects left alone because they are younger than the settle window.
    pub unsettled: usize,
    /// Bytes of the merged objects.
    pub bytes_before: u64,
    /// Bytes of the new object.
    pub bytes_after: u64,
}

pub(crate) async fn compact(
    ctx: &ReadCtx,
    compactor: WriterId,
) -> Result<CompactStats, JournalError> {
    let listing = ctx.list().await?;
    let cutoff = ctx
        .options
        .clock
        .now()
        .plus_micros(-ctx.options.settle_micros());
    let (inputs, young): (Vec<Listed>, Vec<Listed>) = listing
        .objects
        .into_iter()
        .partition(|o| o.name.last_ts() <= cutoff);
    let mut stats = CompactStats {
        unsettled: young.len(),
        ..Default::default()
    };
    if inputs.len() < 2 {
        return Ok(stats);
    }
    // Read everything first: which objects may be merged depends on all of them.
    let mut decoded_inputs = Vec::with_capacity(inputs.len());
    let mut fetches = pin!(ctx.fetch_decoded(inputs.clone()));
    while let Some((listed, decoded)) = fetches.next().await {
        let Some(decoded) = decoded? else {
            return Err(JournalError::CompactionRaced {
                prefix: ctx.prefix_str(),
                key: listed.location.to_string(),
            });
        };
        decoded_inputs.push((listed, decoded));
    }
    // A listing taken while writers flush need not show every object older than the newest
    // one it shows (a local folder's listing can miss a file created during it). A writer's
    // events are a gap-free run from 0, so a gap in what was listed is such a miss: merge each
    // writer's events only up to its first gap, and leave objects beyond it alone. Merging
    // past the gap would put later events in an object that sorts first, and readers would
    // then skip the missed batch as an old copy.
    let reach = contiguous_reach(&decoded_inputs);
    let (decoded_inputs, beyond): (Vec<_>, Vec<_>) =
        decoded_inputs.into_iter().partition(|(_, sources)| {
            sources.iter().all(|source| {
                source.events.iter().all(|e| {
                    reach
                        .get(&e.id.writer)
                        .is_some_and(|&reach| e.id.seq < reach)
                })
            })
        });
    if !beyond.is_empty() {
        tracing::debug!(
            left = beyond.len(),
            "compaction leaves objects beyond a gap in a writer's sequence for a later run"
        );
    }
    stats.unsettled += beyond.len();
    if decoded_inputs.len() < 2 {
        return Ok(stats);
    }
    let inputs: Vec<Listed> = decoded_inputs.iter().map(|(l, _)| l.clone()).collect();
    stats.merged_objects = inputs.len();
    stats.bytes_before = inputs.iter().map(|o| o.size).sum();

    let mut filter = Filter::default();
    let mut sources: Vec<(Stem, usize)> = Vec::new();
    let mut body = Vec::new();
    for (_, decoded) in &decoded_inputs {
        for source in decoded {
            let mut kept = source
                .events
                .iter()
                .filter(|e| filter.admit(e.id.writer, e.id.seq, source.stem.ts))
                .peekable();
            // The filter drops a prefix of a batch (what an earlier object already held), so what
            // is kept is one run starting at `first_seq`.
            let Some(first_seq) = kept.peek().map(|e| e.id.seq) else {
                continue;
            };
            let mut count = 0;
            for event in kept {
                encode_line(&mut body, event.id, event.ts, &event.data);
                count += 1;
            }
            sources.push((
                Stem {
                    first_seq,
                    ..source.stem
                },
                count,
            ));
        }
    }
    let Some((first, _)) = sources.first().copied() else {
        return Ok(stats);
    };
    let last_ts = sources
        .iter()
        .map(|(s, _)| s.ts)
        .max()
        .unwrap_or(Timestamp(0));
    let header = serde_json::json!({
        "compacted": {
            "v": 1,
            "sources": sources.iter().map(|(s, n)| (s.to_string(), n)).collect::<Vec<_>>(),
        }
    });
    let mut object = header.to_string().into_bytes();
    object.push(b'\n');
    object.extend_from_slice(&body);
    stats.events = sources.iter().map(|(_, n)| n).sum();
    stats.bytes_after = object.len() as u64;

    let output = ctx
        .prefix
        .clone()
        .join(ObjectName::compacted_name(first, last_ts, compactor));
    let object = bytes::Bytes::from(object);
    let put = PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    match ctx
        .store
        .put_opts(&output, PutPayload::from(object.clone()), put)
        .await
    {
        Ok(_) => {}
        Err(object_store::Error::AlreadyExists { .. }) => {
            // The same compaction ran before (same compactor, same range): fine if identical.
            if ctx.fetch(&output).await?.as_ref() != Some(&object) {
                return Err(JournalError::KeyCollision {
                    key: output.to_string(),
                });
            }
        }
        Err(source) => {
            return Err(JournalError::Store {
                op: "put",
                key: output.to_string(),
                source,
            });
        }
    }
    stats.output = Some(output.to_string());

    for listed in inputs.iter().filter(|o| o.location != output) {
        match ctx.store.delete(&listed.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => stats.deleted += 1,
            Err(error) => {
                stats.delete_failures += 1;
                tracing::warn!(key = %listed.location, %error, "compaction could not delete a merged object; it stays readable and the next compaction removes it");
            }
        }
    }
    Ok(stats)
}

/// For each writer, the first sequence number not held by a gap-free run from 0 through the
/// decoded objects (every event below it is in some object).
fn contiguous_reach(objects: &[(Listed, Vec<Source>)]) -> HashMap<WriterId, u64> {
    let mut seqs: HashMap<WriterId, Vec<u64>> = HashMap::new();
    for (_, sources) in objects {
        for source in sources {
            for event in &source.events {
                seqs.entry(event.id.writer).or_default().push(event.id.seq);
            }
        }
    }
    seqs.into_iter()
        .map(|(writer, mut seqs)| {
            seqs.sort_unstable();
            let mut reach = 0u64;
            for seq in seqs {
                if seq > reach {
                    break;
                }
                reach = reach.max(seq + 1);
            }
            (writer, reach)
        })
        .collect()
}
