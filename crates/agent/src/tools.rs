//! The tools the agent may call, and the [`Workspace`] they act on: matrix search over the
//! corpora, read-only SQL over the datasets, fetching one record, searching playbook memory,
//! the scratchpad, and the final answer (handled by the loop).
//!
//! A tool never fails the run: errors come back to the model as the tool's result. Every
//! record id a tool shows the model is remembered for the observer (an answer may only cite
//! what was seen), and results are capped so one call cannot flood the context.

use std::collections::BTreeSet;
use std::sync::Arc;

use lakehouse_memory::{Memory, MemoryQuery};
use lakehouse_models::ToolSpec;
use lakehouse_table::{OutputFormat, SqlOptions, Tables, write_batches};
use lakehouse_vectord::{Corpora, SearchRequest};
use serde_json::{Value, json};

/// Matrix search.
pub const SEARCH: &str = "search";
/// Read-only SQL.
pub const SQL: &str = "sql";
/// One corpus record by id.
pub const GET_RECORD: &str = "get_record";
/// Playbook memory search.
pub const MEMORY_SEARCH: &str = "memory_search";
/// Read the scratchpad.
pub const SCRATCHPAD_READ: &str = "scratchpad_read";
/// Append to the scratchpad.
pub const SCRATCHPAD_WRITE: &str = "scratchpad_write";
/// The answer, with citations.
pub const FINAL_ANSWER: &str = "final_answer";

/// Rows an SQL result shows the model.
const SQL_ROWS: usize = 50;
/// What one SQL call of the model may use: a query written by a model can be a cross join.
const SQL_MEMORY_BYTES: usize = 256 << 20;
/// How long one SQL call of the model may run.
const SQL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Characters of one tool result the model sees.
const RESULT_CHARS: usize = 8000;

/// What the tools act on.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The datasets (SQL).
    pub tables: Tables,
    /// The corpora (search, get_record).
    pub corpora: Arc<Corpora>,
    /// Playbook memory (memory_search, sealing, preambles).
    pub memory: Arc<Memory>,
}

/// The tools offered to the model, with their argument schemas.
pub fn tool_specs() -> Vec<ToolSpec> {
    let spec = |name: &str, description: &str, parameters: Value| ToolSpec {
        name: name.into(),
        description: description.into(),
        parameters,
    };
    vec![
        spec(
            SEARCH,
            "Search documents across corpora (hybrid vector + BM25, fused). Returns hits with ids \
             like `corpus:id`, snippets and metadata. Omit `corpora` to search all of them.",
            json!({"type": "object", "properties": {
                "query": {"type": "string", "minLength": 1},
                "corpora": {"type": "array", "items": {"type": "string"}},
                "k": {"type": "integer", "minimum": 1, "maximum": 20}},
                "required": ["query"], "additionalProperties": false}),
        ),
        spec(
            SQL,
            "Run one read-only SQL query (DataFusion dialect) over the datasets; each dataset is a \
             table of the same name. Returns at most 50 rows as JSON.",
            json!({"type": "object", "properties": {"query": {"type": "string", "minLength": 1}},
                "required": ["query"], "additionalProperties": false}),
        ),
        spec(
            GET_RECORD,
            "Fetch one document by its id (`corpus:id`, as search returns it): full text and metadata.",
            json!({"type": "object", "properties": {"id": {"type": "string", "minLength": 3}},
                "required": ["id"], "additionalProperties": false}),
        ),
        spec(
            MEMORY_SEARCH,
            "Search playbooks and pathways that worked before for similar tasks.",
            json!({"type": "object", "properties": {
                "query": {"type": "string", "minLength": 1},
                "k": {"type": "integer", "minimum": 1, "maximum": 10}},
                "required": ["query"], "additionalProperties": false}),
        ),
        spec(
            SCRATCHPAD_READ,
            "Read your notes from this session.",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
        ),
        spec(
            SCRATCHPAD_WRITE,
            "Add a note to your scratchpad (kept for this session).",
            json!({"type": "object", "properties": {"note": {"type": "string", "minLength": 1}},
                "required": ["note"], "additionalProperties": false}),
        ),
        spec(
            FINAL_ANSWER,
            "Give the final answer. Cite the ids (`corpus:id`) of the records it rests on; every \
             number must come from a tool result. A reviewer checks it before it is accepted.",
            json!({"type": "object", "properties": {
                "answer": {"type": "string", "minLength": 1},
                "citations": {"type": "array", "items": {"type": "string"}}},
                "required": ["answer", "citations"], "additionalProperties": false}),
        ),
    ]
}

