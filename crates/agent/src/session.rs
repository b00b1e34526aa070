//! The session archive: every event of a run (request, response, tool call and result,
//! verdict, budget warning, seal, outcome) appended to the journal `sessions/<id>` in the
//! store, with secrets redacted.

use std::sync::Arc;

use lakehouse_store::journal::{Journal, JournalExt, JournalOptions, StoreJournal};
use object_store::ObjectStore;
use serde_json::{Map, Value, json};

use crate::AgentError;

/// Keys whose values are never archived.
const SECRET_KEYS: [&str; 6] = [
    "api_key",
    "apikey",
    "authorization",
    "token",
    "password",
    "secret",
];

/// `value` with secrets replaced by `"[redacted]"`: values of secret-named keys, and strings
/// that look like API keys (`sk-…`, `Bearer …`).
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let secret = SECRET_KEYS
                        .iter()
                        .any(|s| k.to_ascii_lowercase().contains(s));
                    (
                        k.clone(),
                        if secret {
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

fn redact_text(s: &str) -> String {
    s.split_inclusive(char::is_whitespace)
        .scan(false, |after_bearer, word| {
            let bare = word.trim_end();
            let secret = *after_bearer
                || (bare.starts_with("sk-") && bare.len() >= 12)
                || (bare.starts_with("hf_") && bare.len() >= 12);
            *after_bearer = bare.eq_ignore_ascii_case("bearer");
            Some(if secret {
                format!("[redacted]{}", &word[bare.len()..])
            } else {
                word.to_string()
            })
        })
        .collect()
}

/// One session's journal.
#[derive(Debug)]
pub(crate) struct SessionLog {
    journal: StoreJournal,
}

impl SessionLog {
    pub(crate) fn open(store: Arc<dyn ObjectStore>, id: &str) -> Result<Self, AgentError> {
        Ok(Self {
            journal: StoreJournal::open(
                store,
                &format!("sessions/{id}"),
                JournalOptions::default(),
            )?,
        })
    }

    /// Archive one event `{"event": kind, …fields}`.
    pub(crate) async fn record(&self, kind: &str, fields: Value) -> Result<(), AgentError> {
        let mut event = json!({ "event": kind });
        if let (Value::Object(e), Value::Object(f)) = (&mut event, redact(&fields)) {
            e.extend(f);
        }
        self.journal.append_json(&event).await?;
        Ok(())
    }

    /// Flush everything.
    pub(crate) async fn close(&self) -> Result<(), AgentError> {
        self.journal.close().await?;
        Ok(())
    }
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
}
