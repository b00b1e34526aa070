//! Ollama and OpenAI-compatible embedders against a local server speaking their wire formats.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use lakehouse_models::{
    Embedder, EmbedderSpec, ModelError, OllamaEmbedder, OpenAiEmbedder, open_embedder,
};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Seen {
    bodies: Arc<Mutex<Vec<Value>>>,
    auth: Arc<Mutex<Vec<Option<String>>>>,
    /// Answer 503 this many times before succeeding.
    failures: Arc<Mutex<u32>>,
}

/// Not unit length, as some servers answer; a text `overflow` gets a value past `f32::MAX`.
fn fake_vector(text: &str) -> Vec<f64> {
    if text == "overflow" {
        return vec![1e39, 0.0, 0.0];
    }
    vec![text.len() as f64, 1.0, 0.0]
}

/// `fake_vector(text)` at unit length, as the embedders must return it.
fn unit(text: &str) -> Vec<f32> {
    let v = fake_vector(text);
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter().map(|x| (x / norm) as f32).collect()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
}

async fn ollama(State(seen): State<Seen>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    seen.bodies.lock().unwrap().push(body.clone());
    {
        let mut failures = seen.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "loading model"})),
            );
        }
    }
    let input: Vec<String> = serde_json::from_value(body["input"].clone()).unwrap();
    let embeddings: Vec<Vec<f64>> = input.iter().map(|t| fake_vector(t)).collect();
    (
        StatusCode::OK,
        Json(json!({"model": body["model"], "embeddings": embeddings, "total_duration": 1000})),
    )
}

async fn openai(
    State(seen): State<Seen>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    seen.bodies.lock().unwrap().push(body.clone());
    seen.auth.lock().unwrap().push(
        headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string()),
    );
    if body["model"] == "missing" {
        return (
            StatusCode::NOT_FOUND,
            Json(
                json!({"error": {"message": "The model `missing` does not exist", "type": "invalid_request_error"}}),
            ),
        );
    }
    let input: Vec<String> = serde_json::from_value(body["input"].clone()).unwrap();
    // Answer out of order: clients must place vectors by `index`.
    let data: Vec<Value> = input
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": fake_vector(t)}))
        .collect();
    (
        StatusCode::OK,
        Json(
            json!({"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 3, "total_tokens": 3}}),
        ),
    )
}

async fn serve(seen: Seen) -> String {
    let app = Router::new()
        .route("/api/embed", post(ollama))
        .route("/v1/embeddings", post(openai))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn ollama_embed_sends_model_and_inputs_and_retries_503() {
    let seen = Seen::default();
    *seen.failures.lock().unwrap() = 2;
    let base = serve(seen.clone()).await;
    let e = OllamaEmbedder::connect(&base, "nomic-embed-text", None)
        .await
        .unwrap();
    assert_eq!(e.dim(), 3, "dimension learned from the probe");
    assert_eq!(e.id(), "ollama:nomic-embed-text");
    let v = e.embed(&["ab", "abcd"]).await.unwrap();
    assert!(
        close(&v[0], &unit("ab")) && close(&v[1], &unit("abcd")),
        "{v:?}"
    );
    let bodies = seen.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 4, "two 503s, the probe, the real call");
    assert_eq!(
        bodies[3],
        json!({"model": "nomic-embed-text", "input": ["ab", "abcd"], "truncate": true})
    );
}

#[tokio::test]
async fn openai_embed_orders_by_index_and_sends_the_key() {
    let seen = Seen::default();
    let base = serve(seen.clone()).await;
    let e = OpenAiEmbedder::connect(
        &format!("{base}/v1"),
        "text-embedding-3-small",
        Some("sk-test".into()),
        Some(3),
    )
    .await
    .unwrap();
    let texts: Vec<String> = (0..70).map(|i| "x".repeat(i + 1)).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let v = e.embed(&refs).await.unwrap();
    assert_eq!(v.len(), 70);
    for (i, (v, t)) in v.iter().zip(&texts).enumerate() {
        assert!(close(v, &unit(t)), "vector {i} is {v:?}");
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-6, "vector {i} has length {norm}");
    }
    let bodies = seen.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 2, "70 texts go in two requests of at most 64");
    assert_eq!(bodies[0]["model"], "text-embedding-3-small");
    assert_eq!(bodies[0]["encoding_format"], "float");
    assert_eq!(
        seen.auth.lock().unwrap()[0].as_deref(),
        Some("Bearer sk-test")
    );
}

#[tokio::test]
async fn a_vector_past_f32_is_an_error_not_infinity() {
    let base = serve(Seen::default()).await;
    let e = OllamaEmbedder::connect(&base, "m", Some(3)).await.unwrap();
    let err = e.embed(&["fine", "overflow"]).await.unwrap_err();
    assert!(
        err.to_string().contains("non-finite value for text 1"),
        "{err}"
    );
}

#[tokio::test]
async fn server_errors_are_reported_with_status_and_body() {
    let base = serve(Seen::default()).await;
    let err = OpenAiEmbedder::connect(&format!("{base}/v1"), "missing", None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ModelError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn unreachable_server_is_a_clear_error() {
    let spec: EmbedderSpec = "ollama:x@http://127.0.0.1:9".parse().unwrap();
    let err = open_embedder(&spec).await.unwrap_err();
    assert!(err.to_string().contains("127.0.0.1:9/api/embed"), "{err}");
}
