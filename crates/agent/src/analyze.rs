//! Batch analysis (the seed's `analyze_chicago_contracts`): a model run over every row of a
//! dataset with a prompt template and a JSON schema for its answer, concurrently, written as a
//! new dataset — resumable, because results are committed in chunks and rows already in the
//! output are skipped on the next run.
//!
//! The prompt file (YAML):
//!
//! ```yaml
//! prompt: |
//!   Contract: {purchase_order_description} (vendor {vendor_name}).
//!   Classify it.
//! schema:
//!   type: object
//!   properties:
//!     category: {type: string, enum: [construction, services, supplies, other]}
//!     confidence: {type: number, minimum: 0, maximum: 1}
//!   required: [category, confidence]
//! ```
//!
//! `{column}` is replaced by the row's value. The model is asked for a JSON object; an answer
//! that is not JSON or breaks the schema is sent back once with the errors, then recorded as
//! that row's `error`. A row the model could not answer at all (server down, timeout) is not
//! written, so the next run tries it again. The output has `id`, one column per schema property (string, integer,
//! number, boolean; anything else as JSON text), `model`, `error` and `analyzed_at`.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::StreamExt;
use lakehouse_models::chat::validate_arguments;
use lakehouse_models::{ChatModel, ChatRequest, Message};
use lakehouse_table::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use lakehouse_table::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use lakehouse_table::{OutputFormat, SqlOptions, TableError, Tables, write_batches};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AgentError;

/// Output columns the schema's properties may not be named.
const RESERVED: [&str; 4] = ["id", "model", "error", "analyzed_at"];

/// A prompt file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PromptFile {
    /// The template; `{column}` is replaced by the row's value.
    pub prompt: String,
    /// The JSON schema of the answer (an object schema).
    pub schema: Value,
}

impl PromptFile {
    /// Parse and check a prompt file, naming what is wrong.
    pub fn parse(text: &str) -> Result<PromptFile, AgentError> {
        let file: PromptFile = yaml_serde::from_str(text)
            .map_err(|e| AgentError::InvalidTask(format!("prompt file: {e}")))?;
        if file.prompt.trim().is_empty() {
            return Err(AgentError::InvalidTask(
                "prompt file: the prompt is empty".into(),
            ));
        }
        if file.schema["type"] != "object" || !file.schema["properties"].is_object() {
            return Err(AgentError::InvalidTask(
                "prompt file: schema must be an object schema with properties".into(),
            ));
        }
        if let Some(name) = file.schema["properties"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.keys())
            .find(|k| RESERVED.contains(&k.as_str()))
        {
            return Err(AgentError::InvalidTask(format!(
                "prompt file: schema property {name:?} clashes with an output column ({})",
                RESERVED.join(", ")
            )));
        }
        Ok(file)
    }

    fn properties(&self) -> Vec<(String, DataType)> {
        self.schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, spec)| {
                let ty = match spec["type"].as_str() {
                    Some("string") => DataType::Utf8,
                    Some("integer") => DataType::Int64,
                    Some("number") => DataType::Float64,
                    Some("boolean") => DataType::Boolean,
                    _ => DataType::Utf8,
                };
                (name.clone(), ty)
            })
            .collect()
    }
}

/// What to analyze.
#[derive(Debug, Clone)]
pub struct AnalyzeSpec {
    /// The dataset read.
    pub dataset: String,
    /// The column that identifies a row (kept as `id` in the output).
    pub id_column: String,
    /// The dataset written.
    pub output: String,
    /// At most this many rows of the input.
    pub limit: Option<usize>,
    /// Model calls in flight at once.
    pub concurrency: usize,
    /// Rows per commit to the output.
    pub chunk: usize,
}

