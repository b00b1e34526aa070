//! The Mem0 operations both dialects share, over the library's memory calls: add → UPSERT of
//! each message, update → REVISE of the chain's tip, delete → RETIRE (with a reason), history →
//! HISTORY as Mem0 events, search → SEARCH over the live tips of every matching namespace, and
//! Mem0's memory objects built from records.

use std::collections::BTreeMap;

use lakehouse::memory::{
    Action, Draft, DraftPatch, Kind, ListFilter, MemoryQuery, Record, StateFilter, time,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::entity::{Entity, FIELDS, Match, Pattern, memory_id, meta_key, parse_memory_id};
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::state::AppState;

/// Metadata key listing the user metadata keys whose values are JSON (not strings).
const JSON_KEYS: &str = "mem0.json";

/// Why a memory deleted through the Mem0 API is retired.
const DELETE_REASON: &str = "deleted through the Mem0 API";

/// One chat message of an add.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Message {
    /// `user`, `assistant` or `system` (system messages are not stored).
    #[serde(default = "user_role")]
    pub(crate) role: String,
    /// The text.
    pub(crate) content: String,
}

fn user_role() -> String {
    "user".into()
}

/// Messages as Mem0 takes them: a list, one message, or a bare string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Messages {
    List(Vec<Message>),
    One(Message),
    Text(String),
}

impl Messages {
    fn into_vec(self) -> Vec<Message> {
        match self {
            Messages::List(list) => list,
            Messages::One(m) => vec![m],
            Messages::Text(content) => vec![Message {
                role: user_role(),
                content,
            }],
        }
    }
}

/// An add, from either dialect.
#[derive(Debug)]
pub(crate) struct Add {
    pub(crate) messages: Messages,
    pub(crate) entity: Entity,
    pub(crate) metadata: Option<Map<String, Value>>,
    pub(crate) infer: Option<bool>,
}

/// UPSERT each message's text (one commit) as a `fact` of the entity's namespace.
pub(crate) async fn add(state: &AppState, caller: &Principal, add: Add) -> Result<Value, ApiError> {
    if !add.entity.names_someone() {
        return Err(ApiError::bad_input(
            "At least one identifier (user_id, agent_id, run_id) is required.",
        ));
    }
    let namespace = add.entity.namespace();
    caller.require(Scope::Write, &[&namespace])?;
    let metadata = store_metadata(&add.entity, add.metadata.as_ref())?;
    let drafts: Vec<Draft> = add
        .messages
        .into_vec()
        .into_iter()
        .filter(|m| m.role != "system" && !m.content.trim().is_empty())
        .map(|m| {
            let mut draft = Draft::new(Kind::Fact, m.content.trim());
            draft.metadata.clone_from(&metadata);
            draft.metadata.insert(meta_key("role"), m.role);
            draft
        })
        .collect();
    if drafts.is_empty() {
        return Err(ApiError::bad_input(
            "messages holds no user or assistant text to remember",
        ));
    }
    let memory = state.memory(&namespace).await?;
    let results: Vec<Value> = memory
        .upsert_many(drafts)
        .await?
        .into_iter()
        .map(|u| {
            let id = memory_id(&namespace, &u.record.root_id);
            json!({
                "id": id,
                "memory": u.record.draft.content,
                "data": {"memory": u.record.draft.content},
                "event": match u.action { Action::Added => "ADD", Action::Updated => "NONE" },
            })
        })
        .collect();
    let mut answer = json!({"results": results, "status": "SUCCEEDED"});
    if add.infer != Some(false) {
        answer["message"] = Value::String(
            "stored each message as given: this server has no chat model configured for \
             extracting facts, so `infer` is ignored"
                .into(),
        );
    }
    Ok(answer)
}

