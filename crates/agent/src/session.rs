//! The session archive: every event of a run (request, response, tool call and result,
//! verdict, budget warning, seal, outcome) appended to the journal `sessions/<id>` in the
//! store, with secrets redacted; and one row per session in the `agent_sessions` dataset.
//! [`replay`] reads a session back as a scripted model, to run it again without its model.

use std::sync::Arc;

use lakehouse_models::chat::{Scripted, ScriptedModel};
use lakehouse_models::{ChatResponse, Message};
use lakehouse_store::journal::{Cursor, Journal, JournalExt, JournalOptions, StoreJournal};
use object_store::ObjectStore;
use serde_json::{Map, Value, json};

use crate::AgentError;

/// Keys whose values are never archived, compared whole after lowercasing and turning `-` into
/// `_` (so `X-Api-Key` matches `x_api_key`). Exact names, not substrings: `prompt_tokens` and
/// `max_tokens` are usage figures and stay.
const SECRET_KEYS: [&str; 22] = [
    "api_key",
    "apikey",
    "x_api_key",
    "authorization",
    "proxy_authorization",
    "cookie",
    "set_cookie",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth_token",
    "bearer_token",
    "session_token",
    "aws_session_token",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "secret_key",
    "aws_secret_access_key",
    "private_key",
];

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('-', "_");
    SECRET_KEYS.contains(&key.as_str())
}

/// `value` with secrets replaced by `"[redacted]"`: values of secret-named keys (exact names
/// such as `api_key`, `authorization`, `access_token`), and words that look like credentials
/// wherever they appear (`sk-…`, `hf_…`, `ghp_…`, `xoxb-…`, AWS access key ids, and whatever
/// follows `Bearer`/`Basic`).
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        if is_secret_key(k) {
                            json!("[redacted]")
                        } else {
                            redact(v)
                        },
                    )
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::String(s) => Value::String(redact_text(s)),
        other => other.clone(),
    }
}

/// Whether one whitespace-free word is shaped like a credential.
fn looks_like_credential(word: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "sk-",
        "hf_",
        "ghp_",
        "gho_",
        "github_pat_",
        "xoxb-",
        "xoxp-",
        "glpat-",
    ];
    let aws_key_id = word.len() == 20
        && (word.starts_with("AKIA") || word.starts_with("ASIA"))
        && word
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    aws_key_id || (word.len() >= 12 && PREFIXES.iter().any(|p| word.starts_with(p)))
}

fn redact_text(s: &str) -> String {
    s.split_inclusive(char::is_whitespace)
        .scan(false, |after_scheme, word| {
            let bare = word.trim_end();
            let secret = *after_scheme || looks_like_credential(bare);
            *after_scheme =
                bare.eq_ignore_ascii_case("bearer") || bare.eq_ignore_ascii_case("basic");
            Some(if secret {
                format!("[redacted]{}", &word[bare.len()..])
            } else {
                word.to_string()
            })
        })
        .collect()
}

/// One session's journal, and where its events go live.
#[derive(Debug)]
pub(crate) struct SessionLog {
    journal: StoreJournal,
    live: Option<tokio::sync::mpsc::UnboundedSender<Value>>,
}

impl SessionLog {
    pub(crate) fn open(
        store: Arc<dyn ObjectStore>,
        id: &str,
        live: Option<tokio::sync::mpsc::UnboundedSender<Value>>,
    ) -> Result<Self, AgentError> {
        Ok(Self {
            journal: StoreJournal::open(
                store,
                &format!("sessions/{id}"),
                JournalOptions::default(),
            )?,
            live,
        })
    }

    /// Archive one event `{"event": kind, …fields}` (and send it live).
    pub(crate) async fn record(&self, kind: &str, fields: Value) -> Result<(), AgentError> {
        let mut event = json!({ "event": kind });
        if let (Value::Object(e), Value::Object(f)) = (&mut event, redact(&fields)) {
            e.extend(f);
        }
        self.journal.append_json(&event).await?;
        if let Some(live) = &self.live {
            // nobody listening is fine: the archive has it
            let _ = live.send(event);
        }
        Ok(())
    }

    /// Flush everything.
    pub(crate) async fn close(&self) -> Result<(), AgentError> {
        self.journal.close().await?;
        Ok(())
    }
}

/// The dataset every run is appended to, one row per session, for `lakehouse sql`.
pub const SESSIONS_TABLE: &str = "agent_sessions";

/// The row of `report` in [`SESSIONS_TABLE`]; `started_at` in microseconds since the epoch.
pub(crate) fn session_row(
    report: &crate::RunReport,
    started_at: i64,
) -> Result<lakehouse_table::arrow::array::RecordBatch, lakehouse_table::arrow::error::ArrowError> {
    use lakehouse_table::arrow::array::{
        ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    };
    use lakehouse_table::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let int = |name: &str| Field::new(name, DataType::Int64, false);
    let schema = Schema::new(vec![
        text("session", false),
        Field::new(
            "started_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        text("task", false),
        text("model", false),
        text("outcome", false),
        text("answer", true),
        text("citations", false),
        int("steps"),
        int("model_calls"),
        int("prompt_tokens"),
        int("completion_tokens"),
        int("wall_ms"),
        int("tool_errors"),
        text("verdicts", false),
        text("playbooks_injected", false),
        text("sealed", true),
    ]);
    let outcome = serde_json::to_value(&report.outcome)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_string))
        .unwrap_or_default();
    let verdicts: Vec<String> = report
        .verdicts
        .iter()
        .map(|v| {
            serde_json::to_value(v.decision)
                .ok()
                .and_then(|d| d.as_str().map(str::to_string))
                .unwrap_or_default()
        })
        .collect();
    let one = |s: &str| -> ArrayRef { std::sync::Arc::new(StringArray::from(vec![s])) };
    let opt = |s: Option<&str>| -> ArrayRef { std::sync::Arc::new(StringArray::from(vec![s])) };
    let n = |x: u64| -> ArrayRef {
        std::sync::Arc::new(Int64Array::from(vec![i64::try_from(x).unwrap_or(i64::MAX)]))
    };
    RecordBatch::try_new(
        std::sync::Arc::new(schema),
        vec![
            one(&report.session),
            std::sync::Arc::new(
                TimestampMicrosecondArray::from(vec![started_at]).with_timezone("UTC"),
            ),
            one(&report.task),
            one(&report.model),
            one(&outcome),
            opt(report.answer.as_deref()),
            one(&report.citations.join(" ")),
            n(report.steps as u64),
            n(report.model_calls as u64),
            n(report.usage.prompt_tokens),
            n(report.usage.completion_tokens),
            n(report.wall_ms),
            n(report.tool_errors as u64),
            one(&verdicts.join(",")),
            one(&report.playbooks_injected.join(" ")),
            opt(report.sealed.as_ref().map(|s| s.id.as_str())),
        ],
    )
}

