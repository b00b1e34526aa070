//! The ingest parsers on bytes, for the fuzz targets (feature `fuzzing`): what `Tables::ingest`
//! runs on one file after reading it and before writing anything — CSV, JSON, JSON lines, text
//! and Parquet decoding, then typing — with malformed rows quarantined, as
//! `--on-error quarantine` does.

use bytes::Bytes;

use crate::TableError;
use crate::ingest::{self, ReadSpec};
use crate::raw::OnError;
use crate::source::{Format, SourceFile};

/// Parse and type one file of `format`; the rows kept and the rows set aside. Never panics: a
/// problem is an error or a reject.
pub fn prepare(format: Format, bytes: &[u8]) -> Result<(usize, usize), TableError> {
    let spec = ReadSpec {
        on_error: OnError::Quarantine,
        ..ReadSpec::default()
    };
    let source = SourceFile {
        name: "fuzz".into(),
        format,
        bytes: Bytes::copy_from_slice(bytes),
    };
    let prepared = ingest::prepare("fuzz", &[source], &spec, None, 64 << 20, &|_, _| {})?;
    Ok((prepared.rows, prepared.rejects.len()))
}
