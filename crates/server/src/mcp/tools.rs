//! The MCP tools: each one's name, description, input schema and hints, and the call that runs
//! it. A call parses its arguments into the same body or query type as the matching HTTP route
//! and calls that route's handler, so the two can never disagree; only the argument shape is
//! MCP's own (an `id` beside the other fields instead of in the path, a flat draft for
//! `memory_add` and `memory_revise`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use rmcp::model::{JsonObject, Tool, ToolAnnotations, object};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{Body, Caller, Params, PathParams, from_value};
use crate::routes::{agent, corpora, datasets, jobs, memory, search, sql};
use crate::state::AppState;

/// Every tool, as `tools/list` answers.
pub(crate) fn list(namespace: &str) -> Vec<Tool> {
    let ns = namespace_property(namespace);
    let read = || ToolAnnotations::new().read_only(true).open_world(false);
    let write = || {
        ToolAnnotations::new()
            .read_only(false)
            .destructive(false)
            .open_world(false)
    };
    vec![
        tool(
            "search",
            "Search one or more corpora (indexed document collections; see list_corpora) with one \
             query and get fused hits, best first. Each hit names its corpus, document id, text and \
             scores. Use it to find passages by meaning (vector) and by words (BM25). A corpus that \
             is missing is reported under `corpora` while the others still answer.",
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What to look for, in words."},
                    "corpora": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                        "description": "Corpus names to search (from list_corpora)."},
                    "k": {"type": "integer", "minimum": 1, "description": "Hits to return (default 10)."},
                    "mode": {"type": "string", "enum": ["hybrid", "vector", "bm25"],
                        "description": "hybrid (default) fuses vector and BM25 hits."},
                    "filters": {"type": "array",
                        "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
                        "description": "Metadata filters as [column, value] pairs; every one must match exactly."}
                },
                "required": ["query", "corpora"],
                "additionalProperties": false
            }),
            read(),
        ),
        tool(
            "sql",
            "Run one read-only SQL query (DataFusion dialect) over the datasets; each dataset is a \
             table by its name (see list_datasets, describe_dataset for columns). Returns columns, \
             rows and whether the row cap cut the answer. Writes are refused.",
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "One SELECT / WITH … SELECT / VALUES / EXPLAIN statement."},
                    "max_rows": {"type": "integer", "minimum": 0, "description": "Return at most this many rows (the server caps it too)."},
                    "as_of_version": {"type": "integer", "minimum": 0, "description": "Read every table as of this Delta version."}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
            read(),
        ),
        tool(
            "list_datasets",
            "List the datasets (Delta tables) you may query with `sql`: name, version, rows, files, \
             bytes and columns.",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
            read(),
        ),
        tool(
            "describe_dataset",
            "Describe one dataset: its columns with types and original names, rows, version.",
            json!({
                "type": "object",
                "properties": {"name": {"type": "string", "description": "The dataset (from list_datasets)."}},
                "required": ["name"],
                "additionalProperties": false
            }),
            read(),
        ),
        tool(
            "list_corpora",
            "List the corpora you may `search`: name, documents, embedder, segments, source dataset.",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
            read(),
        ),
        tool(
            "memory_add",
            "Remember something (UPSERT). A `fact` (the default) is a statement about a user, an \
             agent or the world; a `pathway` is a task with the steps (tool calls) that did it; a \
             `playbook` is a reusable procedure. Adding what is already remembered counts a replay \
             instead of writing a duplicate. Returns the action (added or updated) and the record \
             with its id.",
            json!({
                "type": "object",
                "properties": {
                    "content": {"type": "string", "description": "The fact, task or procedure, in words. Searched; must not be empty."},
                    "kind": {"type": "string", "enum": ["fact", "pathway", "playbook"], "description": "Default fact."},
                    "steps": {"type": "array", "description": "Tool calls, in order (pathways and playbooks).",
                        "items": {"type": "object", "properties": {
                            "tool": {"type": "string"}, "args": {"type": "object"}, "note": {"type": "string"}},
                            "required": ["tool"]}},
                    "outcome": {"type": "string", "description": "How it ended, or what it achieves."},
                    "variables": {"type": "array", "items": {"type": "string"}, "description": "Playbook variables: the {name} placeholders in its steps."},
                    "metadata": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "key → value pairs to filter on later (memory_search filters)."},
                    "sessions": {"type": "array", "items": {"type": "string"}, "description": "The sessions it came from."},
                    "namespace": ns
                },
                "required": ["content"],
                "additionalProperties": false
            }),
            write(),
        ),
        tool(
            "memory_search",
            "Search remembered records by meaning and words; live records only, best first, with \
             scores. Use before answering to recall facts and past workflows.",
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What to recall."},
                    "k": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Hits (default 10)."},
                    "kind": {"type": "string", "enum": ["fact", "pathway", "playbook"]},
                    "filters": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "Metadata that must match exactly."},
                    "as_of": {"type": "string", "description": "Search as memory was at this time (RFC 3339)."},
                    "namespace": ns
                },
                "required": ["query"],
                "additionalProperties": false
            }),
            read(),
        ),
        tool(
            "memory_get",
            "Read one record by id, whatever its state (live, superseded or retired).",
            json!({
                "type": "object",
                "properties": {"id": id_property(), "namespace": ns},
                "required": ["id"],
                "additionalProperties": false
            }),
            read(),
        ),
        tool(
            "memory_list",
            "List records, oldest first: by kind, by state (live by default) and by one metadata \
             filter.",
            json!({
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["fact", "pathway", "playbook"]},
                    "state": {"type": "string", "enum": ["live", "superseded", "retired", "all"], "description": "Default live."},
                    "filter": {"type": "string", "description": "One metadata filter, key=value."},
                    "limit": {"type": "integer", "minimum": 0, "description": "At most this many records."},
                    "namespace": ns
                },
                "additionalProperties": false
            }),
            read(),
        ),
        tool(
            "memory_history",
            "The versions of a record, root to tip: each revision, and retirement with its reason.",
            json!({
                "type": "object",
                "properties": {
                    "id": id_property(),
                    "as_of": {"type": "string", "description": "The chain as it was at this time (RFC 3339)."},
                    "namespace": ns
                },
                "required": ["id"],
                "additionalProperties": false
            }),
            read(),
        ),
        tool(
            "memory_revise",
            "Correct a record (REVISE): write a new version with the fields given; the others are \
             kept. The old version stays in history. Only the latest version of a live record can \
             be revised; the error names the latest when you give an older one.",
            json!({
                "type": "object",
                "properties": {
                    "id": id_property(),
                    "content": {"type": "string", "description": "The new text."},
                    "kind": {"type": "string", "enum": ["fact", "pathway", "playbook"]},
                    "steps": {"type": "array", "items": {"type": "object"}},
                    "outcome": {"type": ["string", "null"], "description": "null clears it."},
                    "variables": {"type": "array", "items": {"type": "string"}},
                    "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                    "sessions": {"type": "array", "items": {"type": "string"}},
                    "expected_version": {"type": "integer", "minimum": 1,
                        "description": "Refuse unless the record is at this version (guards against lost updates)."},
                    "namespace": ns
                },
                "required": ["id"],
                "additionalProperties": false
            }),
            write(),
        ),
        tool(
            "memory_retire",
            "Forget a record (RETIRE): it leaves search and listings but stays in history with the \
             reason.",
            json!({
                "type": "object",
                "properties": {
                    "id": id_property(),
                    "reason": {"type": "string", "description": "Why; recorded and shown in history."},
                    "actor": {"type": "string", "description": "Who retires it."},
                    "chain": {"type": "boolean", "description": "Retire every version of its chain (default false)."},
                    "namespace": ns
                },
                "required": ["id", "reason"],
                "additionalProperties": false
            }),
            ToolAnnotations::new()
                .read_only(false)
                .destructive(true)
                .open_world(false),
        ),
        tool(
            "memory_record_outcome",
            "Record whether replaying a remembered pathway or playbook worked; records that work \
             rank higher in memory_search.",
            json!({
                "type": "object",
                "properties": {
                    "id": id_property(),
                    "success": {"type": "boolean"},
                    "session": {"type": "string", "description": "The session it happened in."},
                    "namespace": ns
                },
                "required": ["id", "success"],
                "additionalProperties": false
            }),
            write(),
        ),
        tool(
            "agent_run",
            "Hand a task to Lakehouse's own agent loop: it plans tool calls over the datasets, \
             corpora and playbook memory, an observer reviews the answer, and an accepted run is \
             sealed as a playbook. Waits for the run; returns its report (answer, verdict, steps, \
             session id).",
            json!({
                "type": "object",
                "properties": {
                    "task": {"type": "string", "description": "The task, in words."},
                    "model": {"type": "string", "description": "offline (default, rule-based), ollama:MODEL[@URL] or openai:MODEL[@URL]."},
                    "reviewer": {"type": "string", "description": "heuristic (default) or a model spec for an LLM reviewer."},
                    "namespace": {"type": "string", "description": "The playbook namespace (default agent/playbooks)."},
                    "max_steps": {"type": "integer", "minimum": 1},
                    "max_seconds": {"type": "integer", "minimum": 1},
                    "max_tokens": {"type": "integer", "minimum": 1},
                    "seal": {"type": "boolean", "description": "Seal an accepted run as a playbook (default true)."}
                },
                "required": ["task"],
                "additionalProperties": false
            }),
            write(),
        ),
    ]
}

