//! `lakehouse gc`, `lakehouse dataset vacuum` and `lakehouse corpus gc`: reclaiming the space
//! of versions older than a retention window (the library's `Lakehouse::gc`,
//! `Tables::vacuum`, `Corpora::gc`), with the report printed or as JSON.

use std::time::Duration;

use clap::Args;
use lakehouse::table::Vacuum;
use lakehouse::vectord::CorpusGc;

use crate::Globals;

/// The retention window and the dry-run switch, shared by the three commands.
#[derive(Debug, Args)]
pub(crate) struct RetainArgs {
    /// Keep every version that was current within this window before now (e.g. 7d, 12h, 0s).
    /// Readers still reading a version older than the window may fail; the current version
    /// always stays.
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
    pub(crate) retain: Duration,
    /// Only report what would be removed.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `lakehouse gc`.
#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    #[command(flatten)]
    retain: RetainArgs,
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn verb(dry_run: bool) -> &'static str {
    if dry_run { "would remove" } else { "removed" }
}

pub(crate) fn dataset_line(v: &Vacuum) -> String {
    format!(
        "dataset {}: {} {} files ({}), {} kept",
        v.name,
        verb(v.dry_run),
        v.files_removed,
        size(v.bytes_removed),
        size(v.bytes_kept)
    )
}

pub(crate) fn corpus_line(c: &CorpusGc) -> String {
    let readable = if c.oldest_kept == c.version {
        format!("version {}", c.version)
    } else {
        format!("versions {}-{}", c.oldest_kept, c.version)
    };
    format!(
        "corpus {}: {} {} manifests and {} segments ({} of them never committed), {} files \
         ({}); {readable} readable, {} kept",
        c.corpus,
        verb(c.dry_run),
        c.manifests_removed,
        c.segments_removed,
        c.orphans_removed,
        c.files_removed,
        size(c.bytes_removed),
        size(c.bytes_kept)
    )
}

pub(crate) async fn run(globals: &Globals, args: GcArgs) -> anyhow::Result<()> {
    let lh = globals.open().await?;
    let report = lh.gc(args.retain.retain, args.retain.dry_run).await?;
    if globals.json {
        outln!("{}", serde_json::to_string(&report)?)?;
        return Ok(());
    }
    for d in &report.datasets {
        outln!("{}", dataset_line(d))?;
    }
    for c in &report.corpora {
        outln!("{}", corpus_line(c))?;
    }
    outln!(
        "retention {}: {} {} objects ({}); {} kept{}",
        humantime::format_duration(args.retain.retain),
        verb(report.dry_run),
        report.files_removed,
        size(report.bytes_removed),
        size(report.bytes_kept),
        if report.dry_run {
            " (dry run: nothing was deleted)"
        } else {
            ""
        }
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_wrote_them() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 << 20), "3.0 MiB");
        assert_eq!(size(5 << 30), "5.0 GiB");
    }
}
