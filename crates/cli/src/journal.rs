//! `lakehouse journal …`: use and inspect journals by hand.

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use futures::StreamExt;
use lakehouse::store::Timestamp;
use lakehouse::store::journal::{Cursor, Event, EventId, Journal, JournalOptions, StoreJournal};
use serde_json::value::RawValue;

use crate::Globals;

#[derive(Debug, Subcommand)]
pub(crate) enum JournalCommand {
    /// Append JSON events: given as arguments, or one per line on stdin.
    ///
    /// Every value is checked before it is appended; a line that is not JSON stops the command
    /// with an error naming the line, after the events before it are flushed. With
    /// --flush-every, an acknowledgement line is printed after each flush: every event it
    /// counts is durable.
    Append(AppendArgs),
    /// Print a journal's events in order, optionally from a cursor.
    ///
    /// The cursor after the last event printed goes to stderr ("cursor: v1:…"); pass it to
    /// --since to continue where this read stopped.
    Read(ReadArgs),
    /// Merge the journal's objects into one and delete what was merged.
    Compact(CompactArgs),
    /// Count objects, events, writers, compaction leftovers and gaps.
    Stats(PrefixArg),
}

#[derive(Debug, Args)]
pub(crate) struct PrefixArg {
    /// The journal's prefix in the store, e.g. journals/errors.
    prefix: String,
}

#[derive(Debug, Args)]
pub(crate) struct AppendArgs {
    /// The journal's prefix in the store, e.g. journals/errors.
    prefix: String,
    /// Events as JSON values; without any, read one JSON value per line from stdin.
    events: Vec<String>,
    /// Flush after every N events and print an acknowledgement.
    #[arg(long, value_name = "N")]
    flush_every: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// The journal's prefix in the store, e.g. journals/errors.
    prefix: String,
    /// Start after this cursor (printed by an earlier read).
    #[arg(long, value_name = "CURSOR")]
    since: Option<String>,
    /// Print at most N events.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct CompactArgs {
    /// The journal's prefix in the store, e.g. journals/errors.
    prefix: String,
    /// Leave objects younger than this alone (their batches may still be settling).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    settle: Duration,
}

pub(crate) async fn run(globals: &Globals, command: JournalCommand) -> anyhow::Result<()> {
    let lakehouse = globals.open().await?;
    match command {
        JournalCommand::Append(args) => {
            let journal = lakehouse.journal(&args.prefix, JournalOptions::default())?;
            append(globals, &journal, &args).await
        }
        JournalCommand::Read(args) => {
            let journal = lakehouse.journal(&args.prefix, JournalOptions::default())?;
            read(globals, &journal, &args).await
        }
        JournalCommand::Compact(args) => {
            let options = JournalOptions::default().with_settle(args.settle);
            let journal = lakehouse.journal(&args.prefix, options)?;
            let stats = journal.compact().await?;
            if globals.json {
                outln!("{}", serde_json::to_string(&stats)?)?;
            } else if let Some(output) = &stats.output {
                outln!(
                    "merged {} objects ({} events, {} → {} bytes) into {output}; deleted {}, {} deletes failed; {} objects newer than {} left alone",
                    stats.merged_objects,
                    stats.events,
                    stats.bytes_before,
                    stats.bytes_after,
                    stats.deleted,
                    stats.delete_failures,
                    stats.unsettled,
                    humantime::format_duration(args.settle),
                )?;
            } else if stats.unsettled > 0 {
                outln!(
                    "nothing to compact in {}: {} objects are newer than the settle window ({}); try --settle 0s",
                    args.prefix,
                    stats.unsettled,
                    humantime::format_duration(args.settle),
                )?;
            } else {
                outln!(
                    "nothing to compact in {}: it holds at most one object",
                    args.prefix
                )?;
            }
            Ok(())
        }
        JournalCommand::Stats(args) => {
            let journal = lakehouse.journal(&args.prefix, JournalOptions::default())?;
            let stats = journal.stats().await?;
            if globals.json {
                outln!("{}", serde_json::to_string(&stats)?)?;
            } else {
                outln!("journal      {}", args.prefix)?;
                outln!("events       {}", stats.events)?;
                outln!("writers      {}", stats.writers)?;
                outln!(
                    "objects      {} batches, {} compactions, {} foreign (ignored)",
                    stats.batch_objects,
                    stats.compacted_objects,
                    stats.foreign_objects
                )?;
                outln!("bytes        {}", stats.bytes)?;
                outln!(
                    "leftovers    {} duplicate copies (removed by the next compaction)",
                    stats.duplicate_copies
                )?;
                outln!(
                    "batches      {} … {}",
                    stats
                        .first_batch_ts
                        .map(show_ts)
                        .unwrap_or_else(|| "-".into()),
                    stats
                        .last_batch_ts
                        .map(show_ts)
                        .unwrap_or_else(|| "-".into())
                )?;
                if stats.gaps.is_empty() {
                    outln!("gaps         none")?;
                } else {
                    for gap in &stats.gaps {
                        outln!(
                            "gap          writer {} jumps from {} to {}",
                            gap.writer,
                            gap.after.map_or("start".into(), |a| a.to_string()),
                            gap.next
                        )?;
                    }
                }
            }
            Ok(())
        }
    }
}