/// What a batch analysis did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnalyzeReport {
    /// Input rows considered.
    pub rows: usize,
    /// Rows already in the output (from an earlier, interrupted run), skipped.
    pub skipped: usize,
    /// Rows analyzed now.
    pub analyzed: usize,
    /// Of those, rows whose answer broke the schema twice (written with `error`).
    pub failed: usize,
    /// Rows the model could not answer at all (server errors, timeouts): not written, so the
    /// next run tries them again.
    pub unanswered: usize,
    /// Tokens spent.
    pub tokens: u64,
}

fn render(template: &str, row: &serde_json::Map<String, Value>) -> String {
    let mut out = template.to_string();
    for (column, value) in row {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        out = out.replace(&format!("{{{column}}}"), &text);
    }
    out
}

async fn rows_of(
    tables: &Tables,
    query: &str,
) -> Result<Vec<serde_json::Map<String, Value>>, TableError> {
    let batches = tables.sql_collect(query, &SqlOptions::default()).await?;
    let mut out = Vec::new();
    write_batches(&batches, OutputFormat::JsonLines, &mut out)?;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Map<String, Value>>(l).ok())
        .collect())
}

/// Why a row has no answer.
enum Failure {
    /// The model could not be reached or failed: try again later.
    Model(String),
    /// The model answered, but not with JSON that fits the schema.
    Answer(String),
}

/// One row's answer (the object, or why there is none) and the tokens it cost.
type Answer = (Result<Value, Failure>, u64);

/// Ask for one row's answer, once more with the errors if the first breaks the schema.
async fn ask(model: &dyn ChatModel, prompt: &PromptFile, text: String) -> Answer {
    let system = format!(
        "Answer with one JSON object that fits this JSON schema, and nothing else:\n{}",
        prompt.schema
    );
    let mut messages = vec![Message::system(system), Message::user(text)];
    let mut tokens = 0;
    let mut last_error = String::new();
    for _attempt in 0..2 {
        let request = ChatRequest {
            messages: messages.clone(),
            json: true,
            temperature: Some(0.0),
            ..ChatRequest::default()
        };
        let response = match model.chat(&request).await {
            Ok(r) => r,
            Err(e) => return (Err(Failure::Model(e.to_string())), tokens),
        };
        tokens += response.usage.total();
        let content = response.message.content.trim().to_string();
        let body = content
            .strip_prefix("```json")
            .or_else(|| content.strip_prefix("```"))
            .map_or(content.as_str(), |t| t.trim_end_matches("```").trim());
        match serde_json::from_str::<Value>(body) {
            Ok(value) => {
                let errors = validate_arguments(&prompt.schema, &value);
                if errors.is_empty() {
                    return (Ok(value), tokens);
                }
                last_error = format!("answer breaks the schema: {}", errors.join("; "));
            }
            Err(e) => {
                last_error = format!(
                    "answer is not JSON ({e}): {}",
                    body.chars().take(100).collect::<String>()
                );
            }
        }
        messages.push(Message::assistant(content.clone()));
        messages.push(Message::user(format!(
            "{last_error}. Answer again with only the JSON object."
        )));
    }
    (Err(Failure::Answer(last_error)), tokens)
}

fn batch(
    prompt: &PromptFile,
    model: &str,
    results: &[(String, Result<Value, String>)],
) -> Result<RecordBatch, AgentError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    let properties = prompt.properties();
    let mut fields = vec![Field::new("id", DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
        results.iter().map(|(id, _)| id.as_str()),
    ))];
    for (name, ty) in &properties {
        fields.push(Field::new(name, ty.clone(), true));
        let values = results
            .iter()
            .map(|(_, r)| r.as_ref().ok().map(|v| &v[name]).filter(|v| !v.is_null()));
        let column: ArrayRef = match ty {
            DataType::Int64 => Arc::new(Int64Array::from_iter(
                values.map(|v| v.and_then(Value::as_i64)),
            )),
            DataType::Float64 => Arc::new(Float64Array::from_iter(
                values.map(|v| v.and_then(Value::as_f64)),
            )),
            DataType::Boolean => Arc::new(BooleanArray::from_iter(
                values.map(|v| v.and_then(Value::as_bool)),
            )),
            _ => Arc::new(StringArray::from_iter(values.map(|v| {
                v.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            }))),
        };
        columns.push(column);
    }
    fields.push(Field::new("model", DataType::Utf8, false));
    columns.push(Arc::new(StringArray::from_iter_values(
        results.iter().map(|_| model),
    )));
    fields.push(Field::new("error", DataType::Utf8, true));
    columns.push(Arc::new(StringArray::from_iter(
        results
            .iter()
            .map(|(_, r)| r.as_ref().err().map(String::as_str)),
    )));
    fields.push(Field::new(
        "analyzed_at",
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        false,
    ));
    columns.push(Arc::new(
        TimestampMicrosecondArray::from(vec![now; results.len()]).with_timezone("UTC"),
    ));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| AgentError::InvalidTask(format!("cannot build the output rows: {e}")))
}

