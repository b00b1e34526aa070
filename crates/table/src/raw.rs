//! Reading text formats (CSV, JSON, JSON lines, plain text) into a [`RawTable`]: every value a
//! string (or null), every row remembering the file and line it came from. Typing happens later
//! ([`crate::types`]), the same way for every format.

use deltalake::arrow::array::{Array, StringArray, StringBuilder};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::TableError;

/// What to do with a malformed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop with an error naming the file, line and column; nothing is written.
    #[default]
    Fail,
    /// Keep going; write the row and the reason to `<dataset>__rejects`.
    Quarantine,
}

/// A row that was not ingested, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The input file.
    pub file: String,
    /// 1-based line where the row starts.
    pub line: u64,
    /// The column at fault, if one is.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
    /// The row as found (lossy UTF-8).
    pub record: String,
}

impl Reject {
    pub(crate) fn into_error(self) -> TableError {
        TableError::BadRow {
            file: self.file,
            line: self.line,
            column: self
                .column
                .map(|c| format!(", column '{c}'"))
                .unwrap_or_default(),
            reason: self.reason,
        }
    }
}

/// CSV reading options.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Field delimiter. Default `,` (`\t` for `.tsv` files).
    pub delimiter: Option<u8>,
    /// Whether the first record is the header. Default true.
    pub has_header: bool,
    /// Quote character. Default `"`.
    pub quote: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: None,
            has_header: true,
            quote: b'"',
        }
    }
}

/// How plain text files become rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextUnit {
    /// One row per file: `path`, `text`.
    #[default]
    File,
    /// One row per paragraph (blank-line separated): `path`, `paragraph`, `line`, `text`.
    Paragraph,
}

/// Rows of strings with their origins.
#[derive(Debug, Default)]
pub(crate) struct RawTable {
    /// Original column names, in first-seen order.
    pub(crate) names: Vec<String>,
    builders: Vec<StringBuilder>,
    /// Per row: index into `files` and the line the row starts on.
    pub(crate) origins: Vec<(u32, u64)>,
    pub(crate) files: Vec<String>,
    /// Rows rejected while reading (quarantine mode).
    pub(crate) rejects: Vec<Reject>,
    /// Bytes of input read.
    pub(crate) bytes: u64,
}

/// The finished string columns.
pub(crate) struct RawColumns {
    pub(crate) names: Vec<String>,
    pub(crate) columns: Vec<StringArray>,
    pub(crate) origins: Vec<(u32, u64)>,
    pub(crate) files: Vec<String>,
    pub(crate) rejects: Vec<Reject>,
    pub(crate) bytes: u64,
}

impl RawTable {
    pub(crate) fn rows(&self) -> usize {
        self.origins.len()
    }

    /// The index of column `name`, adding it (null for the rows so far) if new.
    fn column(&mut self, name: &str) -> usize {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return i;
        }
        let mut builder = StringBuilder::new();
        builder.append_nulls(self.rows());
        self.names.push(name.to_string());
        self.builders.push(builder);
        self.names.len() - 1
    }

    fn add_file(&mut self, name: &str) -> u32 {
        self.files.push(name.to_string());
        u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX)
    }

    /// Append one row given as `(column index, value)` pairs; other columns are null.
    fn push(&mut self, file: u32, line: u64, values: &[(usize, Option<&str>)]) {
        let mut set = vec![None; self.builders.len()];
        for (i, v) in values {
            set[*i] = *v;
        }
        for (builder, value) in self.builders.iter_mut().zip(set) {
            builder.append_option(value);
        }
        self.origins.push((file, line));
    }

    pub(crate) fn finish(mut self) -> RawColumns {
        RawColumns {
            columns: self.builders.iter_mut().map(|b| b.finish()).collect(),
            names: self.names,
            origins: self.origins,
            files: self.files,
            rejects: self.rejects,
            bytes: self.bytes,
        }
    }

    fn reject(&mut self, on_error: OnError, reject: Reject) -> Result<(), TableError> {
        match on_error {
            OnError::Fail => Err(reject.into_error()),
            OnError::Quarantine => {
                self.rejects.push(reject);
                Ok(())
            }
        }
    }
}