fn parse_event(text: &str) -> Result<Box<RawValue>, serde_json::Error> {
    serde_json::from_str::<Box<RawValue>>(text)
}

/// Appends events, flushing and acknowledging every `flush_every`.
struct Appender<'a> {
    globals: &'a Globals,
    journal: &'a StoreJournal,
    flush_every: Option<usize>,
    appended: usize,
    last: Option<EventId>,
}

impl Appender<'_> {
    async fn push(&mut self, event: &RawValue) -> anyhow::Result<()> {
        self.last = Some(self.journal.append(event).await?);
        self.appended += 1;
        if let Some(every) = self.flush_every
            && self.appended.is_multiple_of(every)
        {
            self.journal.flush().await?;
            ack(self.globals, self.appended, self.last)?;
        }
        Ok(())
    }
}

async fn append(
    globals: &Globals,
    journal: &StoreJournal,
    args: &AppendArgs,
) -> anyhow::Result<()> {
    // Arguments are all checked before any is appended.
    let from_args: Vec<Box<RawValue>> = args
        .events
        .iter()
        .enumerate()
        .map(|(i, text)| {
            parse_event(text).with_context(|| format!("event argument {} is not valid JSON", i + 1))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut appender = Appender {
        globals,
        journal,
        flush_every: args.flush_every.filter(|n| *n > 0),
        appended: 0,
        last: None,
    };
    let mut failure = None;
    if args.events.is_empty() {
        for (i, line) in std::io::stdin().lock().lines().enumerate() {
            let line = match line {
                Ok(line) => line,
                Err(e) => {
                    failure = Some(format!("cannot read stdin line {} ({e})", i + 1));
                    break;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            match parse_event(&line) {
                Ok(event) => appender.push(&event).await?,
                Err(e) => {
                    failure = Some(format!("stdin line {} is not valid JSON ({e})", i + 1));
                    break;
                }
            }
        }
    } else {
        for event in &from_args {
            appender.push(event).await?;
        }
    }
    journal.close().await?;
    let (appended, last) = (appender.appended, appender.last);
    if let Some(error) = failure {
        anyhow::bail!("{error}; the {appended} events before it were appended and flushed");
    }
    if globals.json {
        let summary = serde_json::json!({
            "appended": appended,
            "writer": journal.writer_id().to_string(),
            "last_id": last.map(|id| id.to_string()),
        });
        outln!("{summary}")?;
    } else {
        outln!(
            "appended {appended} events to {} (writer {})",
            journal.prefix(),
            journal.writer_id()
        )?;
    }
    Ok(())
}

fn ack(globals: &Globals, acked: usize, last: Option<EventId>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let last = last.map(|id| id.to_string()).unwrap_or_default();
    if globals.json {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "acked": acked, "last_id": last })
        )?;
    } else {
        writeln!(out, "flushed: {acked} events durable (through {last})")?;
    }
    out.flush()?;
    Ok(())
}

async fn read(globals: &Globals, journal: &StoreJournal, args: &ReadArgs) -> anyhow::Result<()> {
    let cursor = match &args.since {
        Some(text) => text.parse::<Cursor>()?,
        None => Cursor::start(),
    };
    let mut stream = journal.read_since(cursor);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut printed = 0usize;
    while args.limit.is_none_or(|limit| printed < limit) {
        let Some(event) = stream.next().await else {
            break;
        };
        print_event(globals, &mut out, &event?)?;
        printed += 1;
    }
    out.flush()?;
    eprintln!("cursor: {}", stream.cursor());
    if printed == 0 && args.since.is_none() {
        eprintln!("(journal {} is empty)", args.prefix);
    }
    Ok(())
}

fn print_event(globals: &Globals, out: &mut impl Write, event: &Event) -> anyhow::Result<()> {
    if globals.json {
        let line = serde_json::json!({
            "id": event.id.to_string(),
            "ts": event.ts.as_micros(),
            "batch_ts": event.batch_ts.map(|t| t.as_micros()),
            "data": &event.data,
        });
        writeln!(out, "{line}")?;
    } else {
        writeln!(
            out,
            "{}  {}  {}",
            event.id,
            show_ts(event.ts),
            event.data.get()
        )?;
    }
    Ok(())
}

fn show_ts(ts: Timestamp) -> String {
    chrono::DateTime::from_timestamp_micros(ts.as_micros())
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_else(|| ts.to_string())
}
