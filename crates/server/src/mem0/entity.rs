//! Mem0's entities (`app_id`, `user_id`, `agent_id`, `run_id`) and where their memories live:
//! namespace `mem0/<app>/<user>/<agent>/<run>`, each part the id (or an encoding of it, when it
//! is not a valid namespace part) and `-` when absent. Mem0 memory ids are
//! `<namespace with / as .>:<root record id>`: the chain's root, so an id stays valid across
//! revisions, and any namespace's records (written through the CLI or MCP too) have one.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// The namespace folder under which the Mem0 dialects keep their memories.
pub(crate) const ROOT: &str = "mem0";

/// The entity fields, in namespace order.
pub(crate) const FIELDS: [&str; 4] = ["app_id", "user_id", "agent_id", "run_id"];

/// The metadata key under which a record keeps an entity field (`mem0.user_id`, ...).
pub(crate) fn meta_key(field: &str) -> String {
    format!("mem0.{field}")
}

/// Who a memory is about: each field present or absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Entity(pub(crate) [Option<String>; 4]);

impl Entity {
    /// The fields given by name (`user_id`, ...); empty strings count as absent.
    pub(crate) fn from_fields(get: impl Fn(&str) -> Option<String>) -> Entity {
        Entity(FIELDS.map(|f| get(f).filter(|v| !v.trim().is_empty())))
    }

    /// Whether a user, agent or run is named (an app alone scopes nothing).
    pub(crate) fn names_someone(&self) -> bool {
        self.0[1..].iter().any(Option::is_some)
    }

    /// The namespace holding this entity's memories.
    pub(crate) fn namespace(&self) -> String {
        let mut ns = ROOT.to_string();
        for part in &self.0 {
            ns.push('/');
            ns.push_str(&part.as_deref().map_or_else(|| "-".to_string(), encode));
        }
        ns
    }

    /// The metadata pairs a record of this entity carries (so encoded parts can be read back).
    pub(crate) fn metadata(&self) -> BTreeMap<String, String> {
        FIELDS
            .iter()
            .zip(&self.0)
            .filter_map(|(f, v)| Some((meta_key(f), v.clone()?)))
            .collect()
    }

    /// The entity's fields, in the order of [`FIELDS`].
    pub(crate) fn into_fields(self) -> [Option<String>; 4] {
        self.0
    }

    /// The entity's fields as Mem0 returns them (`"user_id": "alice"` or `null`).
    pub(crate) fn json_fields(&self, out: &mut serde_json::Map<String, Value>) {
        for (f, v) in FIELDS.iter().zip(&self.0) {
            out.insert(
                (*f).to_string(),
                v.clone().map_or(Value::Null, Value::String),
            );
        }
    }

    /// The entity of a record of `namespace`: its metadata says (for records written through
    /// the Mem0 dialects), or else the namespace's parts, decoded where they can be.
    pub(crate) fn of_record(namespace: &str, metadata: &BTreeMap<String, String>) -> Entity {
        let parts: Vec<&str> = namespace
            .strip_prefix(ROOT)
            .and_then(|rest| rest.strip_prefix('/'))
            .map(|rest| rest.split('/').collect())
            .unwrap_or_default();
        let from_ns = |i: usize| -> Option<String> {
            if parts.len() != FIELDS.len() {
                return None;
            }
            decode(parts[i])
        };
        let mut out = Entity::default();
        for (i, f) in FIELDS.iter().enumerate() {
            out.0[i] = metadata.get(&meta_key(f)).cloned().or_else(|| from_ns(i));
        }
        out
    }
}

/// A namespace part for an id: the id itself when it is a valid part that cannot be mistaken
/// for an encoding, else `x-<hex>` (up to 31 bytes) or `h-<sha256 prefix>`.
fn encode(id: &str) -> String {
    let plain = id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !id.starts_with("x-")
        && !id.starts_with("h-")
        && id != "events"
        && id != "snapshots";
    if plain {
        id.to_string()
    } else if id.len() <= 31 {
        format!("x-{}", hex(id.as_bytes()))
    } else {
        format!("h-{}", &hex(&Sha256::digest(id.as_bytes()))[..32])
    }
}