/// The result of one tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// False when the tool failed (the content says why).
    pub ok: bool,
    /// What the model sees (JSON text).
    pub content: String,
    /// Record ids the result showed.
    pub seen: Vec<String>,
}

impl ToolResult {
    fn ok(value: &Value, seen: Vec<String>) -> Self {
        let mut content = value.to_string();
        if content.len() > RESULT_CHARS {
            let cut = (0..=RESULT_CHARS)
                .rev()
                .find(|i| content.is_char_boundary(*i))
                .unwrap_or(0);
            content.truncate(cut);
            content.push_str("… (truncated)");
        }
        Self {
            ok: true,
            content,
            seen,
        }
    }

    pub(crate) fn error(message: impl std::fmt::Display) -> Self {
        Self {
            ok: false,
            content: json!({ "error": message.to_string() }).to_string(),
            seen: Vec::new(),
        }
    }
}

/// The session's notes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scratchpad {
    /// Notes in the order written.
    pub notes: Vec<String>,
}

fn str_arg<'a>(args: &'a Value, name: &str) -> &'a str {
    args[name].as_str().unwrap_or_default()
}

impl Workspace {
    /// Run tool `name` with (already validated) `args`.
    pub(crate) async fn call(&self, name: &str, args: &Value, pad: &mut Scratchpad) -> ToolResult {
        match name {
            SEARCH => self.search(args).await,
            SQL => self.sql(str_arg(args, "query")).await,
            GET_RECORD => self.get_record(str_arg(args, "id")).await,
            MEMORY_SEARCH => self.memory_search(args).await,
            SCRATCHPAD_READ => ToolResult::ok(&json!({ "notes": pad.notes }), Vec::new()),
            SCRATCHPAD_WRITE => {
                pad.notes.push(str_arg(args, "note").to_string());
                ToolResult::ok(&json!({ "notes": pad.notes.len() }), Vec::new())
            }
            other => ToolResult::error(format!("{other} is not a tool this workspace runs")),
        }
    }

    async fn search(&self, args: &Value) -> ToolResult {
        let corpora: Vec<String> = match args["corpora"].as_array() {
            Some(list) if !list.is_empty() => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => match self.corpora.names().await {
                Ok(names) => names,
                Err(e) => return ToolResult::error(e),
            },
        };
        if corpora.is_empty() {
            return ToolResult::error(
                "there are no corpora to search; build one with `lakehouse corpus build`",
            );
        }
        let mut request = SearchRequest::new(str_arg(args, "query"), corpora);
        request.k = args["k"].as_u64().map_or(5, |k| k as usize);
        match self.corpora.search(&request).await {
            Ok(response) => {
                let hits: Vec<Value> = response
                    .hits
                    .iter()
                    .map(|h| {
                        json!({"id": format!("{}:{}", h.corpus, h.id), "corpus": h.corpus,
                            "score": (h.score * 1e4).round() / 1e4, "snippet": h.snippet, "metadata": h.metadata})
                    })
                    .collect();
                let failed: Vec<Value> = response
                    .corpora
                    .iter()
                    .filter_map(|c| {
                        c.error
                            .as_ref()
                            .map(|e| json!({"corpus": c.corpus, "error": e}))
                    })
                    .collect();
                let seen = response
                    .hits
                    .iter()
                    .map(|h| format!("{}:{}", h.corpus, h.id))
                    .collect();
                ToolResult::ok(&json!({ "hits": hits, "failed_corpora": failed }), seen)
            }
            Err(e) => ToolResult::error(e),
        }
    }