/// An archived session ready to run again: its task, and a model that answers exactly as the
/// session's model did, in order (a failed call fails again).
#[derive(Debug)]
pub struct Replay {
    /// The session's task.
    pub task: String,
    /// The model the session ran (its id).
    pub original_model: String,
    /// The archived answers, as a model.
    pub model: ScriptedModel,
}

/// Read session `id` from `store` for replaying it: re-running its task against today's tools,
/// data and observer with the archived model answers and no model server.
pub async fn replay(store: Arc<dyn ObjectStore>, id: &str) -> Result<Replay, AgentError> {
    let journal = StoreJournal::open(store, &format!("sessions/{id}"), JournalOptions::default())?;
    let (events, _) = journal.read_since(Cursor::start()).collect_all().await?;
    let bad =
        |n: usize, why: String| AgentError::InvalidTask(format!("session {id}, event {n}: {why}"));
    let mut task = None;
    let mut original_model = String::new();
    let mut steps = Vec::new();
    for (n, event) in events.iter().enumerate() {
        let value: Value = event.decode().map_err(|e| bad(n, e.to_string()))?;
        match value["event"].as_str() {
            Some("start") => {
                task = value["task"].as_str().map(str::to_string);
                original_model = value["model"].as_str().unwrap_or_default().to_string();
            }
            Some("response") => {
                let message: Message = serde_json::from_value(value["message"].clone())
                    .map_err(|e| bad(n, format!("not a model answer: {e}")))?;
                steps.push(Scripted::Answer(ChatResponse {
                    message,
                    usage: serde_json::from_value(value["usage"].clone()).unwrap_or_default(),
                    finish_reason: value["finish_reason"].as_str().map(str::to_string),
                }));
            }
            Some("model_error") => steps.push(Scripted::Fail(500)),
            _ => {}
        }
    }
    let task = task.ok_or_else(|| {
        AgentError::InvalidTask(format!(
            "no session {id:?} in this store (sessions/{id} has no start event)"
        ))
    })?;
    Ok(Replay {
        task,
        original_model,
        model: ScriptedModel::new(&format!("replay:{id}"), steps),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let v = redact(&json!({
            "api_key": "abc", "headers": {"Authorization": "Bearer xyz"},
            "text": "use sk-abcdefghijklmnop and Bearer tok123 please", "n": 3
        }));
        assert_eq!(v["api_key"], "[redacted]");
        assert_eq!(v["headers"]["Authorization"], "[redacted]");
        assert_eq!(v["text"], "use [redacted] and Bearer [redacted] please");
        assert_eq!(v["n"], 3);
    }

    #[test]
    fn usage_figures_are_not_secrets() {
        let v = redact(&json!({
            "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
            "options": {"max_tokens": 512, "num_ctx": 8192},
            "tokenizer": "bert", "tokens_used": 7
        }));
        assert_eq!(v["usage"]["prompt_tokens"], 120);
        assert_eq!(v["usage"]["completion_tokens"], 30);
        assert_eq!(v["usage"]["total_tokens"], 150);
        assert_eq!(v["options"]["max_tokens"], 512);
        assert_eq!(v["tokenizer"], "bert");
        assert_eq!(v["tokens_used"], 7);
    }

    #[test]
    fn secret_keys_match_whole_names_in_any_spelling() {
        let v = redact(&json!({
            "X-Api-Key": "k1", "ACCESS_TOKEN": "k2", "client-secret": "k3", "Cookie": "c",
            "aws_secret_access_key": "k4", "token": "k5", "password": "p"
        }));
        for key in [
            "X-Api-Key",
            "ACCESS_TOKEN",
            "client-secret",
            "Cookie",
            "aws_secret_access_key",
            "token",
            "password",
        ] {
            assert_eq!(v[key], "[redacted]", "{key}");
        }
    }

    #[test]
    fn credential_shaped_words_are_redacted_anywhere() {
        let v = redact(&json!([
            "key AKIAIOSFODNN7EXAMPLE here",
            "ghp_abcdefghijklmnop1234 and hf_abcdefghijklmn",
            "Authorization: Basic dXNlcjpwYXNz",
            "skip sk- and AKIA short"
        ]));
        assert_eq!(v[0], "key [redacted] here");
        assert_eq!(v[1], "[redacted] and [redacted]");
        assert_eq!(v[2], "Authorization: Basic [redacted]");
        assert_eq!(v[3], "skip sk- and AKIA short");
    }
}