/// Run `model` over the rows of `spec.dataset`; see the module docs. `progress` is called with
/// the number of rows finished so far.
pub async fn analyze(
    tables: &Tables,
    model: Arc<dyn ChatModel>,
    prompt: &PromptFile,
    spec: &AnalyzeSpec,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<AnalyzeReport, AgentError> {
    let table_error = |e: TableError| AgentError::InvalidTask(e.to_string());
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let mut query = format!("SELECT * FROM {}", quote(&spec.dataset));
    if let Some(limit) = spec.limit {
        query.push_str(&format!(" LIMIT {limit}"));
    }
    let rows = rows_of(tables, &query).await.map_err(table_error)?;
    if let Some(first) = rows.first()
        && !first.contains_key(&spec.id_column)
    {
        return Err(AgentError::InvalidTask(format!(
            "dataset {} has no column {:?} (columns: {})",
            spec.dataset,
            spec.id_column,
            first.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let done: BTreeSet<String> = if tables.exists(&spec.output).await.map_err(table_error)? {
        rows_of(tables, &format!("SELECT id FROM {}", quote(&spec.output)))
            .await
            .map_err(table_error)?
            .into_iter()
            .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
            .collect()
    } else {
        BTreeSet::new()
    };
    let id_of = |row: &serde_json::Map<String, Value>| match row.get(&spec.id_column) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let mut report = AnalyzeReport {
        rows: rows.len(),
        ..AnalyzeReport::default()
    };
    let mut seen = BTreeSet::new();
    let todo: Vec<(String, String)> = rows
        .iter()
        .filter_map(|row| {
            let id = id_of(row);
            if done.contains(&id) || !seen.insert(id.clone()) {
                report.skipped += 1;
                return None;
            }
            Some((id, render(&prompt.prompt, row)))
        })
        .collect();
    let total = todo.len();
    for chunk in todo.chunks(spec.chunk.max(1)) {
        let answers: Vec<(String, Answer)> = futures::stream::iter(chunk.iter().cloned())
            .map(|(id, text)| {
                let model = Arc::clone(&model);
                async move { (id, ask(model.as_ref(), prompt, text).await) }
            })
            .buffered(spec.concurrency.max(1))
            .collect()
            .await;
        let mut results: Vec<(String, Result<Value, String>)> = Vec::with_capacity(answers.len());
        for (id, (result, tokens)) in answers {
            report.tokens += tokens;
            match result {
                Ok(value) => results.push((id, Ok(value))),
                Err(Failure::Answer(why)) => {
                    report.failed += 1;
                    results.push((id, Err(why)));
                }
                Err(Failure::Model(why)) => {
                    report.unanswered += 1;
                    tracing::warn!("row {id}: the model failed, left for the next run: {why}");
                }
            }
        }
        report.analyzed += results.len();
        if results.is_empty() {
            continue;
        }
        let rows = batch(prompt, model.id(), &results)?;
        tables
            .append(&spec.output, rows)
            .await
            .map_err(table_error)?;
        progress(report.analyzed + report.unanswered, total);
    }
    Ok(report)
}