fn tool(
    name: &'static str,
    description: &'static str,
    schema: Value,
    hints: ToolAnnotations,
) -> Tool {
    Tool::new(name, description, Arc::new(object(schema))).with_annotations(hints)
}

fn namespace_property(namespace: &str) -> Value {
    json!({"type": "string", "description": format!(
        "The memory namespace, e.g. team/alice (default for this connection: {namespace})."
    )})
}

fn id_property() -> Value {
    json!({"type": "string", "description": "The record id (m…), as memory_add, memory_search or memory_list gave it."})
}

/// The names of the tools, as [`list`] describes them.
pub(crate) const NAMES: [&str; 14] = [
    "search",
    "sql",
    "list_datasets",
    "describe_dataset",
    "list_corpora",
    "memory_add",
    "memory_search",
    "memory_get",
    "memory_list",
    "memory_history",
    "memory_revise",
    "memory_retire",
    "memory_record_outcome",
    "agent_run",
];

/// Run tool `name` (one of [`NAMES`]) for `caller`; `namespace` fills in the memory tools'
/// namespace when the arguments name none.
pub(crate) async fn call(
    app: &AppState,
    caller: Caller,
    namespace: &str,
    name: &str,
    mut args: JsonObject,
) -> Result<Value, ApiError> {
    let state = || State(app.clone());
    if name.starts_with("memory_") && !args.contains_key("namespace") {
        args.insert("namespace".into(), Value::String(namespace.into()));
    }
    match name {
        "search" => answer(search::search(state(), caller, Body(parse(name, args)?)).await),
        "sql" => answer(sql::sql(state(), caller, Body(parse(name, args)?)).await),
        "list_datasets" => {
            no_arguments(name, &args)?;
            named("datasets", datasets::list(state(), caller).await)
        }
        "describe_dataset" => {
            let dataset = take_string(name, &mut args, "name")?;
            no_arguments(name, &args)?;
            answer(datasets::describe(state(), caller, PathParams(dataset)).await)
        }
        "list_corpora" => {
            no_arguments(name, &args)?;
            named("corpora", corpora::list(state(), caller).await)
        }
        "memory_add" => {
            let namespace = args.remove("namespace").unwrap_or_default();
            let body = json!({"namespace": namespace, "drafts": [Value::Object(args)]});
            let body = Body(parse(name, object(body))?);
            named("results", memory::upsert(state(), caller, body).await)
        }
        "memory_search" => {
            let body = Body(parse(name, args)?);
            named("hits", memory::search(state(), caller, body).await)
        }
        "memory_get" => {
            let (id, query) = with_id(name, args)?;
            answer(memory::get_record(state(), caller, PathParams(id), Params(query)).await)
        }
        "memory_list" => {
            let query = Params(parse(name, args)?);
            named("records", memory::list(state(), caller, query).await)
        }
        "memory_history" => {
            let (id, query) = with_id(name, args)?;
            let versions = memory::history(state(), caller, PathParams(id), Params(query)).await;
            named("versions", versions)
        }
        "memory_revise" => {
            let (id, body) = revise_body(name, args)?;
            answer(memory::revise(state(), caller, PathParams(id), Body(body)).await)
        }
        "memory_retire" => {
            let (id, body) = with_id(name, args)?;
            named(
                "retired",
                memory::retire(state(), caller, PathParams(id), Body(body)).await,
            )
        }
        "memory_record_outcome" => {
            let (id, body) = with_id(name, args)?;
            answer(memory::outcome(state(), caller, PathParams(id), Body(body)).await)
        }
        "agent_run" => agent_run(app, &caller, args).await,
        other => Err(ApiError::not_found(format!("no tool {other:?}"))),
    }
}

