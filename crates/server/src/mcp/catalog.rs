//! MCP prompts and resources. Prompts are the live playbooks of the connection's memory
//! namespace and of `agent/playbooks` (where the agent loop seals its successes), named
//! `playbook:{namespace}:{id}`, with the playbook's variables as required arguments; getting one
//! fills them into the procedure and its steps. Resources are the datasets and corpora the
//! caller may see, `lakehouse://datasets/{name}` and `lakehouse://corpora/{name}`, each read
//! as its description in JSON. Everything goes through the HTTP routes' handlers, so scopes and
//! errors are the API's.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lakehouse::memory::Record;
use rmcp::ErrorData;
use rmcp::model::{
    GetPromptRequestParams, GetPromptResult, Prompt, PromptArgument, PromptMessage,
    ReadResourceResult, Resource, ResourceContents, Role,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{Caller, Params, PathParams};
use crate::routes::{corpora, datasets, memory};
use crate::state::AppState;

/// Where the agent loop seals playbooks; offered beside the connection's own namespace.
const AGENT_PLAYBOOKS: &str = "agent/playbooks";
const PROMPT_PREFIX: &str = "playbook:";
const DATASETS: &str = "lakehouse://datasets/";
const CORPORA: &str = "lakehouse://corpora/";
const JSON_MIME: &str = "application/json";

/// The playbooks `caller` may read, as prompts.
pub(super) async fn prompts(
    app: &AppState,
    caller: &Caller,
    namespace: &str,
) -> Result<Vec<Prompt>, ErrorData> {
    let mut namespaces = vec![namespace];
    if namespace != AGENT_PLAYBOOKS {
        namespaces.push(AGENT_PLAYBOOKS);
    }
    let mut out = Vec::new();
    for ns in namespaces {
        if !caller.may_touch(ns) {
            continue;
        }
        for record in playbooks(app, caller, ns).await? {
            out.push(describe_prompt(&record));
        }
    }
    Ok(out)
}

/// One playbook as a prompt: its procedure and steps with `request.arguments` filled in.
pub(super) async fn prompt(
    app: &AppState,
    caller: &Caller,
    request: &GetPromptRequestParams,
) -> Result<GetPromptResult, ErrorData> {
    let (namespace, id) = parse_prompt_name(&request.name)?;
    let query = parse_query(json!({"namespace": namespace}))?;
    let record = memory::get_record(
        State(app.clone()),
        caller.clone(),
        PathParams(id.to_string()),
        Params(query),
    )
    .await
    .map_err(|e| to_error_data(&e))?
    .0;
    if record.draft.kind != lakehouse::memory::Kind::Playbook || record.retired_at.is_some() {
        return Err(ErrorData::invalid_params(
            format!("{} is not a live playbook", request.name),
            None,
        ));
    }
    let empty = serde_json::Map::new();
    let given = request.arguments.as_ref().unwrap_or(&empty);
    let mut values = Vec::new();
    for var in &record.draft.variables {
        match given.get(var) {
            Some(Value::String(s)) => values.push((var.as_str(), s.clone())),
            Some(other) => values.push((var.as_str(), other.to_string())),
            None => {
                return Err(ErrorData::invalid_params(
                    format!("prompt {} needs the argument `{var}`", request.name),
                    None,
                ));
            }
        }
    }
    if let Some(extra) = given.keys().find(|k| !record.draft.variables.contains(k)) {
        return Err(ErrorData::invalid_params(
            format!(
                "prompt {} has no argument `{extra}` (its arguments: {})",
                request.name,
                record.draft.variables.join(", ")
            ),
            None,
        ));
    }
    let text = fill(&render(&record), &values);
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(summary(&record)),
    )
}

/// The datasets and corpora `caller` may see, as resources.
pub(super) async fn resources(app: &AppState, caller: &Caller) -> Result<Vec<Resource>, ErrorData> {
    let state = || State(app.clone());
    let mut out = Vec::new();
    for d in datasets::list(state(), caller.clone())
        .await
        .map_err(|e| to_error_data(&e))?
        .0
    {
        out.push(
            Resource::new(format!("{DATASETS}{}", d.name), d.name.clone())
                .with_title(format!("dataset {}", d.name))
                .with_description(format!(
                    "Delta table, version {}, {} rows, {} columns; query it with the sql tool",
                    d.version,
                    d.rows,
                    d.columns.len()
                ))
                .with_mime_type(JSON_MIME),
        );
    }
    for m in corpora::list(state(), caller.clone())
        .await
        .map_err(|e| to_error_data(&e))?
        .0
    {
        out.push(
            Resource::new(format!("{CORPORA}{}", m.corpus), m.corpus.clone())
                .with_title(format!("corpus {}", m.corpus))
                .with_description(format!(
                    "searchable corpus, {} documents, embedder {}; search it with the search tool",
                    m.docs, m.embedder.spec
                ))
                .with_mime_type(JSON_MIME),
        );
    }
    Ok(out)
}

/// A dataset's or corpus's description, as JSON.
pub(super) async fn read(
    app: &AppState,
    caller: &Caller,
    uri: &str,
) -> Result<ReadResourceResult, ErrorData> {
    let state = || State(app.clone());
    let text = if let Some(name) = uri.strip_prefix(DATASETS) {
        pretty(datasets::describe(state(), caller.clone(), PathParams(name.to_string())).await)?
    } else if let Some(name) = uri.strip_prefix(CORPORA) {
        pretty(corpora::describe(state(), caller.clone(), PathParams(name.to_string())).await)?
    } else {
        return Err(ErrorData::resource_not_found(
            format!("no resource {uri:?}: resources are {DATASETS}NAME and {CORPORA}NAME"),
            None,
        ));
    };
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(JSON_MIME),
    ]))
}

