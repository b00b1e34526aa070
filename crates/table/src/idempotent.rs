//! Ingests that can be run again safely.
//!
//! An ingest commits its rows to the dataset, then its quarantined rows to `<name>__rejects`:
//! two Delta tables, so two commits. Either can fail — or land with its answer lost — and the
//! command is then run again. So every ingest has an id, the hash of everything that decides
//! what it writes (dataset, mode, read options, the sources' names and bytes), and each commit
//! carries it as a Delta application transaction (`txn`, app id `lakehouse.ingest.<id>`).
//! Files are named in the hash relative to the source (a lone file by its file name), so the
//! same input read through another path, or uploaded again to a fresh temporary folder, is
//! still the same ingest. A
//! rerun skips each table that already holds its commit: the good rows are never appended
//! twice and the rejects never lost. An append of input that was appended before is skipped
//! too, as `COPY INTO` skips files it loaded; [`IngestOptions::with_again`] appends it anyway.
//!
//! [`IngestOptions::with_again`]: crate::IngestOptions::with_again

use deltalake::DeltaTable;
use deltalake::kernel::Transaction;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};

use crate::TableError;
use crate::source::SourceFile;

/// The commit metadata key holding the ingest id.
pub(crate) const INGEST_KEY: &str = "lakehouse.ingest";

/// The id of an ingest of `sources` (read from `source`): the hash of what it writes, or
/// random with `again`.
pub(crate) fn ingest_id(
    dataset: &str,
    settings: &str,
    source: &str,
    sources: &[SourceFile],
    again: bool,
) -> String {
    let mut hash = Sha256::new();
    for part in [dataset.as_bytes(), settings.as_bytes()] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    for file in sources {
        let name = relative_name(source, &file.name);
        hash.update((name.len() as u64).to_le_bytes());
        hash.update(name.as_bytes());
        hash.update((file.bytes.len() as u64).to_le_bytes());
        hash.update(&file.bytes);
    }
    if again {
        hash.update(rand::random::<u128>().to_le_bytes());
    }
    let digest = hash.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// `name` (a file read from `source`) relative to it: the part below a folder or prefix, or a
/// lone file's own name.
fn relative_name<'a>(source: &str, name: &'a str) -> &'a str {
    let below = name
        .strip_prefix(source.trim_end_matches('/'))
        .map(|rest| rest.trim_start_matches('/'))
        .unwrap_or(name);
    if below.is_empty() {
        name.rsplit('/').next().unwrap_or(name)
    } else {
        below
    }
}

/// The application transaction an ingest's commits carry.
pub(crate) fn transaction(id: &str) -> Transaction {
    Transaction::new(app_id(id), 0)
}

fn app_id(id: &str) -> String {
    format!("{INGEST_KEY}.{id}")
}

/// Whether `table` already holds a commit of ingest `id`.
pub(crate) async fn holds(table: &DeltaTable, name: &str, id: &str) -> Result<bool, TableError> {
    let state = table.snapshot().map_err(|e| TableError::delta(name, e))?;
    let version = state
        .transaction_version(table.log_store().as_ref(), app_id(id))
        .await
        .map_err(|e| TableError::delta(name, e))?;
    Ok(version.is_some())
}

/// Whether the newest commit of `table` is ingest `id` (an overwrite counts as done only while
/// nothing came after it: overwriting with A, then B, then A again must end with A).
pub(crate) async fn is_newest(
    table: &DeltaTable,
    name: &str,
    id: &str,
) -> Result<bool, TableError> {
    let newest: Vec<_> = table
        .history(Some(1))
        .try_collect()
        .await
        .map_err(|e| TableError::delta(name, e))?;
    Ok(newest
        .first()
        .and_then(|c| c.info.get(INGEST_KEY))
        .is_some_and(|v| v.as_str() == Some(id)))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::source::Format;

    fn file(name: &str, bytes: &'static str) -> SourceFile {
        SourceFile {
            name: name.into(),
            format: Format::Csv,
            bytes: Bytes::from_static(bytes.as_bytes()),
        }
    }

    #[test]
    fn the_id_follows_what_the_ingest_writes() {
        let a = [file("a.csv", "x\n1\n")];
        let id = ingest_id("permits", "append", "a.csv", &a, false);
        assert_eq!(id.len(), 32);
        assert_eq!(id, ingest_id("permits", "append", "a.csv", &a, false));
        assert_ne!(id, ingest_id("contracts", "append", "a.csv", &a, false));
        assert_ne!(id, ingest_id("permits", "overwrite", "a.csv", &a, false));
        assert_ne!(
            id,
            ingest_id(
                "permits",
                "append",
                "a.csv",
                &[file("a.csv", "x\n2\n")],
                false
            )
        );
        assert_ne!(
            id,
            ingest_id(
                "permits",
                "append",
                "b.csv",
                &[file("b.csv", "x\n1\n")],
                false
            )
        );
        // Lengths are hashed too, so moving bytes between fields changes the id.
        assert_ne!(
            ingest_id("ab", "c", "a.csv", &a, false),
            ingest_id("a", "bc", "a.csv", &a, false)
        );
        assert_ne!(id, ingest_id("permits", "append", "a.csv", &a, true));
    }

    #[test]
    fn files_are_named_relative_to_the_source() {
        let lone = [file("/tmp/.tmpA1/up.csv", "x\n1\n")];
        let again = [file("/tmp/.tmpB2/up.csv", "x\n1\n")];
        assert_eq!(
            ingest_id("p", "s", "/tmp/.tmpA1/up.csv", &lone, false),
            ingest_id("p", "s", "/tmp/.tmpB2/up.csv", &again, false),
            "an upload saved to another temporary folder is the same ingest"
        );
        let a = [
            file("data/jan/a.csv", "x\n1\n"),
            file("data/jan/b.csv", "x\n2\n"),
        ];
        let b = [
            file("./data/jan/a.csv", "x\n1\n"),
            file("./data/jan/b.csv", "x\n2\n"),
        ];
        assert_eq!(
            ingest_id("p", "s", "data/jan/", &a, false),
            ingest_id("p", "s", "./data/jan", &b, false)
        );
        assert_eq!(relative_name("s3://b/raw", "s3://b/raw/x/y.csv"), "x/y.csv");
        assert_eq!(
            relative_name("s3://b/raw/y.csv", "s3://b/raw/y.csv"),
            "y.csv"
        );
    }
}
