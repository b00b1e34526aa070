//! `lakehouse dataset …`: ingest and manage datasets (Delta tables in the store).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use lakehouse::table::{
    CsvOptions, DatasetInfo, Format, IngestOptions, Mode, OnError, Progress, TextUnit,
};

use crate::Globals;

#[derive(Debug, Subcommand)]
pub(crate) enum DatasetCommand {
    /// Ingest a file, a folder, or a store URL (s3://bucket/prefix/…) into a dataset.
    ///
    /// Formats come from file extensions (.csv .tsv .json .jsonl .ndjson .parquet .txt .md) or
    /// --format. Column names are normalised (lowercase, `_`); the originals are kept in the
    /// table's metadata. Types are inferred (integers, numbers, booleans, ISO dates and
    /// timestamps; values with leading zeros stay text) unless --schema says otherwise.
    ///
    /// A malformed row stops the ingest with an error naming the file, line and column, and the
    /// dataset is left as it was; with --on-error quarantine, bad rows go to <name>__rejects
    /// with the reason instead.
    Ingest(IngestArgs),
    /// List datasets with their version, rows, files and size.
    List,
    /// Show a dataset's columns (with original names), rows, files, size and version.
    Describe(NameArg),
    /// Show a dataset's commits, newest first.
    History(NameArg),
    /// Merge a dataset's small files and checkpoint its log, so queries open and scan it fast.
    ///
    /// Files under --target-size are bin-packed into files of about that size, in a commit of
    /// their own; the rows, the schema and every earlier version stay as they were (old files
    /// are kept for --as-of-version). Appends by programs (the agent's `agent_sessions`)
    /// compact by themselves once a dataset holds 10 small files.
    Compact(CompactArgs),
    /// Delete the files of a dataset's versions older than --retain (default 7d): what
    /// overwrites and compactions replaced. Those versions can no longer be read
    /// (--as-of-version); the current one stays. With --retain of 1d or more, files
    /// of ingests that never committed go too, once older than the window.
    Vacuum(VacuumArgs),
    /// Delete a dataset and all its versions from the store.
    Drop(DropArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CompactArgs {
    /// The dataset.
    name: String,
    /// Merge files smaller than this many bytes, into files of about this size.
    #[arg(long, value_name = "BYTES", default_value_t = lakehouse::table::COMPACT_TARGET_BYTES)]
    target_size: u64,
}

#[derive(Debug, Args)]
pub(crate) struct VacuumArgs {
    /// The dataset.
    name: String,
    #[command(flatten)]
    retain: crate::gc::RetainArgs,
}

#[derive(Debug, Args)]
pub(crate) struct NameArg {
    /// The dataset.
    name: String,
}

#[derive(Debug, Args)]
pub(crate) struct DropArgs {
    /// The dataset.
    name: String,
    /// Really delete it (there is no undo).
    #[arg(long)]
    yes: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Csv,
    Json,
    Jsonl,
    Parquet,
    Text,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    /// Add rows; the dataset is created if missing.
    Append,
    /// Replace rows and schema (the old versions stay readable with --as-of-version).
    Overwrite,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OnErrorArg {
    /// Stop at the first bad row; nothing is written.
    Fail,
    /// Write bad rows, with the reason, to <name>__rejects and keep going.
    Quarantine,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TextUnitArg {
    /// One row per file (path, text).
    File,
    /// One row per blank-line separated paragraph (path, paragraph, line, text).
    Paragraph,
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// The dataset: lowercase letters, digits and `_`, starting with a letter.
    name: String,
    /// A file, a folder (read recursively), or a store URL such as s3://bucket/raw/permits/.
    source: String,
    /// The input format (default: from each file's extension).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Append to the dataset or overwrite it.
    #[arg(long, value_enum, default_value = "append")]
    mode: ModeArg,
    /// What to do with a malformed row.
    #[arg(long, value_enum, default_value = "fail")]
    on_error: OnErrorArg,
    /// Column types that override inference, e.g. `amount:float,issue_date:date`
    /// (types: int, float, bool, date, timestamp, string).
    #[arg(long, value_name = "COL:TYPE,…")]
    schema: Option<String>,
    /// CSV field delimiter: one character, or `tab` (default `,`; `tab` for .tsv).
    #[arg(long)]
    delimiter: Option<String>,
    /// CSV quote character.
    #[arg(long, default_value = "\"")]
    quote: String,
    /// The CSV has no header row (columns are named column_1, column_2, …).
    #[arg(long)]
    no_header: bool,
    /// How text and markdown files become rows.
    #[arg(long, value_enum, default_value = "file")]
    text_unit: TextUnitArg,
    /// Reject fields (and JSON lines) longer than this many bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_field_bytes: usize,
    /// Append the input even if this dataset already holds an append of the same bytes with
    /// the same settings. Without it such a rerun writes no rows again (so retrying a failed
    /// or interrupted ingest is safe) and only finishes what the earlier run left undone.
    #[arg(long)]
    again: bool,
    /// Fail when Parquet input decodes to more than this many bytes in memory (a small,
    /// highly compressed file can decode to more than the machine holds).
    #[arg(long, value_name = "BYTES", default_value_t = lakehouse::table::DEFAULT_MAX_DECODED_BYTES)]
    max_decoded_bytes: u64,
}

fn one_byte(what: &str, text: &str) -> anyhow::Result<u8> {
    match text {
        "tab" | "\\t" => Ok(b'\t'),
        _ if text.len() == 1 => Ok(text.as_bytes()[0]),
        _ => anyhow::bail!("--{what} must be a single ASCII character or `tab`, not '{text}'"),
    }
}

fn ingest_options(args: &IngestArgs) -> anyhow::Result<IngestOptions> {
    let csv = CsvOptions {
        delimiter: args
            .delimiter
            .as_deref()
            .map(|d| one_byte("delimiter", d))
            .transpose()?,
        has_header: !args.no_header,
        quote: one_byte("quote", &args.quote)?,
    };
    let mut options = IngestOptions::new()
        .with_csv(csv)
        .with_mode(match args.mode {
            ModeArg::Append => Mode::Append,
            ModeArg::Overwrite => Mode::Overwrite,
        })
        .with_on_error(match args.on_error {
            OnErrorArg::Fail => OnError::Fail,
            OnErrorArg::Quarantine => OnError::Quarantine,
        })
        .with_text_unit(match args.text_unit {
            TextUnitArg::File => TextUnit::File,
            TextUnitArg::Paragraph => TextUnit::Paragraph,
        })
        .with_max_field_bytes(args.max_field_bytes)
        .with_again(args.again)
        .with_max_decoded_bytes(args.max_decoded_bytes);
    if let Some(format) = args.format {
        options = options.with_format(match format {
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Parquet => Format::Parquet,
            FormatArg::Text => Format::Text,
        });
    }
    if let Some(schema) = &args.schema {
        options = options.with_schema(schema);
    }
    Ok(options)
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template(
        "{spinner} reading {bytes}/{total_bytes} ({bytes_per_sec}) {msg} [{elapsed_precise}]",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

pub(crate) async fn run(globals: &Globals, command: DatasetCommand) -> anyhow::Result<()> {
    let lakehouse = globals.open().await?;
    let tables = lakehouse.tables();
    match command {
        DatasetCommand::Ingest(args) => {
            let bar = progress_bar();
            let shown = bar.clone();
            let on_progress = Arc::new(move |p: Progress| {
                shown.set_length(p.total_bytes);
                shown.set_position(p.bytes);
                shown.set_message(format!("{} rows", p.rows));
            });
            let options = ingest_options(&args)?.with_progress(on_progress);
            let result = tables.ingest(&args.name, &args.source, options).await;
            bar.finish_and_clear();
            let report = result.with_context(|| {
                format!(
                    "ingest of '{}' into dataset '{}' failed; the dataset is unchanged",
                    args.source, args.name
                )
            })?;
            if globals.json {
                outln!("{}", serde_json::to_string(&report)?)?;
            } else if report.repeated {
                outln!(
                    "'{}' already holds this input ({} rows from {} file(s), ingest {}): no rows written again (version {}); pass --again to append it once more",
                    report.dataset,
                    report.rows,
                    report.files,
                    report.ingest_id,
                    report.version
                )?;
                if let Some(rejects) = &report.rejects_dataset {
                    outln!("its {} malformed rows are in '{rejects}'", report.rejected)?;
                }
            } else {
                outln!(
                    "ingested {} rows from {} file(s) ({:.1} MB) into '{}' (version {}) in {:.2}s",
                    report.rows,
                    report.files,
                    report.bytes as f64 / 1e6,
                    report.dataset,
                    report.version,
                    report.seconds
                )?;
                if let Some(rejects) = &report.rejects_dataset {
                    outln!(
                        "{} malformed rows were quarantined in '{rejects}' (see: lakehouse sql \"SELECT * FROM {rejects}\")",
                        report.rejected
                    )?;
                }
                print_columns(&report.columns)?;
                outln!(
                    "next: lakehouse dataset describe {0}   |   lakehouse sql \"SELECT * FROM {0} LIMIT 5\"",
                    report.dataset
                )?;
            }
        }
        DatasetCommand::List => {
            let datasets = tables.list().await?;
            if globals.json {
                outln!("{}", serde_json::to_string(&datasets)?)?;
            } else if datasets.is_empty() {
                outln!(
                    "no datasets in {} yet: try `lakehouse dataset ingest <name> <file>`",
                    lakehouse.store().url()
                )?;
            } else {
                outln!(
                    "{:<32} {:>8} {:>10} {:>6} {:>12}",
                    "dataset",
                    "version",
                    "rows",
                    "files",
                    "bytes"
                )?;
                for d in datasets {
                    outln!(
                        "{:<32} {:>8} {:>10} {:>6} {:>12}",
                        d.name,
                        d.version,
                        d.rows,
                        d.files,
                        d.bytes
                    )?;
                }
            }
        }
        DatasetCommand::Describe(args) => {
            let info = tables.describe(&args.name).await?;
            if globals.json {
                outln!("{}", serde_json::to_string(&info)?)?;
            } else {
                print_info(&info)?;
            }
        }
        DatasetCommand::History(args) => {
            let history = tables.history(&args.name, None).await?;
            if globals.json {
                outln!("{}", serde_json::to_string(&history)?)?;
            } else {
                for entry in history {
                    let when = entry
                        .timestamp
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_default();
                    outln!(
                        "v{:<4} {when}  {:<14} {}",
                        entry.version,
                        entry.operation.unwrap_or_default(),
                        entry.details
                    )?;
                }
            }
        }
        DatasetCommand::Vacuum(args) => {
            let done = tables
                .vacuum(&args.name, args.retain.retain, args.retain.dry_run)
                .await?;
            if globals.json {
                outln!("{}", serde_json::to_string(&done)?)?;
            } else {
                outln!("{}", crate::gc::dataset_line(&done))?;
            }
        }
        DatasetCommand::Compact(args) => {
            let done = tables.compact(&args.name, Some(args.target_size)).await?;
            if globals.json {
                outln!("{}", serde_json::to_string(&done)?)?;
            } else if done.files_removed == 0 {
                outln!(
                    "'{}' has nothing to merge (files: {}, version {})",
                    done.name,
                    done.files_after,
                    done.version
                )?;
            } else {
                outln!(
                    "compacted '{}': merged {} files into {} (files: {}), version {}{}",
                    done.name,
                    done.files_removed,
                    done.files_added,
                    done.files_after,
                    done.version,
                    if done.checkpoint {
                        ", log checkpointed"
                    } else {
                        ""
                    }
                )?;
            }
        }
        DatasetCommand::Drop(args) => {
            if !args.yes {
                anyhow::bail!(
                    "dropping '{}' deletes every version of it; run again with --yes to do it",
                    args.name
                );
            }
            let deleted = tables.drop_dataset(&args.name).await?;
            if globals.json {
                outln!(
                    "{}",
                    serde_json::json!({ "dropped": args.name, "objects_deleted": deleted })
                )?;
            } else {
                outln!("dropped '{}' ({deleted} objects deleted)", args.name)?;
            }
        }
    }
    Ok(())
}

fn print_columns(columns: &[lakehouse::table::ColumnInfo]) -> std::io::Result<()> {
    for column in columns {
        match &column.original_name {
            Some(original) => outln!(
                "  {:<32} {:<28} (was {original:?})",
                column.name,
                column.data_type
            )?,
            None => outln!("  {:<32} {}", column.name, column.data_type)?,
        }
    }
    Ok(())
}

fn print_info(info: &DatasetInfo) -> std::io::Result<()> {
    outln!("dataset  {}", info.name)?;
    outln!("version  {}", info.version)?;
    outln!("rows     {}", info.rows)?;
    outln!("files    {} ({} bytes)", info.files, info.bytes)?;
    outln!("columns")?;
    print_columns(&info.columns)
}