    async fn sql(&self, query: &str) -> ToolResult {
        let options = SqlOptions {
            limit: Some(SQL_ROWS + 1),
            memory_limit: Some(SQL_MEMORY_BYTES),
            timeout: Some(SQL_TIMEOUT),
            ..SqlOptions::default()
        };
        let batches = match self.tables.sql_collect(query, &options).await {
            Ok(b) => b,
            Err(e) => return ToolResult::error(e),
        };
        let mut out = Vec::new();
        if let Err(e) = write_batches(&batches, OutputFormat::JsonLines, &mut out) {
            return ToolResult::error(e);
        }
        let mut rows: Vec<Value> = String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let truncated = rows.len() > SQL_ROWS;
        rows.truncate(SQL_ROWS);
        ToolResult::ok(&json!({ "rows": rows, "truncated": truncated }), Vec::new())
    }

    async fn get_record(&self, id: &str) -> ToolResult {
        let Some((corpus, doc_id)) = id.split_once(':') else {
            return ToolResult::error(format!("id {id:?} is not `corpus:id`"));
        };
        let view = match self.corpora.open(corpus).await {
            Ok(v) => v,
            Err(e) => return ToolResult::error(e),
        };
        match view.live_docs().find(|(_, d)| d.id == doc_id) {
            Some((_, doc)) => ToolResult::ok(
                &json!({"id": id, "text": doc.text, "metadata": doc.meta}),
                vec![id.to_string()],
            ),
            None => ToolResult::error(format!("corpus {corpus} has no record {doc_id:?}")),
        }
    }

    async fn memory_search(&self, args: &Value) -> ToolResult {
        let k = args["k"].as_u64().map_or(3, |k| k as usize);
        let query = MemoryQuery::new(str_arg(args, "query")).with_k(k);
        match self.memory.search(&query).await {
            Ok(hits) => {
                let found: Vec<Value> = hits
                    .iter()
                    .map(|h| {
                        json!({"id": format!("memory:{}", h.record.id), "kind": h.record.draft.kind,
                            "content": h.record.draft.content, "steps": h.record.draft.steps,
                            "replay_count": h.record.replay_count})
                    })
                    .collect();
                let seen = hits
                    .iter()
                    .map(|h| format!("memory:{}", h.record.id))
                    .collect();
                ToolResult::ok(&json!({ "records": found }), seen)
            }
            Err(e) => ToolResult::error(e),
        }
    }
}

/// Every number in a text, for tracing an answer's numbers to tool output. Thousands
/// separators are dropped (`12,500` → `12500`) only where a comma is followed by exactly three
/// digits, so a list like `[2019,2020]` stays two numbers.
pub(crate) fn numbers_in(text: &str) -> BTreeSet<String> {
    let chars: Vec<char> = text.chars().collect();
    let digits_at = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        if !digits_at(i) || (i > 0 && (digits_at(i - 1) || chars[i - 1] == '.')) {
            i += 1;
            continue;
        }
        let mut number = String::new();
        while digits_at(i) {
            number.push(chars[i]);
            i += 1;
        }
        // ,ddd groups
        while chars.get(i) == Some(&',') && (1..=3).all(|k| digits_at(i + k)) && !digits_at(i + 4) {
            number.extend(&chars[i + 1..i + 4]);
            i += 4;
        }
        if chars.get(i) == Some(&'.') && digits_at(i + 1) {
            number.push('.');
            i += 1;
            while digits_at(i) {
                number.push(chars[i]);
                i += 1;
            }
        }
        out.insert(number);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_lists_apart_and_join_thousands() {
        let found: Vec<String> = numbers_in("[2019,2020] cost 12,500.50 of 1,2 and 3.5")
            .into_iter()
            .collect();
        assert_eq!(found, ["1", "12500.50", "2", "2019", "2020", "3.5"]);
    }
}
