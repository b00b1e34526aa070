//! Turning Arrow record batches into corpus documents: which column is the id, how the text is
//! made (one column, or a template over several), which columns become metadata.

use std::collections::{BTreeMap, HashSet};

use arrow_array::RecordBatch;
use arrow_cast::display::{ArrayFormatter, FormatOptions};

use crate::VectordError;

/// Which columns make a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSpec {
    /// The column holding each document's unique id, or a template over several columns
    /// (`{contract}-{revision}`) when no single column is unique.
    pub id: String,
    /// A column name, or a template such as `{work_type}: {description}` (`{{`/`}}` for braces).
    pub text: String,
    /// Columns copied into each document's metadata (filterable).
    pub meta: Vec<String>,
}

/// One source row, ready to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    /// Unique id.
    pub id: String,
    /// Text to embed and index.
    pub text: String,
    /// Metadata.
    pub meta: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Column(String),
}

fn parse_text(text: &str) -> Result<Vec<Part>, VectordError> {
    if !text.contains(['{', '}']) {
        return Ok(vec![Part::Column(text.to_string())]);
    }
    let bad = |why: &str| VectordError::InvalidInput(format!("text template {text:?}: {why}"));
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => return Err(bad("unclosed `{`")),
                        Some(c) => name.push(c),
                    }
                }
                let name = name.trim();
                if name.is_empty() {
                    return Err(bad("empty `{}`"));
                }
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Column(name.to_string()));
            }
            '}' => return Err(bad("`}` without `{` (write `}}` for a brace)")),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    if !parts.iter().any(|p| matches!(p, Part::Column(_))) {
        return Err(bad("names no column"));
    }
    Ok(parts)
}

/// Read documents out of `batches`. Rows whose text is empty are skipped and counted; a missing
/// column, an empty id or a duplicate id is an error naming it.
pub fn rows_from_batches(
    batches: &[RecordBatch],
    spec: &RowSpec,
) -> Result<(Vec<SourceRow>, usize), VectordError> {
    let parts = parse_text(&spec.text)?;
    let id_parts = parse_text(&spec.id)?;
    let Some(first) = batches.first() else {
        return Ok((Vec::new(), 0));
    };
    let schema = first.schema();
    let mut needed: Vec<&str> = Vec::new();
    needed.extend(parts.iter().chain(&id_parts).filter_map(|p| match p {
        Part::Column(c) => Some(c.as_str()),
        Part::Literal(_) => None,
    }));
    needed.extend(spec.meta.iter().map(String::as_str));
    for name in &needed {
        if schema.index_of(name).is_err() {
            let known: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(VectordError::InvalidInput(format!(
                "no column {name:?}; the dataset has: {}",
                known.join(", ")
            )));
        }
    }
    let options = FormatOptions::default();
    let mut rows = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut skipped = 0;
    let mut row_number = 0usize;
    for batch in batches {
        let formatter = |name: &str| -> Result<ArrayFormatter<'_>, VectordError> {
            let column = batch.column_by_name(name).ok_or_else(|| {
                VectordError::InvalidInput(format!("no column {name:?} in a later batch"))
            })?;
            Ok(ArrayFormatter::try_new(column.as_ref(), &options)?)
        };
        let columns_of = |parts: &[Part]| -> Result<Vec<Option<ArrayFormatter<'_>>>, VectordError> {
            parts
                .iter()
                .map(|p| match p {
                    Part::Column(c) => formatter(c).map(Some),
                    Part::Literal(_) => Ok(None),
                })
                .collect()
        };
        let id_cols = columns_of(&id_parts)?;
        let text_cols = columns_of(&parts)?;
        let meta_cols: Vec<(&String, ArrayFormatter<'_>)> = spec
            .meta
            .iter()
            .map(|m| formatter(m).map(|f| (m, f)))
            .collect::<Result<_, _>>()?;
        for i in 0..batch.num_rows() {
            row_number += 1;
            let (id, _) = render(&id_parts, &id_cols, i);
            if id.trim().is_empty() {
                return Err(VectordError::InvalidInput(format!(
                    "row {row_number}: empty id in column {:?}",
                    spec.id
                )));
            }
            let (text, any) = render(&parts, &text_cols, i);
            if !any {
                skipped += 1;
                continue;
            }
            if !seen.insert(id.clone()) {
                return Err(VectordError::InvalidInput(format!(
                    "row {row_number}: duplicate id {id:?} in column {:?}; choose a column with unique values for --id",
                    spec.id
                )));
            }
            let meta = meta_cols
                .iter()
                .map(|(name, f)| ((*name).clone(), f.value(i).to_string()))
                .collect();
            rows.push(SourceRow {
                id,
                text: text.trim().to_string(),
                meta,
            });
        }
    }
    Ok((rows, skipped))
}

/// Fill a template for row `i`; also says whether any column had a non-blank value.
fn render(parts: &[Part], columns: &[Option<ArrayFormatter<'_>>], i: usize) -> (String, bool) {
    let mut out = String::new();
    let mut any = false;
    for (part, col) in parts.iter().zip(columns) {
        match (part, col) {
            (Part::Literal(l), _) => out.push_str(l),
            (Part::Column(_), Some(f)) => {
                let v = f.value(i).to_string();
                any |= !v.trim().is_empty();
                out.push_str(&v);
            }
            (Part::Column(_), None) => {}
        }
    }
    (out, any)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};

    use super::*;

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            (
                "kind",
                Arc::new(StringArray::from(vec![Some("ROOF"), Some("PORCH"), None])) as ArrayRef,
            ),
            (
                "desc",
                Arc::new(StringArray::from(vec![
                    Some("new roof"),
                    Some("stairs"),
                    Some(""),
                ])) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    fn spec(text: &str) -> RowSpec {
        RowSpec {
            id: "id".into(),
            text: text.into(),
            meta: vec!["kind".into()],
        }
    }

    #[test]
    fn column_and_template_text() {
        let (rows, skipped) = rows_from_batches(&[batch()], &spec("desc")).unwrap();
        assert_eq!(skipped, 1, "the empty description is skipped");
        assert_eq!(rows[0].id, "1");
        assert_eq!(rows[0].text, "new roof");
        assert_eq!(rows[0].meta["kind"], "ROOF");
        let (rows, _) = rows_from_batches(&[batch()], &spec("{kind}: {desc} {{x}}")).unwrap();
        assert_eq!(rows[1].text, "PORCH: stairs {x}");
        let templated_id = RowSpec {
            id: "{kind}-{id}".into(),
            ..spec("desc")
        };
        let (rows, _) = rows_from_batches(&[batch()], &templated_id).unwrap();
        assert_eq!(rows[1].id, "PORCH-2");
    }

    #[test]
    fn bad_specs_name_the_problem() {
        let err = rows_from_batches(&[batch()], &spec("nope")).unwrap_err();
        assert!(
            err.to_string()
                .contains("no column \"nope\"; the dataset has: id, kind, desc"),
            "{err}"
        );
        for t in ["{desc", "{}", "a } b", "{{literal}}"] {
            assert!(rows_from_batches(&[batch()], &spec(t)).is_err(), "{t}");
        }
        let dup = RowSpec {
            id: "kind".into(),
            text: "desc".into(),
            meta: vec![],
        };
        let twice = [batch(), batch()];
        let err = rows_from_batches(
            &twice,
            &RowSpec {
                id: "id".into(),
                ..dup
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("duplicate id \"1\""), "{err}");
    }
}