async fn agent_run(app: &AppState, caller: &Caller, args: JsonObject) -> Result<Value, ApiError> {
    if args.contains_key("wait") {
        return Err(ApiError::invalid_body(
            "agent_run always waits for the run to end; drop `wait`",
        ));
    }
    let rx = agent::spawn_run(app, caller, parse("agent_run", args)?)?;
    let done = jobs::finish(rx).await?;
    serde_json::to_value(done).map_err(ApiError::internal)
}

/// `memory_revise`'s flat arguments as the route's body: the fields of the draft go in `patch`.
fn revise_body<T: DeserializeOwned>(
    tool: &str,
    mut args: JsonObject,
) -> Result<(String, T), ApiError> {
    let id = take_string(tool, &mut args, "id")?;
    let mut body = JsonObject::new();
    for key in ["namespace", "expected_version"] {
        if let Some(value) = args.remove(key) {
            body.insert(key.into(), value);
        }
    }
    if args.is_empty() {
        return Err(ApiError::invalid_body(
            "memory_revise changes nothing: give at least one of content, kind, steps, outcome, \
             variables, metadata, sessions",
        ));
    }
    body.insert("patch".into(), Value::Object(args));
    Ok((id, parse(tool, body)?))
}

/// The `id` argument and the rest parsed as the route's body or query.
fn with_id<T: DeserializeOwned>(tool: &str, mut args: JsonObject) -> Result<(String, T), ApiError> {
    let id = take_string(tool, &mut args, "id")?;
    Ok((id, parse(tool, args)?))
}

