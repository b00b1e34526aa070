//! Printing query results: an aligned table, JSON lines, or CSV.

use std::io::Write;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::util::pretty::pretty_format_batches;

use crate::TableError;

/// How to print rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// An aligned text table.
    Table,
    /// One JSON object per row.
    JsonLines,
    /// CSV with a header.
    Csv,
}

/// Write `batches` to `out` in `format`.
pub fn write_batches(
    batches: &[RecordBatch],
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), TableError> {
    let io = |e: std::io::Error| TableError::query(format!("cannot write output: {e}"));
    match format {
        OutputFormat::Table => {
            let table = pretty_format_batches(batches)?;
            writeln!(out, "{table}").map_err(io)?;
        }
        OutputFormat::JsonLines => {
            let mut writer = deltalake::arrow::json::LineDelimitedWriter::new(out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
        OutputFormat::Csv => {
            let mut writer = deltalake::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            for batch in batches {
                writer.write(batch)?;
            }
        }
    }
    Ok(())
}
