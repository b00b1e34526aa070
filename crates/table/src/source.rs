//! Finding the files to ingest: a local file, a local folder (recursively), or a store URL
//! (`s3://bucket/prefix/…`, `file:///…`) naming one object or a prefix of many.

use bytes::Bytes;
use futures::TryStreamExt;
use lakehouse_store::Store;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::TableError;

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma (or other) separated values.
    Csv,
    /// A JSON document (array of objects, keyed objects, or fields/data).
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet.
    Parquet,
    /// Plain text or markdown.
    Text,
}

impl Format {
    /// The format a file name's extension says, if any.
    pub fn from_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" | "tsv" => Format::Csv,
            "json" => Format::Json,
            "jsonl" | "ndjson" => Format::Jsonl,
            "parquet" => Format::Parquet,
            "txt" | "md" | "markdown" | "text" => Format::Text,
            _ => return None,
        })
    }

    /// Parse a `--format` value.
    pub fn parse(name: &str) -> Option<Format> {
        Format::from_name(&format!("x.{name}"))
    }
}

/// One input file, read.
#[derive(Debug)]
pub(crate) struct SourceFile {
    pub(crate) name: String,
    pub(crate) format: Format,
    pub(crate) bytes: Bytes,
}

fn source_error(source: &str, reason: impl Into<String>) -> TableError {
    TableError::Source {
        source_name: source.to_string(),
        reason: reason.into(),
    }
}

/// Read every file of `source` whose format is known (or forced).
pub(crate) async fn collect(
    source: &str,
    forced: Option<Format>,
    store_options: &[(String, String)],
) -> Result<Vec<SourceFile>, TableError> {
    let mut found: Vec<(String, Bytes)> = Vec::new();
    if source.contains("://") {
        let store = Store::open_with_options(source, store_options.iter().cloned())?;
        let objects: Vec<_> = store
            .object_store()
            .list(None)
            .try_collect()
            .await
            .map_err(|e| source_error(source, e.to_string()))?;
        if objects.is_empty() {
            // Perhaps the URL names one object: open its parent and fetch it.
            let (parent, name) = source
                .trim_end_matches('/')
                .rsplit_once('/')
                .ok_or_else(|| source_error(source, "nothing found there"))?;
            let store = Store::open_with_options(parent, store_options.iter().cloned())?;
            let got = store
                .object_store()
                .get(&Path::from(name))
                .await
                .map_err(|e| source_error(source, format!("nothing found there ({e})")))?;
            let bytes = got
                .bytes()
                .await
                .map_err(|e| source_error(source, e.to_string()))?;
            found.push((source.to_string(), bytes));
        } else {
            let mut keys: Vec<Path> = objects.into_iter().map(|m| m.location).collect();
            keys.sort();
            for key in keys {
                let got = store
                    .object_store()
                    .get(&key)
                    .await
                    .map_err(|e| source_error(source, e.to_string()))?;
                let bytes = got
                    .bytes()
                    .await
                    .map_err(|e| source_error(source, e.to_string()))?;
                found.push((format!("{}/{key}", source.trim_end_matches('/')), bytes));
            }
        }
    } else {
        let path = std::path::Path::new(source);
        let meta = std::fs::metadata(path).map_err(|e| source_error(source, e.to_string()))?;
        let mut files = Vec::new();
        if meta.is_dir() {
            walk(path, &mut files).map_err(|e| source_error(source, e.to_string()))?;
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        for file in files {
            let bytes = std::fs::read(&file)
                .map_err(|e| source_error(&file.display().to_string(), e.to_string()))?;
            found.push((file.display().to_string(), Bytes::from(bytes)));
        }
    }
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for (name, bytes) in found {
        match forced.or_else(|| Format::from_name(&name)) {
            Some(format) => out.push(SourceFile {
                name,
                format,
                bytes,
            }),
            None => unknown.push(name),
        }
    }
    if !unknown.is_empty() {
        let shown: Vec<_> = unknown.iter().take(5).map(String::as_str).collect();
        return Err(source_error(
            source,
            format!(
                "cannot tell the format of {} file(s) ({}); name them .csv/.tsv/.json/.jsonl/.parquet/.txt/.md or pass --format",
                unknown.len(),
                shown.join(", ")
            ),
        ));
    }
    if out.is_empty() {
        return Err(source_error(source, "no files to ingest"));
    }
    Ok(out)
}

/// Every regular, non-hidden file under `dir`.
fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names() {
        assert_eq!(Format::from_name("a/b.CSV"), Some(Format::Csv));
        assert_eq!(Format::from_name("x.tsv"), Some(Format::Csv));
        assert_eq!(Format::from_name("x.ndjson"), Some(Format::Jsonl));
        assert_eq!(Format::from_name("README.md"), Some(Format::Text));
        assert_eq!(Format::from_name("noext"), None);
        assert_eq!(Format::parse("parquet"), Some(Format::Parquet));
        assert_eq!(Format::parse("xlsx"), None);
    }

    #[tokio::test]
    async fn unknown_files_are_named_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.csv"), "x\n1\n").unwrap();
        std::fs::write(dir.path().join("b.xlsx"), "??").unwrap();
        let err = collect(dir.path().to_str().unwrap(), None, &[])
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("b.xlsx"), "{err}");
    }
}