/// Read one CSV file into `table`.
pub(crate) fn read_csv(
    table: &mut RawTable,
    file: &str,
    bytes: &[u8],
    options: &CsvOptions,
    max_field_bytes: usize,
    on_error: OnError,
) -> Result<(), TableError> {
    let delimiter = options
        .delimiter
        .unwrap_or(if file.ends_with(".tsv") { b'\t' } else { b',' });
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quote(options.quote)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let file_index = table.add_file(file);
    table.bytes += bytes.len() as u64;
    let records = reader.byte_records();
    let mut columns: Vec<usize> = Vec::new();
    let mut record_no = 0u64;
    for record in records {
        record_no += 1;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(record_no, |p| p.line());
                let reject = Reject {
                    file: file.into(),
                    line,
                    column: None,
                    reason: format!("unreadable CSV record: {e}"),
                    record: String::new(),
                };
                table.reject(OnError::Fail, reject)?;
                continue;
            }
        };
        let line = record.position().map_or(record_no, |p| p.line());
        if columns.is_empty() {
            let names: Vec<String> = if options.has_header {
                record
                    .iter()
                    .enumerate()
                    .map(|(i, field)| {
                        std::str::from_utf8(field).map(str::to_string).map_err(|_| {
                            TableError::BadRow {
                                file: file.into(),
                                line,
                                column: format!(", header field {}", i + 1),
                                reason: "the header is not valid UTF-8".into(),
                            }
                        })
                    })
                    .collect::<Result<_, _>>()?
            } else {
                (1..=record.len()).map(|i| format!("column_{i}")).collect()
            };
            if names.is_empty() {
                return Err(TableError::Source {
                    source_name: file.into(),
                    reason: "the CSV header is empty".into(),
                });
            }
            let names = distinct(names);
            columns = names.iter().map(|n| table.column(n)).collect();
            if options.has_header {
                continue;
            }
        }
        let raw = || String::from_utf8_lossy(record.as_slice()).into_owned();
        if record.len() != columns.len() {
            let reason = format!("expected {} fields, found {}", columns.len(), record.len());
            table.reject(
                on_error,
                Reject {
                    file: file.into(),
                    line,
                    column: None,
                    reason,
                    record: raw(),
                },
            )?;
            continue;
        }
        let mut values = Vec::with_capacity(columns.len());
        let mut bad = None;
        for (i, field) in record.iter().enumerate() {
            let name = &table.names[columns[i]];
            if field.len() > max_field_bytes {
                bad = Some((
                    name.clone(),
                    format!(
                        "field of {} bytes is over the {max_field_bytes}-byte limit",
                        field.len()
                    ),
                ));
                break;
            }
            match std::str::from_utf8(field) {
                Ok("") => values.push((columns[i], None)),
                Ok(text) => values.push((columns[i], Some(text))),
                Err(e) => {
                    bad = Some((
                        name.clone(),
                        format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                    ));
                    break;
                }
            }
        }
        if let Some((column, reason)) = bad {
            table.reject(
                on_error,
                Reject {
                    file: file.into(),
                    line,
                    column: Some(column),
                    reason,
                    record: raw(),
                },
            )?;
            continue;
        }
        table.push(file_index, line, &values);
    }
    if columns.is_empty() {
        return Err(TableError::Source {
            source_name: file.into(),
            reason: "the CSV file is empty".into(),
        });
    }
    Ok(())
}

/// Make repeated header names distinct (`a`, `a (2)`), so no column overwrites another.
fn distinct(names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .map(|name| {
            let mut candidate = name.clone();
            let mut n = 2;
            while !seen.insert(candidate.clone()) {
                candidate = format!("{name} ({n})");
                n += 1;
            }
            candidate
        })
        .collect()
}

/// Render a JSON value as a cell: scalars as text, objects and arrays as JSON.
fn cell(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

fn line_of(bytes: &[u8], offset: usize) -> u64 {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
        + 1
}

fn push_object(
    table: &mut RawTable,
    file_index: u32,
    line: u64,
    key: Option<(&str, &str)>,
    object: &serde_json::Map<String, Value>,
) {
    let cells: Vec<(String, Option<String>)> = key
        .map(|(name, value)| (name.to_string(), Some(value.to_string())))
        .into_iter()
        .chain(object.iter().map(|(k, v)| (k.clone(), cell(v))))
        .collect();
    let indexed: Vec<(usize, Option<String>)> = cells
        .into_iter()
        .map(|(k, v)| (table.column(&k), v))
        .collect();
    let values: Vec<(usize, Option<&str>)> =
        indexed.iter().map(|(i, v)| (*i, v.as_deref())).collect();
    table.push(file_index, line, &values);
}

/// Read a JSON document: an array of objects, an object of objects (keyed rows, the key in
/// column `key`), or `{"fields": [...], "data": [[...], ...]}`.
pub(crate) fn read_json(
    table: &mut RawTable,
    file: &str,
    bytes: &[u8],
    on_error: OnError,
) -> Result<(), TableError> {
    let file_index = table.add_file(file);
    table.bytes += bytes.len() as u64;
    let syntax = |e: serde_json::Error| TableError::BadRow {
        file: file.into(),
        line: e.line() as u64,
        column: String::new(),
        reason: format!("invalid JSON: {e}"),
    };
    let document: Box<RawValue> = serde_json::from_slice(bytes).map_err(syntax)?;
    let offset =
        |raw: &RawValue| (raw.get().as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize);
    let text = document.get().trim_start();
    if text.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(document.get()).map_err(syntax)?;
        for item in items {
            let line = line_of(bytes, offset(item));
            match serde_json::from_str::<Value>(item.get()) {
                Ok(Value::Object(object)) => push_object(table, file_index, line, None, &object),
                Ok(_) | Err(_) => {
                    let reject = Reject {
                        file: file.into(),
                        line,
                        column: None,
                        reason: "array element is not a JSON object".into(),
                        record: item.get().chars().take(1000).collect(),
                    };
                    table.reject(on_error, reject)?;
                }
            }
        }
        return Ok(());
    }
    let object: serde_json::Map<String, Value> =
        serde_json::from_str(document.get()).map_err(|_| TableError::Source {
            source_name: file.into(),
            reason: "a JSON document must be an array of objects or an object".into(),
        })?;
    if let (Some(Value::Array(fields)), Some(Value::Array(data))) =
        (object.get("fields"), object.get("data"))
    {
        let names: Vec<String> = fields
            .iter()
            .map(|f| {
                f.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| f.to_string())
            })
            .collect();
        let columns: Vec<usize> = names.iter().map(|n| table.column(n)).collect();
        for (i, row) in data.iter().enumerate() {
            let row_text = || row.to_string().chars().take(1000).collect();
            match row {
                Value::Array(values) if values.len() == columns.len() => {
                    let cells: Vec<Option<String>> = values.iter().map(cell).collect();
                    let values: Vec<(usize, Option<&str>)> = columns
                        .iter()
                        .copied()
                        .zip(cells.iter().map(|c| c.as_deref()))
                        .collect();
                    table.push(file_index, i as u64 + 1, &values);
                }
                _ => {
                    let reason = format!(
                        "data row {} does not have the {} fields named in \"fields\"",
                        i + 1,
                        columns.len()
                    );
                    table.reject(
                        on_error,
                        Reject {
                            file: file.into(),
                            line: i as u64 + 1,
                            column: None,
                            reason,
                            record: row_text(),
                        },
                    )?;
                }
            }
        }
        return Ok(());
    }
    for (i, (key, value)) in object.iter().enumerate() {
        match value {
            Value::Object(row) => {
                push_object(table, file_index, i as u64 + 1, Some(("key", key)), row);
            }
            _ => {
                let reject = Reject {
                    file: file.into(),
                    line: i as u64 + 1,
                    column: None,
                    reason: format!("value of key '{key}' is not a JSON object"),
                    record: value.to_string().chars().take(1000).collect(),
                };
                table.reject(on_error, reject)?;
            }
        }
    }
    Ok(())
}