/// Remove the required string argument `key`.
fn take_string(tool: &str, args: &mut JsonObject, key: &str) -> Result<String, ApiError> {
    match args.remove(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(ApiError::invalid_body(format!("{tool}: `{key}` is empty"))),
        Some(other) => Err(ApiError::invalid_body(format!(
            "{tool}: `{key}` must be a string, not {other}"
        ))),
        None => Err(ApiError::invalid_body(format!(
            "{tool}: `{key}` is required"
        ))),
    }
}

fn no_arguments(tool: &str, args: &JsonObject) -> Result<(), ApiError> {
    match args.keys().next() {
        None => Ok(()),
        Some(key) => Err(ApiError::invalid_body(format!(
            "{tool} takes no argument `{key}`"
        ))),
    }
}

/// The arguments as the route's body or query type: the same checks, the same messages.
fn parse<T: DeserializeOwned>(tool: &str, args: JsonObject) -> Result<T, ApiError> {
    from_value(
        Value::Object(args),
        &format!("the arguments do not fit {tool}"),
    )
}

fn answer<T: Serialize>(result: Result<Json<T>, ApiError>) -> Result<Value, ApiError> {
    serde_json::to_value(result?.0).map_err(ApiError::internal)
}

/// A list answer under `key`: structured content must be an object.
fn named<T: Serialize>(key: &str, result: Result<Json<T>, ApiError>) -> Result<Value, ApiError> {
    Ok(json!({ key: answer(result)? }))
}
