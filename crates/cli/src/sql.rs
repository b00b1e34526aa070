//! `lakehouse sql "<query>"`: read-only SQL over the datasets.

use clap::Args;
use lakehouse::table::{OutputFormat, SqlOptions, write_batches};

use crate::Globals;

/// Rows shown when the query and --limit set no bound.
const DEFAULT_LIMIT: usize = 100;

#[derive(Debug, Args)]
pub(crate) struct SqlArgs {
    /// One query (SELECT, WITH … SELECT, VALUES, EXPLAIN); datasets are tables by name.
    /// Anything that would change data is refused.
    query: String,
    /// Print at most N rows (0: all). Default 100.
    #[arg(long)]
    limit: Option<usize>,
    /// Print CSV instead of a table (--json prints one JSON object per row).
    #[arg(long)]
    csv: bool,
    /// Read every dataset as of this version (time travel).
    #[arg(long, value_name = "N")]
    as_of_version: Option<u64>,
}

pub(crate) async fn run(globals: &Globals, args: SqlArgs) -> anyhow::Result<()> {
    let lakehouse = globals.open().await?;
    let limit = match args.limit {
        Some(0) => None,
        Some(n) => Some(n),
        None => Some(DEFAULT_LIMIT),
    };
    // One row more than shown tells whether the result was cut.
    let options = SqlOptions {
        as_of_version: args.as_of_version,
        limit: limit.map(|n| n + 1),
        ..SqlOptions::default()
    };
    let mut batches = lakehouse
        .tables()
        .sql_collect(&args.query, &options)
        .await?;
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let cut = limit.is_some_and(|n| total > n);
    if let Some(n) = limit.filter(|_| cut) {
        let mut kept = Vec::new();
        let mut left = n;
        for batch in batches {
            if left == 0 {
                break;
            }
            let take = left.min(batch.num_rows());
            kept.push(batch.slice(0, take));
            left -= take;
        }
        batches = kept;
    }
    let format = if globals.json {
        OutputFormat::JsonLines
    } else if args.csv {
        OutputFormat::Csv
    } else {
        OutputFormat::Table
    };
    let mut out = std::io::stdout().lock();
    write_batches(&batches, format, &mut out)?;
    if cut {
        eprintln!(
            "(showing the first {} rows; --limit N for more, --limit 0 for all)",
            limit.unwrap_or_default()
        );
    }
    Ok(())
}
