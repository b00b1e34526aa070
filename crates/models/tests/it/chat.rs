//! The chat providers against a local server replaying Ollama's NDJSON stream and OpenAI's
//! server-sent events (tool calls included), asserting on the request bodies; plus retries,
//! a server that hangs, and malformed streams.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use lakehouse_models::chat::{OllamaChat, OpenAiChat};
use lakehouse_models::{ChatModel, ChatRequest, Message, ModelError, ToolCall, ToolSpec};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Server {
    bodies: Arc<Mutex<Vec<Value>>>,
    auth: Arc<Mutex<Vec<Option<String>>>>,
    /// Answer 500 this many times first.
    failures: Arc<Mutex<u32>>,
    /// The body to stream back.
    reply: Arc<Mutex<String>>,
    /// Sleep this long before answering.
    delay: Arc<Mutex<Duration>>,
}

async fn answer(
    State(s): State<Server>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, String) {
    s.bodies.lock().unwrap().push(body);
    s.auth.lock().unwrap().push(
        headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string()),
    );
    let delay = *s.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    {
        let mut failures = s.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "{\"error\":\"boom\"}".into(),
            );
        }
    }
    (StatusCode::OK, s.reply.lock().unwrap().clone())
}

async fn serve(server: Server) -> String {
    let app = Router::new()
        .route("/api/chat", post(answer))
        .route("/v1/chat/completions", post(answer))
        .with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn search_tool() -> ToolSpec {
    ToolSpec {
        name: "search".into(),
        description: "Search the corpora".into(),
        parameters: json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
    }
}

/// A conversation with a tool round-trip already in it.
fn conversation() -> ChatRequest {
    let call = ToolCall {
        id: "call_1".into(),
        name: "search".into(),
        arguments: json!({"query": "roof permits"}),
    };
    ChatRequest {
        messages: vec![
            Message::system("You answer from the data."),
            Message::user("How many roof permits?"),
            Message {
                tool_calls: vec![call.clone()],
                ..Message::assistant("")
            },
            Message::tool_result(&call, "[{\"id\": \"p1\"}]"),
        ],
        tools: vec![search_tool()],
        json: true,
        temperature: Some(0.0),
    }
}

// Lines as Ollama 0.x streams them for a tool-using answer.
const OLLAMA_STREAM: &str = r#"{"model":"qwen3:8b","created_at":"2026-11-25T10:00:00.1Z","message":{"role":"assistant","content":"Checking"},"done":false}
{"model":"qwen3:8b","created_at":"2026-11-25T10:00:00.2Z","message":{"role":"assistant","content":" the data."},"done":false}
{"model":"qwen3:8b","created_at":"2026-11-25T10:00:00.3Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"search","arguments":{"query":"roof permits 2024"}}}]},"done":false}
{"model":"qwen3:8b","created_at":"2026-11-25T10:00:00.4Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"total_duration":912000000,"load_duration":1000000,"prompt_eval_count":182,"prompt_eval_duration":100000000,"eval_count":27,"eval_duration":500000000}
"#;

#[tokio::test]
async fn ollama_streams_ndjson_with_tools_and_sends_num_ctx_never_format_with_tools() {
    let server = Server::default();
    *server.reply.lock().unwrap() = OLLAMA_STREAM.into();
    let base = serve(server.clone()).await;
    let model = OllamaChat::new(&base, "qwen3:8b")
        .unwrap()
        .with_num_ctx(8192);
    assert_eq!(model.id(), "ollama:qwen3:8b");
    let answer = model.chat(&conversation()).await.unwrap();
    assert_eq!(answer.message.content, "Checking the data.");
    assert_eq!(answer.message.tool_calls.len(), 1);
    assert_eq!(answer.message.tool_calls[0].name, "search");
    assert_eq!(
        answer.message.tool_calls[0].arguments,
        json!({"query": "roof permits 2024"})
    );
    assert_eq!(
        (answer.usage.prompt_tokens, answer.usage.completion_tokens),
        (182, 27)
    );
    assert_eq!(answer.finish_reason.as_deref(), Some("stop"));

    let body = server.bodies.lock().unwrap()[0].clone();
    assert_eq!(body["model"], "qwen3:8b");
    assert_eq!(body["stream"], true);
    assert_eq!(body["options"]["num_ctx"], 8192);
    assert_eq!(body["options"]["temperature"], 0.0);
    assert!(body["keep_alive"].is_string());
    assert!(
        body.get("format").is_none(),
        "never format together with tools: {body}"
    );
    assert_eq!(body["tools"][0]["function"]["name"], "search");
    assert_eq!(
        body["tools"][0]["function"]["parameters"]["required"][0],
        "query"
    );
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(
        messages[2]["tool_calls"][0]["function"]["arguments"],
        json!({"query": "roof permits"}),
        "arguments as an object"
    );
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_name"], "search");

    // Without tools, JSON mode sends `format`.
    let mut plain = conversation();
    plain.tools.clear();
    model.chat(&plain).await.unwrap();
    let body = server.bodies.lock().unwrap()[1].clone();
    assert_eq!(body["format"], "json");
    assert!(body.get("tools").is_none());
}

// Events as OpenAI streams a tool call: arguments in fragments, usage in a last chunk.
const OPENAI_STREAM: &str = r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"search","arguments":""}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"query\":"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":" \"roof\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_def","type":"function","function":{"name":"sql","arguments":"{\"query\": \"select 1\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":95,"completion_tokens":31,"total_tokens":126}}

data: [DONE]

"#;

#[tokio::test]
async fn openai_streams_sse_joins_argument_fragments_and_counts_usage() {
    let server = Server::default();
    *server.reply.lock().unwrap() = OPENAI_STREAM.into();
    let base = serve(server.clone()).await;
    let model =
        OpenAiChat::new(&format!("{base}/v1"), "gpt-4o-mini", Some("sk-test".into())).unwrap();
    let answer = model.chat(&conversation()).await.unwrap();
    let calls = &answer.message.tool_calls;
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].id.as_str(), calls[0].name.as_str()),
        ("call_abc", "search")
    );
    assert_eq!(calls[0].arguments, json!({"query": "roof"}));
    assert_eq!(calls[1].arguments, json!({"query": "select 1"}));
    assert_eq!(
        (answer.usage.prompt_tokens, answer.usage.completion_tokens),
        (95, 31)
    );
    assert_eq!(answer.finish_reason.as_deref(), Some("tool_calls"));

    let body = server.bodies.lock().unwrap()[0].clone();
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert!(
        body.get("response_format").is_none(),
        "no JSON mode with tools"
    );
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(
        messages[2]["tool_calls"][0]["function"]["arguments"], "{\"query\":\"roof permits\"}",
        "arguments as a JSON string"
    );
    assert_eq!(messages[2]["tool_calls"][0]["type"], "function");
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_call_id"], "call_1");
    assert_eq!(
        server.auth.lock().unwrap()[0].as_deref(),
        Some("Bearer sk-test")
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let server = Server::default();
    *server.reply.lock().unwrap() = OLLAMA_STREAM.into();
    *server.failures.lock().unwrap() = 2;
    let base = serve(server.clone()).await;
    let model = OllamaChat::new(&base, "qwen3:8b").unwrap();
    model.chat(&conversation()).await.unwrap();
    assert_eq!(server.bodies.lock().unwrap().len(), 3, "two 500s retried");

    *server.failures.lock().unwrap() = 100;
    let err = model.chat(&conversation()).await.unwrap_err();
    assert!(
        matches!(err, ModelError::Status { status: 500, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("500"), "{err}");
}

#[tokio::test]
async fn a_server_that_hangs_times_out() {
    let server = Server::default();
    *server.delay.lock().unwrap() = Duration::from_secs(30);
    let base = serve(server.clone()).await;
    let model = OpenAiChat::new(&format!("{base}/v1"), "slow", None)
        .unwrap()
        .with_timeout(Duration::from_millis(500))
        .unwrap();
    let started = std::time::Instant::now();
    let err = model.chat(&conversation()).await.unwrap_err();
    assert!(
        matches!(&err, ModelError::Http { source, .. } if source.is_timeout()),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "timeouts are not retried"
    );
}

#[tokio::test]
async fn malformed_streams_are_clear_errors() {
    let server = Server::default();
    let base = serve(server.clone()).await;
    let ollama = OllamaChat::new(&base, "m").unwrap();
    let openai = OpenAiChat::new(&format!("{base}/v1"), "m", None).unwrap();
    let cases: [(&str, &dyn ChatModel, &str); 5] = [
        (
            "{\"message\":{\"content\":\"hi\"},\"done\":false}\nnot json\n",
            &ollama,
            "not JSON",
        ),
        (
            "{\"message\":{\"content\":\"hi\"},\"done\":false}\n",
            &ollama,
            "without a final `done`",
        ),
        (
            "{\"error\":\"model 'm' not found\"}\n",
            &ollama,
            "not found",
        ),
        (
            "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n",
            &openai,
            "without `data: [DONE]`",
        ),
        ("data: {broken\n\n", &openai, "not JSON"),
    ];
    for (reply, model, expected) in cases {
        *server.reply.lock().unwrap() = reply.into();
        let err = model.chat(&conversation()).await.unwrap_err();
        assert!(matches!(err, ModelError::BadResponse { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{expected} in {err}");
    }
}
