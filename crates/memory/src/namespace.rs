//! Namespace names: the scope of a memory, mapped to `memory/<namespace>/` in the store.

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
