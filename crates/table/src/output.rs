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
    let mut out = Recording {
        inner: out,
        failed: None,
    };
    let written = match format {
        OutputFormat::Table => {
            let table = pretty_format_batches(batches)?;
            writeln!(out, "{table}").map_err(TableError::Output)
        }
        OutputFormat::JsonLines => {
            let mut writer = deltalake::arrow::json::LineDelimitedWriter::new(&mut out);
            batches
                .iter()
                .try_for_each(|batch| writer.write(batch))
                .and_then(|()| writer.finish())
                .map_err(TableError::Arrow)
        }
        OutputFormat::Csv => {
            let mut writer = deltalake::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            batches
                .iter()
                .try_for_each(|batch| writer.write(batch))
                .map_err(TableError::Arrow)
        }
    };
    match (written, out.failed) {
        (Ok(()), _) => Ok(()),
        // Arrow's writers turn a failed write into text (the CSV writer's `CsvError`): report
        // the write's own error, so a caller can tell a closed pipe from a failure
        (Err(_), Some((kind, message))) => {
            Err(TableError::Output(std::io::Error::new(kind, message)))
        }
        (Err(e), None) => Err(e),
    }
}

/// A writer that remembers the first error of the one it wraps.
struct Recording<'a> {
    inner: &'a mut dyn Write,
    failed: Option<(std::io::ErrorKind, String)>,
}

impl Recording<'_> {
    fn note<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result
            && self.failed.is_none()
        {
            self.failed = Some((e.kind(), e.to_string()));
        }
        result
    }
}

impl Write for Recording<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.note(result)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use deltalake::arrow::array::Int64Array;
    use deltalake::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    /// A reader that went away, as `lakehouse sql … | head` leaves it.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_an_output_error_with_its_io_error() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2]))]).unwrap();
        for format in [
            OutputFormat::Table,
            OutputFormat::JsonLines,
            OutputFormat::Csv,
        ] {
            let err =
                write_batches(std::slice::from_ref(&batch), format, &mut ClosedPipe).unwrap_err();
            match err {
                TableError::Output(io) => {
                    assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe, "{format:?}");
                }
                other => panic!("{format:?}: {other}"),
            }
        }
    }
}