/// The metadata a record keeps: the entity's ids, then the caller's metadata (strings as they
/// are, other values as JSON text, their keys listed under `mem0.json`).
fn store_metadata(
    entity: &Entity,
    metadata: Option<&Map<String, Value>>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = entity.metadata();
    let mut json_keys = Vec::new();
    for (key, value) in metadata.into_iter().flatten() {
        if key.is_empty() || key.contains('=') || key.starts_with("mem0.") {
            return Err(ApiError::bad_input(format!(
                "metadata key {key:?} is empty, contains `=` or starts with `mem0.` (reserved)"
            )));
        }
        let text = match value {
            Value::String(s) => s.clone(),
            other => {
                json_keys.push(key.clone());
                other.to_string()
            }
        };
        out.insert(key.clone(), text);
    }
    if !json_keys.is_empty() {
        out.insert(JSON_KEYS.into(), json_keys.join(","));
    }
    Ok(out)
}

/// The caller's metadata of a record, as Mem0 returns it (`null` when there is none).
fn user_metadata(metadata: &BTreeMap<String, String>) -> Value {
    let json_keys: Vec<&str> = metadata
        .get(JSON_KEYS)
        .map(|k| k.split(',').collect())
        .unwrap_or_default();
    let out: Map<String, Value> = metadata
        .iter()
        .filter(|(k, _)| !k.starts_with("mem0."))
        .map(|(k, v)| {
            let value = if json_keys.contains(&k.as_str()) {
                serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.clone()))
            } else {
                Value::String(v.clone())
            };
            (k.clone(), value)
        })
        .collect();
    if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    }
}

/// A memory as Mem0 returns it, written straight to the response (no JSON tree in between:
/// search answers carry up to `top_k` of these).
#[derive(Debug, Serialize)]
pub(crate) struct MemoryObject {
    id: String,
    memory: String,
    hash: String,
    metadata: Value,
    categories: [String; 0],
    app_id: Option<String>,
    user_id: Option<String>,
    agent_id: Option<String>,
    run_id: Option<String>,
    session_id: Option<String>,
    created_at: String,
    updated_at: Option<String>,
    expiration_date: Option<String>,
    version: u32,
    namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    score_breakdown: Option<ScoreBreakdown>,
}

/// A search hit's scores: vector similarity, BM25 and the fused score it was ranked by.
#[derive(Debug, Serialize)]
struct ScoreBreakdown {
    semantic: Option<f32>,
    bm25: Option<f32>,
    fused: f32,
}

/// A search's answer.
#[derive(Debug, Serialize)]
pub(crate) struct SearchResults {
    results: Vec<MemoryObject>,
}

/// A record as a Mem0 memory object (`root_created` is when its chain began).
fn memory_object(namespace: &str, tip: &Record, root_created: Option<String>) -> MemoryObject {
    let [app_id, user_id, agent_id, run_id] =
        Entity::of_record(namespace, &tip.draft.metadata).into_fields();
    let created = time::format(tip.created_at);
    MemoryObject {
        id: memory_id(namespace, &tip.root_id),
        memory: tip.draft.content.clone(),
        hash: tip.fingerprint.clone(),
        metadata: user_metadata(&tip.draft.metadata),
        categories: [],
        session_id: run_id.clone(),
        app_id,
        user_id,
        agent_id,
        run_id,
        updated_at: (tip.version > 1).then(|| created.clone()),
        created_at: root_created.unwrap_or(created),
        expiration_date: None,
        version: tip.version,
        namespace: namespace.to_string(),
        score: None,
        score_breakdown: None,
    }
}

/// The live tip of the chain behind a Mem0 id, with its namespace (404 when it was deleted).
async fn tip(
    state: &AppState,
    caller: &Principal,
    scope: Scope,
    id: &str,
) -> Result<(String, Record, String), ApiError> {
    let (namespace, root) = parse_memory_id(id)?;
    caller.require(scope, &[&namespace])?;
    let memory = state.memory(&namespace).await?;
    let chain = memory.history(&root, None)?;
    let (Some(first), Some(last)) = (chain.first(), chain.last()) else {
        return Err(ApiError::not_found(format!("Memory {id} not found")));
    };
    if last.retired_at.is_some() {
        return Err(ApiError::not_found(format!("Memory {id} was deleted")));
    }
    Ok((namespace, last.clone(), time::format(first.created_at)))
}