/// Read JSON lines: one object per line; blank lines are skipped.
pub(crate) fn read_jsonl(
    table: &mut RawTable,
    file: &str,
    bytes: &[u8],
    max_field_bytes: usize,
    on_error: OnError,
) -> Result<(), TableError> {
    let file_index = table.add_file(file);
    table.bytes += bytes.len() as u64;
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let problem = if line.len() > max_field_bytes {
            format!(
                "line of {} bytes is over the {max_field_bytes}-byte limit",
                line.len()
            )
        } else {
            match serde_json::from_slice::<Value>(line) {
                Ok(Value::Object(object)) => {
                    push_object(table, file_index, line_no, None, &object);
                    continue;
                }
                Ok(_) => "not a JSON object".to_string(),
                Err(e) => format!("invalid JSON: {e}"),
            }
        };
        let record = String::from_utf8_lossy(line).chars().take(1000).collect();
        let reject = Reject {
            file: file.into(),
            line: line_no,
            column: None,
            reason: problem,
            record,
        };
        table.reject(on_error, reject)?;
    }
    Ok(())
}

/// Read a plain text or markdown file as one row, or one row per paragraph.
pub(crate) fn read_text(
    table: &mut RawTable,
    file: &str,
    bytes: &[u8],
    unit: TextUnit,
) -> Result<(), TableError> {
    let file_index = table.add_file(file);
    table.bytes += bytes.len() as u64;
    let text = std::str::from_utf8(bytes).map_err(|e| TableError::BadRow {
        file: file.into(),
        line: line_of(bytes, e.valid_up_to()),
        column: String::new(),
        reason: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
    })?;
    let path = table.column("path");
    match unit {
        TextUnit::File => {
            let body = table.column("text");
            table.push(file_index, 1, &[(path, Some(file)), (body, Some(text))]);
        }
        TextUnit::Paragraph => {
            let (paragraph_col, line_col, body) = (
                table.column("paragraph"),
                table.column("line"),
                table.column("text"),
            );
            let mut paragraph = Vec::new();
            let mut start = 0u64;
            let mut count = 0u64;
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().chain(std::iter::once(&"")).enumerate() {
                if line.trim().is_empty() {
                    if !paragraph.is_empty() {
                        count += 1;
                        let joined = paragraph.join("\n");
                        let (n, l) = (count.to_string(), start.to_string());
                        table.push(
                            file_index,
                            start,
                            &[
                                (path, Some(file)),
                                (paragraph_col, Some(&n)),
                                (line_col, Some(&l)),
                                (body, Some(&joined)),
                            ],
                        );
                        paragraph.clear();
                    }
                } else {
                    if paragraph.is_empty() {
                        start = i as u64 + 1;
                    }
                    paragraph.push(*line);
                }
            }
        }
    }
    Ok(())
}

/// The value of `column` at `row`, if any.
pub(crate) fn value(column: &StringArray, row: usize) -> Option<&str> {
    (!column.is_null(row)).then(|| column.value(row))
}