/// The live playbooks of `namespace`.
async fn playbooks(
    app: &AppState,
    caller: &Caller,
    namespace: &str,
) -> Result<Vec<Record>, ErrorData> {
    let query = parse_query(json!({"namespace": namespace, "kind": "playbook"}))?;
    let listed = memory::list(State(app.clone()), caller.clone(), Params(query)).await;
    Ok(listed.map_err(|e| to_error_data(&e))?.0)
}

fn describe_prompt(record: &Record) -> Prompt {
    let arguments = record
        .draft
        .variables
        .iter()
        .map(|v| {
            PromptArgument::new(v)
                .with_description(format!("fills {{{v}}} in the playbook"))
                .with_required(true)
        })
        .collect::<Vec<_>>();
    Prompt::new(
        format!("{PROMPT_PREFIX}{}:{}", record.namespace, record.id),
        Some(summary(record)),
        (!arguments.is_empty()).then_some(arguments),
    )
    .with_title(first_line(&record.draft.content))
}

/// `playbook:{namespace}:{id}` → (namespace, id); namespaces may hold `/` but not `:`.
fn parse_prompt_name(name: &str) -> Result<(&str, &str), ErrorData> {
    name.strip_prefix(PROMPT_PREFIX)
        .and_then(|rest| rest.rsplit_once(':'))
        .filter(|(ns, id)| !ns.is_empty() && !id.is_empty())
        .ok_or_else(|| {
            ErrorData::invalid_params(
                format!("no prompt {name:?}: prompts are named playbook:NAMESPACE:ID (prompts/list names them)"),
                None,
            )
        })
}

fn parse_query<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ErrorData> {
    serde_json::from_value(value).map_err(|e| ErrorData::internal_error(e.to_string(), None))
}

/// What the playbook achieves, for a prompt's description.
fn summary(record: &Record) -> String {
    let mut text = first_line(&record.draft.content);
    if let Some(outcome) = &record.draft.outcome {
        text.push_str(" — ");
        text.push_str(&first_line(outcome));
    }
    text
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

/// The playbook as instructions: the procedure, then its steps as tool calls.
fn render(record: &Record) -> String {
    let mut text = format!(
        "Follow this playbook (memory record {} in {}).\n\n{}\n",
        record.id, record.namespace, record.draft.content
    );
    if !record.draft.steps.is_empty() {
        text.push_str("\nSteps:\n");
        for (i, step) in record.draft.steps.iter().enumerate() {
            text.push_str(&format!("{}. {} {}", i + 1, step.tool, step.args));
            if let Some(note) = &step.note {
                text.push_str(&format!(" — {note}"));
            }
            text.push('\n');
        }
    }
    if let Some(outcome) = &record.draft.outcome {
        text.push_str(&format!("\nExpected outcome: {outcome}\n"));
    }
    text
}

/// Replace each `{name}` with its value.
fn fill(text: &str, values: &[(&str, String)]) -> String {
    values.iter().fold(text.to_string(), |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), value)
    })
}

fn pretty<T: Serialize>(result: Result<Json<T>, ApiError>) -> Result<String, ErrorData> {
    let value = result.map_err(|e| to_error_data(&e))?.0;
    serde_json::to_string_pretty(&value).map_err(|e| ErrorData::internal_error(e.to_string(), None))
}

/// An API error as the MCP error a client expects for it.
pub(super) fn to_error_data(e: &ApiError) -> ErrorData {
    let message = format!("{}: {}", e.code(), e.message());
    match e.status() {
        StatusCode::NOT_FOUND => ErrorData::resource_not_found(message, None),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            ErrorData::invalid_request(message, None)
        }
        s if s.is_client_error() => ErrorData::invalid_params(message, None),
        _ => ErrorData::internal_error(message, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_names_round_trip_namespaces_with_slashes() {
        assert_eq!(
            parse_prompt_name("playbook:agent/playbooks:m12.3").unwrap(),
            ("agent/playbooks", "m12.3")
        );
        for bad in [
            "playbook:",
            "playbook:ns",
            "playbook::m1",
            "other:ns:m1",
            "playbook:ns:",
        ] {
            let e = parse_prompt_name(bad).unwrap_err();
            assert!(
                e.message.contains("playbook:NAMESPACE:ID"),
                "{bad}: {}",
                e.message
            );
        }
    }

    #[test]
    fn fill_replaces_every_placeholder_and_leaves_others() {
        let text = fill(
            "permits in {city} since {year}; {city} again; {other}",
            &[("city", "Chicago".into()), ("year", "2020".into())],
        );
        assert_eq!(
            text,
            "permits in Chicago since 2020; Chicago again; {other}"
        );
    }

    #[test]
    fn first_line_is_cut_on_a_char_boundary() {
        let long = "é".repeat(200);
        let line = first_line(&format!("{long}\nsecond"));
        assert_eq!(line.chars().count(), 121);
        assert!(line.ends_with('…'));
        assert_eq!(first_line("  short \nmore"), "short");
    }
}
