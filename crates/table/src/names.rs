//! Dataset names and column names.

use std::collections::HashSet;

use crate::TableError;

/// Suffix of the table that holds rows an ingest quarantined.
pub const REJECTS_SUFFIX: &str = "__rejects";

/// Check a dataset name: 1–64 characters, lowercase letters, digits and `_`, starting with a
/// letter. This keeps names safe as store paths and as SQL identifiers.
pub fn check_dataset_name(name: &str) -> Result<(), TableError> {
    let bad = |reason: &str| TableError::InvalidName {
        name: name.to_string(),
        reason: reason.into(),
    };
    if name.is_empty() || name.len() > 64 {
        return Err(bad("must be 1 to 64 characters"));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(bad("must start with a lowercase letter"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(bad(
            "may hold only lowercase letters, digits and '_' (no '/', '.', spaces)",
        ));
    }
    Ok(())
}

/// Normalise header names into SQL-friendly column names: lowercase ASCII letters, digits and
/// `_`, runs of anything else become one `_`, never empty, never starting with a digit, unique.
/// `"  PERMIT_TYPE"` → `permit_type`, `"PERMIT#"` → `permit`, `"Award Amount"` → `award_amount`.
pub fn normalize_columns(originals: &[String]) -> Vec<String> {
    let mut used = HashSet::new();
    originals
        .iter()
        .enumerate()
        .map(|(i, original)| {
            let mut name = String::new();
            let mut pending_sep = false;
            for c in original.trim().chars() {
                if c.is_ascii_alphanumeric() {
                    if pending_sep && !name.is_empty() {
                        name.push('_');
                    }
                    pending_sep = false;
                    name.push(c.to_ascii_lowercase());
                } else {
                    pending_sep = true;
                }
            }
            if name.is_empty() {
                name = format!("column_{}", i + 1);
            }
            if name.starts_with(|c: char| c.is_ascii_digit()) {
                name.insert(0, '_');
            }
            let base = name.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_names() {
        for good in ["permits", "sec_tickers_2", "a"] {
            check_dataset_name(good).unwrap();
        }
        for bad in [
            "",
            "../x",
            "Permits",
            "1abc",
            "a b",
            "a/b",
            "a.b",
            &"x".repeat(65),
        ] {
            assert!(check_dataset_name(bad).is_err(), "{bad}");
        }
        let err = check_dataset_name("../x").unwrap_err().to_string();
        assert!(err.contains("'../x'"), "{err}");
    }

    #[test]
    fn columns_are_normalised_and_unique() {
        let originals: Vec<String> = [
            "PERMIT#",
            "  PERMIT_TYPE",
            "STREET DIRECTION",
            "Award Amount",
            "",
            "2nd",
            "a",
            "A",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            normalize_columns(&originals),
            vec![
                "permit",
                "permit_type",
                "street_direction",
                "award_amount",
                "column_5",
                "_2nd",
                "a",
                "a_2"
            ]
        );
    }
}
