//! Tool calls printed as text, for models without native tool calling (or that fall back to
//! prose): `<tool_call>{"name": …, "arguments": {…}}</tool_call>` blocks (Qwen's and Hermes'
//! format), or an answer that is one JSON object naming an offered tool (optionally in a
//! ```json fence). `arguments` may also be spelled `parameters` or `args`, and may be a JSON
//! string.

use serde_json::Value;

use super::ToolCall;

/// What [`extract_text_tool_calls`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextCalls {
    /// The calls, in order (ids `text_call_<n>`).
    pub calls: Vec<ToolCall>,
    /// Blocks that looked like calls but could not be read, with why (to tell the model).
    pub errors: Vec<String>,
    /// The text with the call blocks removed.
    pub rest: String,
}

/// Find tool calls written as text in `content`; `tools` are the offered tool names (a lone
/// JSON object counts only if it names one of them).
pub fn extract_text_tool_calls(content: &str, tools: &[&str]) -> TextCalls {
    let mut out = TextCalls::default();
    let mut rest = String::new();
    let mut tail = content;
    while let Some(start) = tail.find("<tool_call>") {
        rest.push_str(&tail[..start]);
        let after = &tail[start + "<tool_call>".len()..];
        let (inner, next) = match after.find("</tool_call>") {
            Some(end) => (&after[..end], &after[end + "</tool_call>".len()..]),
            None => (after, ""),
        };
        match serde_json::from_str::<Value>(inner.trim()) {
            Ok(value) => match call_from(&value, out.calls.len()) {
                Some(call) => out.calls.push(call),
                None => out.errors.push(format!(
                    "a <tool_call> block has no \"name\": {}",
                    inner.trim().chars().take(200).collect::<String>()
                )),
            },
            Err(e) => out
                .errors
                .push(format!("a <tool_call> block is not JSON ({e})")),
        }
        tail = next;
    }
    rest.push_str(tail);
    if out.calls.is_empty() && out.errors.is_empty() {
        let trimmed = strip_fence(content.trim());
        if trimmed.starts_with('{')
            && let Ok(value) = serde_json::from_str::<Value>(trimmed)
            && let Some(call) = call_from(&value, 0)
            && tools.contains(&call.name.as_str())
        {
            out.calls.push(call);
            rest.clear();
        }
    }
    out.rest = rest.trim().to_string();
    out
}

fn strip_fence(text: &str) -> &str {
    let Some(body) = text.strip_prefix("```") else {
        return text;
    };
    let body = body.strip_prefix("json").unwrap_or(body);
    body.strip_suffix("```").unwrap_or(body).trim()
}

fn call_from(value: &Value, n: usize) -> Option<ToolCall> {
    let name = value.get("name").or_else(|| value.get("tool"))?.as_str()?;
    let arguments = ["arguments", "parameters", "args"]
        .iter()
        .find_map(|k| value.get(*k))
        .cloned()
        .unwrap_or(Value::Object(serde_json::Map::new()));
    let arguments = match arguments {
        Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        other => other,
    };
    Some(ToolCall {
        id: format!("text_call_{n}"),
        name: name.to_string(),
        arguments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tagged_blocks_lone_objects_and_junk() {
        let found = extract_text_tool_calls(
            "Let me look.\n<tool_call>{\"name\": \"search\", \"arguments\": {\"query\": \"roof\"}}</tool_call>\n<tool_call>{\"name\": \"sql\", \"arguments\": \"{\\\"query\\\": \\\"select 1\\\"}\"}</tool_call>",
            &["search", "sql"],
        );
        assert_eq!(found.calls.len(), 2);
        assert_eq!(found.calls[0].arguments, json!({"query": "roof"}));
        assert_eq!(found.calls[1].arguments, json!({"query": "select 1"}));
        assert_eq!(found.rest, "Let me look.");

        let lone = extract_text_tool_calls(
            "```json\n{\"name\": \"final_answer\", \"parameters\": {\"answer\": \"42\"}}\n```",
            &["final_answer"],
        );
        assert_eq!(lone.calls[0].name, "final_answer");
        assert_eq!(lone.calls[0].arguments["answer"], "42");

        let prose = extract_text_tool_calls("{\"name\": \"Bob\"} is a person", &["search"]);
        assert!(prose.calls.is_empty() && prose.errors.is_empty());
        let not_a_tool = extract_text_tool_calls("{\"name\": \"Bob\"}", &["search"]);
        assert!(not_a_tool.calls.is_empty());

        let broken = extract_text_tool_calls("<tool_call>{not json</tool_call>", &["search"]);
        assert!(broken.calls.is_empty());
        assert!(broken.errors[0].contains("not JSON"), "{:?}", broken.errors);
    }
}