/// The id behind a namespace part, where it can be read back (`h-` parts cannot).
fn decode(part: &str) -> Option<String> {
    if part == "-" || part.starts_with("h-") {
        return None;
    }
    let Some(hex) = part.strip_prefix("x-") else {
        return Some(part.to_string());
    };
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One entity field of a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Match {
    /// Not constrained.
    #[default]
    Any,
    /// Present, any value (`"*"`).
    Present,
    /// Exactly this id.
    Is(String),
}

/// Which entities a search, listing or deletion covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pattern(pub(crate) [Match; 4]);

impl Pattern {
    /// Whether a user, agent or run is constrained (Mem0 requires one).
    pub(crate) fn names_someone(&self) -> bool {
        self.0[1..].iter().any(|m| *m != Match::Any)
    }

    /// Set field `field` (one of [`FIELDS`]); false if it is not an entity field.
    pub(crate) fn set(&mut self, field: &str, value: &str) -> bool {
        let Some(i) = FIELDS.iter().position(|f| *f == field) else {
            return false;
        };
        self.0[i] = if value == "*" {
            Match::Present
        } else {
            Match::Is(value.to_string())
        };
        true
    }

    /// The namespaces (with at least one commit) whose entity matches, sorted. Fixed parts are
    /// joined without listing; only unconstrained parts are listed (each listing reused for
    /// up to a second), and the namespaces this process has written are added at once.
    pub(crate) async fn namespaces(&self, state: &AppState) -> Result<Vec<String>, ApiError> {
        let mut prefixes = vec![format!("memory/{ROOT}")];
        for m in &self.0 {
            let mut next = Vec::new();
            for prefix in prefixes {
                match m {
                    Match::Is(id) => next.push(format!("{prefix}/{}", encode(id))),
                    Match::Any | Match::Present => {
                        for child in state.folders(&prefix).await?.iter() {
                            if !(*m == Match::Present && child == "-") {
                                next.push(format!("{prefix}/{child}"));
                            }
                        }
                    }
                }
            }
            prefixes = next;
        }
        let mut out = std::collections::BTreeSet::new();
        for prefix in prefixes {
            // a joined path may not exist: keep those with commits or snapshots
            if !state.folders(&prefix).await?.is_empty() {
                out.insert(prefix["memory/".len()..].to_string());
            }
        }
        for ns in state.written_namespaces(&format!("{ROOT}/")).await {
            if self.matches(&ns) {
                out.insert(ns);
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Whether the entity namespace `namespace` (`mem0/<app>/<user>/<agent>/<run>`) matches.
    fn matches(&self, namespace: &str) -> bool {
        let Some(rest) = namespace
            .strip_prefix(ROOT)
            .and_then(|r| r.strip_prefix('/'))
        else {
            return false;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        parts.len() == FIELDS.len()
            && self.0.iter().zip(parts).all(|(m, part)| match m {
                Match::Any => true,
                Match::Present => part != "-",
                Match::Is(id) => part == encode(id),
            })
    }
}

/// A Mem0 memory id for record `root` of `namespace`.
pub(crate) fn memory_id(namespace: &str, root: &str) -> String {
    format!("{}:{root}", namespace.replace('/', "."))
}

/// The namespace and root record of a Mem0 memory id.
pub(crate) fn parse_memory_id(id: &str) -> Result<(String, String), ApiError> {
    let bad = || {
        ApiError::bad_input(format!(
            "{id:?} is not a memory id of this server (they look like `mem0.-.alice.-.-:m12`)"
        ))
    };
    let (ns, root) = id.split_once(':').ok_or_else(bad)?;
    let namespace = ns.replace('.', "/");
    lakehouse::memory::validate_namespace(&namespace).map_err(|_| bad())?;
    // only the Mem0 entities' namespaces, never another memory namespace of the store
    let parts = namespace.split('/').count();
    if !namespace.starts_with(&format!("{ROOT}/")) || parts != FIELDS.len() + 1 {
        return Err(bad());
    }
    if root.is_empty() || !root.starts_with('m') {
        return Err(bad());
    }
    Ok((namespace, root.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(user: Option<&str>, agent: Option<&str>) -> Entity {
        Entity([None, user.map(Into::into), agent.map(Into::into), None])
    }

    #[test]
    fn namespaces_are_valid_and_distinct() {
        let names = [
            entity(Some("alice"), None),
            entity(Some("bob"), None),
            entity(Some("alice"), Some("planner")),
            entity(Some("alice@example.com"), None),
            entity(Some("x-616c"), None),
            entity(Some(&"long user name ".repeat(8)), None),
            entity(Some("events"), None),
        ]
        .map(|e| e.namespace());
        for ns in &names {
            lakehouse::memory::validate_namespace(ns).unwrap();
        }
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert_eq!(names[0], "mem0/-/alice/-/-");
        assert_eq!(names[3], "mem0/-/x-616c696365406578616d706c652e636f6d/-/-");
    }

    #[test]
    fn memory_ids_round_trip_and_bad_ones_are_named() {
        let id = memory_id("mem0/-/alice/-/-", "m12.3");
        assert_eq!(id, "mem0.-.alice.-.-:m12.3");
        assert_eq!(
            parse_memory_id(&id).unwrap(),
            ("mem0/-/alice/-/-".to_string(), "m12.3".to_string())
        );
        for bad in [
            "",
            "m12",
            "a..b:m1",
            "mem0:",
            "mem0:x1",
            "../x:m1",
            "team_a.x.-.-.-:m1",
            "mem0.-.a:m1",
        ] {
            let err = parse_memory_id(bad).unwrap_err();
            assert!(err.message().contains("not a memory id"), "{bad}: {err}");
        }
    }

    #[test]
    fn entities_read_back_from_metadata() {
        let e = entity(Some("alice@example.com"), Some("bot"));
        assert_eq!(Entity::of_record("anywhere", &e.metadata()), e);
        assert_eq!(Entity::of_record(&e.namespace(), &BTreeMap::new()), e);
        assert!(e.names_someone());
        assert!(!Entity([Some("app".into()), None, None, None]).names_someone());
    }
}
