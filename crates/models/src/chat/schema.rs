//! Checking tool arguments against the tool's JSON schema: the subset tool schemas use —
//! `type` (object, string, integer, number, boolean, array, null, or a list of them),
//! `properties`, `required`, `additionalProperties: false`, `items`, `enum`, `minimum` /
//! `maximum`, `minLength`, `minItems` / `maxItems`. Anything else in a schema is ignored.
//! Errors name the path (`$.corpora[1]`), so the model can fix its call.

use serde_json::Value;

/// Every way `value` breaks `schema`; empty when it fits.
pub fn validate_arguments(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, value, "$", &mut errors);
    errors
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_fits(expected: &str, value: &Value) -> bool {
    let actual = type_name(value);
    actual == expected || (expected == "number" && actual == "integer")
}

fn check(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    match &schema["type"] {
        Value::String(t) if !type_fits(t, value) => {
            errors.push(format!("{path}: expected {t}, got {}", type_name(value)));
            return;
        }
        Value::Array(ts)
            if !ts
                .iter()
                .filter_map(Value::as_str)
                .any(|t| type_fits(t, value)) =>
        {
            errors.push(format!(
                "{path}: expected one of {}, got {}",
                Value::Array(ts.clone()),
                type_name(value)
            ));
            return;
        }
        _ => {}
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        errors.push(format!(
            "{path}: {value} is not one of {}",
            Value::Array(options.clone())
        ));
    }
    match value {
        Value::Object(map) => {
            for name in schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !map.contains_key(name) {
                    errors.push(format!("{path}: missing required property {name:?}"));
                }
            }
            let properties = schema["properties"].as_object();
            for (key, item) in map {
                match properties.and_then(|p| p.get(key)) {
                    Some(sub) => check(sub, item, &format!("{path}.{key}"), errors),
                    None if schema["additionalProperties"] == Value::Bool(false) => {
                        errors.push(format!("{path}: unknown property {key:?}"));
                    }
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(min) = schema["minItems"].as_u64()
                && (items.len() as u64) < min
            {
                errors.push(format!("{path}: needs at least {min} items"));
            }
            if let Some(max) = schema["maxItems"].as_u64()
                && (items.len() as u64) > max
            {
                errors.push(format!("{path}: allows at most {max} items"));
            }
            if schema["items"].is_object() {
                for (i, item) in items.iter().enumerate() {
                    check(&schema["items"], item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(min) = schema["minimum"].as_f64()
                && x < min
            {
                errors.push(format!("{path}: {x} is below the minimum {min}"));
            }
            if let Some(max) = schema["maximum"].as_f64()
                && x > max
            {
                errors.push(format!("{path}: {x} is above the maximum {max}"));
            }
        }
        Value::String(s) => {
            if let Some(min) = schema["minLength"].as_u64()
                && (s.chars().count() as u64) < min
            {
                errors.push(format!("{path}: shorter than {min} characters"));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_each_problem_with_its_path() {
        let schema = json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1},
                "k": {"type": "integer", "minimum": 1, "maximum": 50},
                "corpora": {"type": "array", "items": {"type": "string"}},
                "mode": {"enum": ["hybrid", "vector", "bm25"]}
            },
            "required": ["query"],
            "additionalProperties": false
        });
        assert!(validate_arguments(&schema, &json!({"query": "roof", "k": 5})).is_empty());
        let errors = validate_arguments(
            &schema,
            &json!({"k": 0, "corpora": ["a", 3], "mode": "fast", "extra": true}),
        );
        let text = errors.join("\n");
        for expected in [
            "missing required property \"query\"",
            "$.k: 0 is below the minimum 1",
            "$.corpora[1]: expected string, got integer",
            "$.mode: \"fast\" is not one of",
            "unknown property \"extra\"",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        assert_eq!(
            validate_arguments(&schema, &json!("roof")),
            vec!["$: expected object, got string"]
        );
        assert!(validate_arguments(&json!({"type": "number"}), &json!(3)).is_empty());
    }
}
