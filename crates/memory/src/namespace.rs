//! Namespace names: the scope of a memory, mapped to `memory/<namespace>/` in the store; and
//! [`namespaces`], which finds every namespace of a store with its commit count and size.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use serde::Serialize;

use crate::MemoryError;

/// Parts a namespace may not contain: they are the folders of a namespace's own objects, so a
/// namespace `a/events` would sit inside namespace `a`.
const RESERVED: [&str; 2] = ["events", "snapshots"];

/// Check a namespace: 1-8 parts separated by `/`, each 1-64 ASCII letters, digits, `_` or `-`,
/// starting with a letter or digit, and not `events` or `snapshots`; a part may also be exactly
/// `-` (a placeholder for an absent part, as in the Mem0 mapping `mem0/<app>/<user>/-/-`).
pub fn validate_namespace(name: &str) -> Result<(), MemoryError> {
    let invalid = |reason: &str| MemoryError::InvalidNamespace {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 8 {
        return Err(invalid("it has more than 8 parts"));
    }
    for part in parts {
        if part.is_empty() {
            return Err(invalid(
                "it has an empty part (leading, trailing or double `/`)",
            ));
        }
        if part == "-" {
            continue;
        }
        if part.len() > 64 {
            return Err(invalid("a part is longer than 64 characters"));
        }
        if !part.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(invalid(&format!(
                "part {part:?} does not start with a letter or digit"
            )));
        }
        if let Some(bad) = part
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(invalid(&format!("part {part:?} contains {bad:?}")));
        }
        if RESERVED.contains(&part) {
            return Err(invalid(&format!("{part:?} is reserved")));
        }
    }
    Ok(())
}

/// One namespace as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespaceInfo {
    /// Its name.
    pub name: String,
    /// Commits (operations) written.
    pub commits: u64,
    /// Snapshots written.
    pub snapshots: u64,
    /// Bytes of its commits and snapshots.
    pub bytes: u64,
}

/// Every namespace in `store`, by name, from one listing of `memory/` (so its cost grows with
/// the number of commits; the counts are exact as of the listing).
pub async fn namespaces(store: &dyn ObjectStore) -> Result<Vec<NamespaceInfo>, MemoryError> {
    let mut found: BTreeMap<String, NamespaceInfo> = BTreeMap::new();
    let mut listing = store.list(Some(&Path::from("memory")));
    while let Some(meta) = listing.try_next().await? {
        let owned: Vec<_> = meta.location.parts().collect();
        let parts: Vec<&str> = owned.iter().map(AsRef::as_ref).collect();
        // memory/<namespace parts…>/(events|snapshots)/<file>; reserved names end a namespace
        let Some(at) = parts
            .iter()
            .position(|p| RESERVED.contains(p))
            .filter(|&at| at >= 2 && at + 2 == parts.len())
        else {
            continue;
        };
        let name = parts[1..at].join("/");
        if validate_namespace(&name).is_err() {
            continue;
        }
        let entry = found.entry(name.clone()).or_insert(NamespaceInfo {
            name,
            commits: 0,
            snapshots: 0,
            bytes: 0,
        });
        if parts[at] == "events" {
            entry.commits += 1;
        } else {
            entry.snapshots += 1;
        }
        entry.bytes += meta.size;
    }
    Ok(found.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_names() {
        for good in [
            "default",
            "project/agent/user",
            "a",
            "team-1/bot_2",
            "mem0/-/alice/-/-",
        ] {
            validate_namespace(good).unwrap();
        }
        for bad in [
            "",
            "../x",
            "a/../b",
            "/a",
            "a/",
            "a//b",
            ".hidden",
            "a b",
            "a/events",
            "x/snapshots/y",
            "a/b/c/d/e/f/g/h/i",
            "--",
            "-x",
        ] {
            let err = validate_namespace(bad).unwrap_err();
            assert!(
                matches!(err, MemoryError::InvalidNamespace { .. }),
                "{bad}: {err}"
            );
        }
    }
}