/// GET one memory.
pub(crate) async fn get(
    state: &AppState,
    caller: &Principal,
    id: &str,
) -> Result<MemoryObject, ApiError> {
    let (namespace, tip, created) = tip(state, caller, Scope::Read, id).await?;
    Ok(memory_object(&namespace, &tip, Some(created)))
}

/// An update: new text and/or new metadata (replacing the old).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Update {
    pub(crate) text: Option<String>,
    pub(crate) metadata: Option<Map<String, Value>>,
}

/// REVISE the chain's tip with the update; the memory (same id) as it is now.
pub(crate) async fn update(
    state: &AppState,
    caller: &Principal,
    id: &str,
    update: Update,
) -> Result<MemoryObject, ApiError> {
    if update.text.is_none() && update.metadata.is_none() {
        return Err(ApiError::bad_input("give `text` or `metadata` to update"));
    }
    let (namespace, tip, created) = tip(state, caller, Scope::Write, id).await?;
    let entity = Entity::of_record(&namespace, &tip.draft.metadata);
    let patch = DraftPatch {
        content: update.text,
        metadata: match update.metadata {
            Some(m) => {
                let mut stored = store_metadata(&entity, Some(&m))?;
                if let Some(role) = tip.draft.metadata.get(&meta_key("role")) {
                    stored.insert(meta_key("role"), role.clone());
                }
                Some(stored)
            }
            None => None,
        },
        ..DraftPatch::default()
    };
    let memory = state.memory(&namespace).await?;
    let revised = memory
        .revise_with(&tip.id, &patch, Some(tip.version))
        .await?;
    Ok(memory_object(&namespace, &revised, Some(created)))
}

/// RETIRE the chain's tip.
pub(crate) async fn delete(state: &AppState, caller: &Principal, id: &str) -> Result<(), ApiError> {
    let (namespace, tip, _) = tip(state, caller, Scope::Write, id).await?;
    let memory = state.memory(&namespace).await?;
    memory
        .retire(&tip.id, DELETE_REASON, Some(&caller.name), false)
        .await?;
    Ok(())
}

/// HISTORY as Mem0 events: ADD for the root, UPDATE per revision, DELETE for a retirement.
pub(crate) async fn history(
    state: &AppState,
    caller: &Principal,
    id: &str,
) -> Result<Value, ApiError> {
    let (namespace, root) = parse_memory_id(id)?;
    caller.require(Scope::Read, &[&namespace])?;
    let memory = state.memory(&namespace).await?;
    let chain = memory.history(&root, None)?;
    let mut events = Vec::new();
    let mut previous: Option<&Record> = None;
    for record in &chain {
        let at = time::format(record.created_at);
        events.push(event(
            id,
            &record.id,
            if previous.is_none() { "ADD" } else { "UPDATE" },
            previous.map(|p| p.draft.content.as_str()),
            Some(&record.draft.content),
            &at,
            record,
        ));
        if let Some(retired) = record.retired_at {
            events.push(event(
                id,
                &format!("{}.delete", record.id),
                "DELETE",
                Some(&record.draft.content),
                None,
                &time::format(retired),
                record,
            ));
        }
        previous = Some(record);
    }
    Ok(Value::Array(events))
}

fn event(
    memory_id: &str,
    event_id: &str,
    kind: &str,
    old: Option<&str>,
    new: Option<&str>,
    at: &str,
    record: &Record,
) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), event_id.into());
    out.insert("memory_id".into(), memory_id.into());
    out.insert("event".into(), kind.into());
    out.insert("old_memory".into(), old.map_or(Value::Null, Into::into));
    out.insert("new_memory".into(), new.map_or(Value::Null, Into::into));
    out.insert("input".into(), json!([]));
    out.insert("is_deleted".into(), (kind == "DELETE").into());
    out.insert("metadata".into(), user_metadata(&record.draft.metadata));
    Entity::of_record(&record.namespace, &record.draft.metadata).json_fields(&mut out);
    out.insert("created_at".into(), at.into());
    out.insert("updated_at".into(), at.into());
    if kind == "DELETE" {
        out.insert(
            "reason".into(),
            record.retire_reason.clone().map_or(Value::Null, Into::into),
        );
    }
    Value::Object(out)
}

/// A filter as Mem0 writes it: entity fields and metadata pairs, flat or under `AND`.
pub(crate) fn parse_filters(
    filters: Option<&Value>,
    pattern: &mut Pattern,
    metadata: &mut Vec<(String, String)>,
) -> Result<(), ApiError> {
    let Some(filters) = filters else {
        return Ok(());
    };
    let Value::Object(map) = filters else {
        return Err(ApiError::bad_input(format!(
            "filters must be an object like {{\"user_id\": \"alice\"}}, not {filters}"
        )));
    };
    for (key, value) in map {
        match (key.as_str(), value) {
            ("AND", Value::Array(items)) => {
                for item in items {
                    parse_filters(Some(item), pattern, metadata)?;
                }
            }
            ("OR" | "NOT", _) => {
                return Err(ApiError::bad_input(format!(
                    "`{key}` filters are not supported by this server: give the fields to match \
                     (all must hold), flat or under `AND`"
                )));
            }
            (field, Value::String(v)) if FIELDS.contains(&field) => {
                pattern.set(field, v);
            }
            (_, Value::String(v)) => metadata.push((key.clone(), v.clone())),
            (_, Value::Number(_) | Value::Bool(_)) => {
                metadata.push((key.clone(), value.to_string()));
            }
            _ => {
                return Err(ApiError::bad_input(format!(
                    "filter {key:?}: {value} is not supported here; give `\"{key}\": value` \
                     (operators such as in/gte/contains are not supported)"
                )));
            }
        }
    }
    Ok(())
}

/// The namespaces a pattern covers that the caller may read (the pattern must name a user,
/// agent or run, as Mem0 requires).
async fn namespaces(
    state: &AppState,
    caller: &Principal,
    pattern: &Pattern,
) -> Result<Vec<String>, ApiError> {
    require_someone(pattern)?;
    matching(state, caller, pattern).await
}

fn require_someone(pattern: &Pattern) -> Result<(), ApiError> {
    if pattern.names_someone() {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            "filters must name at least one of user_id, agent_id, run_id (\"*\" for any)",
        ))
    }
}

/// The namespaces a pattern covers that the caller may read.
async fn matching(
    state: &AppState,
    caller: &Principal,
    pattern: &Pattern,
) -> Result<Vec<String>, ApiError> {
    Ok(pattern
        .namespaces(state)
        .await?
        .into_iter()
        .filter(|ns| caller.may_touch(ns))
        .collect())
}

/// SEARCH the live tips of every namespace the pattern covers; best `top_k` by fused score.
pub(crate) async fn search(
    state: &AppState,
    caller: &Principal,
    query: &str,
    pattern: &Pattern,
    metadata: Vec<(String, String)>,
    top_k: Option<usize>,
) -> Result<SearchResults, ApiError> {
    if query.trim().is_empty() {
        return Err(ApiError::bad_input("query is empty"));
    }
    let k = top_k.unwrap_or(10);
    if k == 0 || k > lakehouse::memory::MAX_K {
        return Err(ApiError::bad_input(format!(
            "top_k is {k}; give 1 to {}",
            lakehouse::memory::MAX_K
        )));
    }
    caller.require(Scope::Read, &[])?;
    let mut hits = Vec::new();
    for namespace in namespaces(state, caller, pattern).await? {
        let memory = state.memory(&namespace).await?;
        let mut q = MemoryQuery::new(query.trim()).with_k(k);
        q.filters.clone_from(&metadata);
        let found = memory.search(&q).await?;
        let roots: Vec<&str> = found.iter().map(|h| h.record.root_id.as_str()).collect();
        let began = memory.created_at(&roots);
        for (hit, began) in found.iter().zip(began) {
            let mut object = memory_object(&namespace, &hit.record, began.map(time::format));
            object.score = Some(hit.vector_score.unwrap_or(hit.score));
            object.score_breakdown = Some(ScoreBreakdown {
                semantic: hit.vector_score,
                bm25: hit.lexical_score,
                fused: hit.score,
            });
            hits.push((hit.score, object));
        }
    }
    hits.sort_by(|a, b| b.0.total_cmp(&a.0));
    hits.truncate(k);
    Ok(SearchResults {
        results: hits.into_iter().map(|(_, o)| o).collect(),
    })
}

/// The live memories of every namespace the pattern covers, oldest first.
pub(crate) async fn list(
    state: &AppState,
    caller: &Principal,
    pattern: &Pattern,
    metadata: Vec<(String, String)>,
) -> Result<Vec<MemoryObject>, ApiError> {
    caller.require(Scope::Read, &[])?;
    let mut out = Vec::new();
    for namespace in namespaces(state, caller, pattern).await? {
        let memory = state.memory(&namespace).await?;
        let filter = ListFilter {
            state: StateFilter::Live,
            filters: metadata.clone(),
            ..ListFilter::default()
        };
        let records = memory.list(&filter);
        let roots: Vec<&str> = records.iter().map(|r| r.root_id.as_str()).collect();
        let began = memory.created_at(&roots);
        for (record, began) in records.iter().zip(began) {
            out.push((
                record.created_at,
                memory_object(&namespace, record, began.map(time::format)),
            ));
        }
    }
    out.sort_by_key(|(at, _)| *at);
    Ok(out.into_iter().map(|(_, o)| o).collect())
}

/// RETIRE every live memory the pattern covers (which must name a user, agent or run); how
/// many.
pub(crate) async fn delete_all(
    state: &AppState,
    caller: &Principal,
    pattern: &Pattern,
) -> Result<usize, ApiError> {
    require_someone(pattern)?;
    delete_matching(state, caller, pattern).await
}

/// RETIRE every live memory the pattern covers, an app alone included; how many.
pub(crate) async fn delete_matching(
    state: &AppState,
    caller: &Principal,
    pattern: &Pattern,
) -> Result<usize, ApiError> {
    let mut deleted = 0;
    for namespace in matching(state, caller, pattern).await? {
        caller.require(Scope::Write, &[&namespace])?;
        let memory = state.memory(&namespace).await?;
        for record in memory.list(&ListFilter::default()) {
            memory
                .retire(&record.id, DELETE_REASON, Some(&caller.name), false)
                .await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Every entity with live memories: `{id, name, type, total_memories, ...}`.
pub(crate) async fn entities(state: &AppState, caller: &Principal) -> Result<Value, ApiError> {
    let any = Pattern(std::array::from_fn(|_| Match::Any));
    caller.require(Scope::Read, &[])?;
    let mut counts: BTreeMap<(usize, String), (usize, String, String)> = BTreeMap::new();
    for namespace in any.namespaces(state).await? {
        if !caller.may_touch(&namespace) {
            continue;
        }
        let memory = state.memory(&namespace).await?;
        for record in memory.list(&ListFilter::default()) {
            let entity = Entity::of_record(&namespace, &record.draft.metadata);
            let at = time::format(record.created_at);
            for (i, id) in entity.0.iter().enumerate() {
                let Some(id) = id else { continue };
                let entry = counts
                    .entry((i, id.clone()))
                    .or_insert_with(|| (0, at.clone(), at.clone()));
                entry.0 += 1;
                entry.1 = entry.1.clone().min(at.clone());
                entry.2 = entry.2.clone().max(at.clone());
            }
        }
    }
    let types = ["app", "user", "agent", "run"];
    let mut totals = [0usize; 4];
    let results: Vec<Value> = counts
        .into_iter()
        .map(|((i, name), (n, first, last))| {
            totals[i] += 1;
            json!({"id": name, "name": name, "type": types[i], "total_memories": n,
                   "created_at": first, "updated_at": last, "metadata": null, "owner": null})
        })
        .collect();
    Ok(json!({
        "count": results.len(), "next": null, "previous": null, "results": results,
        "total_apps": totals[0], "total_users": totals[1], "total_agents": totals[2],
        "total_runs": totals[3],
    }))
}
