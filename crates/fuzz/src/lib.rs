//! The fuzz targets of Lakehouse: one function per parser and file format, each taking
//! arbitrary bytes and feeding them where the product meets them — an object in the store that
//! a journal, a memory namespace or a corpus reads, a file an ingest reads, a query, a model's
//! answer, a request body. A target may answer with an error (that is what bad input must
//! get); it must never panic, hang, or, for the HTTP targets, answer 5xx. `fuzz/` runs them
//! under cargo-fuzz (libFuzzer, coverage-guided; `scripts/fuzz.sh`), and `tests/seeds.rs` runs
//! each over its seed corpus in `fuzz/corpus/<target>/` plus mutations of it in every test run.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use lakehouse_ann::{HnswIndex, VectorIndexRead};
use lakehouse_memory::{ListFilter, Memory, MemoryOptions, StateFilter};
use lakehouse_store::journal::{Cursor, Journal, JournalExt, JournalOptions, StoreJournal};
use lakehouse_store::{ObjectStore, Path, Store};
use lakehouse_table::{Format, Tables};
use object_store::memory::InMemory;
use object_store::{ObjectStoreExt, PutPayload};
use tower::ServiceExt;

/// A target: a name (its folder under `fuzz/corpus/`) and the function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: [Target; 20] = [
    ("journal_object", journal_object),
    ("journal_name", journal_name),
    ("cursor", cursor),
    ("memory_commit", memory_commit),
    ("memory_snapshot", memory_snapshot),
    ("hnsw_file", hnsw_file),
    ("bm25_pack", bm25_pack),
    ("docs_parquet", docs_parquet),
    ("manifest", manifest),
    ("ingest_csv", ingest_csv),
    ("ingest_json", ingest_json),
    ("ingest_jsonl", ingest_jsonl),
    ("ingest_text", ingest_text),
    ("ingest_parquet", ingest_parquet),
    ("sql_gate", sql_gate),
    ("text_tool_calls", text_tool_calls),
    ("tool_arguments", tool_arguments),
    ("id_template", id_template),
    ("mem0_body", mem0_body),
    ("mcp_body", mcp_body),
];

/// Source folders of the decoders whose panics on damaged input the product catches and
/// reports as a corrupt file (docs Parquet, Parquet ingest, BM25 packs): arrow and parquet
/// (`unimplemented!` and overflow on damaged schemas), tantivy and the crates it reads bytes
/// with, ownedbytes and byteorder (overflow and out-of-range reads on damaged packs).
pub const CAUGHT_PANIC_SOURCES: [&str; 5] = [
    "/arrow-",
    "/parquet-",
    "/tantivy-",
    "/ownedbytes-",
    "/byteorder-",
];

/// For the cargo-fuzz binaries (`fuzz_target!(init: ...)`): libFuzzer's panic hook aborts on
/// every panic, even one the product catches, which would make the fuzzer stop on each
/// damaged file a decoder refuses with a panic. This hook lets a panic raised in
/// [`CAUGHT_PANIC_SOURCES`] unwind to the product's `catch_unwind` (if nothing catches it,
/// libFuzzer's wrapper still aborts, and that is a crash); every other panic aborts at once,
/// as before.
pub fn abort_on_uncaught_panics() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let file = info.location().map(|l| l.file()).unwrap_or_default();
        if CAUGHT_PANIC_SOURCES.iter().any(|s| file.contains(s)) {
            return;
        }
        default_hook(info);
        std::process::abort();
    }));
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the fuzz runtime: {e}"))
    })
}

fn memory_store() -> Arc<dyn ObjectStore> {
    Arc::new(InMemory::new())
}

async fn put(store: &Arc<dyn ObjectStore>, key: &str, bytes: &[u8]) {
    // a key the object store itself refuses is not a case for our parsers
    if let Ok(path) = Path::parse(key) {
        let _ = store.put(&path, PutPayload::from(bytes.to_vec())).await;
    }
}

/// A batch object's name in journal `j`.
const BATCH: &str = "j/00000000000000000001-0123456789abcdef-000000000000.jsonl";

async fn read_journal(store: Arc<dyn ObjectStore>) {
    let Ok(journal) = StoreJournal::open(store, "j", JournalOptions::default()) else {
        return;
    };
    if let Ok((events, cursor)) = journal.read_since(Cursor::start()).collect_all().await {
        for event in &events {
            let _ = event.decode::<serde_json::Value>();
        }
        // a cursor from a read reads on from there
        let _ = journal.read_since(cursor).collect_all().await;
    }
    let _ = journal.stats().await;
}

/// The bytes as one batch object of a journal.
pub fn journal_object(data: &[u8]) {
    runtime().block_on(async {
        let store = memory_store();
        put(&store, BATCH, data).await;
        read_journal(store).await;
    });
}

/// A well-formed batch object, written by the journal itself.
fn valid_batch() -> &'static [u8] {
    static BATCH_BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BATCH_BYTES.get_or_init(|| {
        runtime().block_on(async {
            let store = memory_store();
            let journal = StoreJournal::open(Arc::clone(&store), "j", JournalOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            for n in 0..3 {
                let _ = journal.append_json(&serde_json::json!({ "n": n })).await;
            }
            let _ = journal.close().await;
            let mut out = Vec::new();
            let listed = store.list_with_delimiter(Some(&Path::from("j"))).await;
            if let Some(meta) = listed.ok().and_then(|l| l.objects.into_iter().next())
                && let Ok(got) = store.get(&meta.location).await
                && let Ok(bytes) = got.bytes().await
            {
                out = bytes.to_vec();
            }
            out
        })
    })
}

/// The bytes as the name of an object under a journal's prefix (its content well-formed).
pub fn journal_name(data: &[u8]) {
    let name = String::from_utf8_lossy(data);
    let content = valid_batch();
    runtime().block_on(async {
        let store = memory_store();
        put(&store, &format!("j/{name}"), content).await;
        read_journal(store).await;
    });
}

/// The bytes as a journal cursor (`--since`, `?cursor=`): parsed, and printed back the same.
pub fn cursor(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cursor) = text.parse::<Cursor>() {
        let printed = cursor.to_string();
        let again: Cursor = printed
            .parse()
            .unwrap_or_else(|e| panic!("a printed cursor does not parse: {printed:?}: {e}"));
        assert_eq!(
            again.to_string(),
            printed,
            "a cursor's text changed on a round trip"
        );
    }
}

async fn open_namespace(store: Arc<dyn ObjectStore>) {
    let Ok(memory) = Memory::open(store, "ns", MemoryOptions::default()).await else {
        return;
    };
    let all = memory.list(&ListFilter {
        state: StateFilter::All,
        ..ListFilter::default()
    });
    for record in all.iter().take(16) {
        let _ = memory.history(&record.id, None);
        let _ = memory.get(&record.id);
    }
    let _ = memory.anomalies();
}

/// The bytes as commit 1 of a memory namespace (then commit 2, also the bytes).
pub fn memory_commit(data: &[u8]) {
    runtime().block_on(async {
        let store = memory_store();
        put(&store, "memory/ns/events/00000000000000000001.json", data).await;
        open_namespace(Arc::clone(&store)).await;
        put(&store, "memory/ns/events/00000000000000000002.json", data).await;
        open_namespace(store).await;
    });
}

/// The bytes as a namespace's snapshot.
pub fn memory_snapshot(data: &[u8]) {
    runtime().block_on(async {
        let store = memory_store();
        put(
            &store,
            "memory/ns/snapshots/00000000000000000001.json",
            data,
        )
        .await;
        open_namespace(store).await;
    });
}

/// The bytes as an HNSW index file; a loaded index is searched.
pub fn hnsw_file(data: &[u8]) {
    if let Ok(index) = HnswIndex::from_bytes(data, "fuzz") {
        let query = vec![0.5_f32; index.dim()];
        let _ = index.search(&query, 5, None);
        let _ = index.get(0);
    }
}

/// The bytes as a corpus segment's packed BM25 index; a loaded one is searched.
pub fn bm25_pack(data: &[u8]) {
    if let Ok(index) = lakehouse_vectord::bm25::Bm25Index::from_bytes(data, "fuzz") {
        // searches run on the fan-out pool, which turns a panic into an error
        // (`SearchPanicked`); the same here
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = index.search("permit roof", 5, &[], &|_| true);
            let _ = index.search("x", 5, &[("ward".into(), "1".into())], &|_| true);
        }));
    }
}

/// The bytes as a corpus segment's docs Parquet file.
pub fn docs_parquet(data: &[u8]) {
    let _ = lakehouse_vectord::docs::from_parquet(bytes::Bytes::copy_from_slice(data), "fuzz");
}

/// The bytes as a corpus manifest; the corpus is then opened and searched.
pub fn manifest(data: &[u8]) {
    runtime().block_on(async {
        let store = memory_store();
        put(
            &store,
            "corpora/c/manifests/00000000000000000001.json",
            data,
        )
        .await;
        let corpora = lakehouse_vectord::Corpora::new(store);
        if corpora.manifest("c").await.is_ok() {
            let mut request = lakehouse_vectord::SearchRequest::new("roof", vec!["c".into()]);
            request.mode = lakehouse_vectord::Mode::Bm25;
            let _ = corpora.search(&request).await;
        }
    });
}

fn ingest(format: Format, data: &[u8]) {
    let _ = lakehouse_table::fuzzing::prepare(format, data);
}

/// The bytes as a CSV file to ingest.
pub fn ingest_csv(data: &[u8]) {
    ingest(Format::Csv, data);
}

/// The bytes as a JSON file to ingest.
pub fn ingest_json(data: &[u8]) {
    ingest(Format::Json, data);
}

/// The bytes as a JSON lines file to ingest.
pub fn ingest_jsonl(data: &[u8]) {
    ingest(Format::Jsonl, data);
}

/// The bytes as a text file to ingest.
pub fn ingest_text(data: &[u8]) {
    ingest(Format::Text, data);
}

/// The bytes as a Parquet file to ingest.
pub fn ingest_parquet(data: &[u8]) {
    ingest(Format::Parquet, data);
}

/// The bytes as a query at the read-only SQL gate (parsed and checked; nothing runs).
pub fn sql_gate(data: &[u8]) {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let tables = TABLES
        .get_or_init(|| Tables::new(Store::open("memory://").unwrap_or_else(|e| panic!("{e}"))));
    let _ = tables.sql_tables(query);
}

/// The bytes as a model's answer, searched for text tool calls. A `<tool_call>` block may
/// name any tool (the agent loop answers an unknown one with an error the model reads); a
/// lone JSON object counts only if it names an offered tool.
pub fn text_tool_calls(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let found =
        lakehouse_models::chat::extract_text_tool_calls(&text, &["search", "sql", "final_answer"]);
    if text.contains("<tool_call>") {
        return;
    }
    for call in &found.calls {
        assert!(
            ["search", "sql", "final_answer"].contains(&call.name.as_str()),
            "a call to a tool that was not offered: {}",
            call.name
        );
    }
}

/// The bytes as JSON tool arguments, checked against every agent tool's schema (and, for
/// `{"schema": …, "value": …}`, that schema).
pub fn tool_arguments(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for spec in lakehouse_agent::tools::tool_specs() {
        let _ = lakehouse_models::chat::validate_arguments(&spec.parameters, &value);
    }
    if let (Some(schema), Some(v)) = (value.get("schema"), value.get("value")) {
        let _ = lakehouse_models::chat::validate_arguments(schema, v);
    }
}

/// The bytes as corpus row templates: the id template, a newline, the text template.
pub fn id_template(data: &[u8]) {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    let text = String::from_utf8_lossy(data);
    let (id, body) = text.split_once('\n').unwrap_or((&text, "{b}"));
    let batch = RecordBatch::try_from_iter([
        (
            "a",
            Arc::new(StringArray::from(vec!["x", "y", "z"])) as ArrayRef,
        ),
        ("b", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "c",
            Arc::new(StringArray::from(vec![Some("p"), None, Some("{}")])) as ArrayRef,
        ),
    ]);
    let Ok(batch) = batch else { return };
    let spec = lakehouse_vectord::RowSpec {
        id: id.to_string(),
        text: body.to_string(),
        meta: vec!["a".into()],
    };
    let _ = lakehouse_vectord::rows_from_batches(&[batch], &spec);
}

/// A server over a memory store, without tokens (the Mem0 and MCP targets share it).
fn server() -> &'static axum::Router {
    static APP: OnceLock<axum::Router> = OnceLock::new();
    APP.get_or_init(|| {
        runtime().block_on(async {
            let config = lakehouse_server::ServerConfig {
                store: "memory://".into(),
                embedder: "hash:64".into(),
                ..lakehouse_server::ServerConfig::default()
            };
            let state = lakehouse_server::AppState::open(config)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            lakehouse_server::app(state)
        })
    })
}

/// `POST path` with `body` and `headers`; the status and the body.
async fn post(
    app: &axum::Router,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (axum::http::StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::post(path).header("content-type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request
        .body(Body::from(body.to_vec()))
        .unwrap_or_else(|e| panic!("{e}"));
    let response = app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let headers = response.headers().clone();
    let collected = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        response.into_body().collect(),
    )
    .await;
    let bytes = match collected {
        Ok(Ok(c)) => c.to_bytes().to_vec(),
        _ => Vec::new(),
    };
    (status, headers, bytes)
}

/// The Mem0 routes a body may go to; the first byte of the input picks one.
const MEM0_ROUTES: [&str; 6] = [
    "/v3/memories/add/",
    "/v3/memories/search/",
    "/v3/memories/",
    "/memories",
    "/search",
    "/v1/batch/",
];

/// The bytes (after a first byte choosing the route) as a Mem0 request body.
pub fn mem0_body(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let route = MEM0_ROUTES[usize::from(pick) % MEM0_ROUTES.len()];
    let app = server();
    runtime().block_on(async {
        let (status, _, answer) = post(app, route, &[], body).await;
        assert!(
            !status.is_server_error(),
            "{route} answered {status} to a client's body: {}",
            String::from_utf8_lossy(&answer)
        );
    });
}

/// An MCP session on the shared server (initialized once).
fn mcp_session() -> &'static str {
    static SESSION: OnceLock<String> = OnceLock::new();
    SESSION.get_or_init(|| {
        let app = server();
        runtime().block_on(async {
            let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "fuzz", "version": "0"}}});
            let accept = [("accept", "application/json, text/event-stream")];
            let (_, headers, _) = post(app, "/mcp", &accept, init.to_string().as_bytes()).await;
            let session = headers
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let ready =
                serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            let with_session = [
                ("accept", "application/json, text/event-stream"),
                ("mcp-session-id", session.as_str()),
            ];
            post(app, "/mcp", &with_session, ready.to_string().as_bytes()).await;
            session
        })
    })
}

/// The bytes as a JSON-RPC message to `/mcp` within a session; an input starting with `{`
/// that parses is sent as it is, anything else as the arguments of a `tools/call` whose tool
/// the first byte picks.
pub fn mcp_body(data: &[u8]) {
    let session = mcp_session();
    let body: Vec<u8> = if data.first() == Some(&b'{') {
        data.to_vec()
    } else {
        let Some((&pick, rest)) = data.split_first() else {
            return;
        };
        // every tool but agent_run, whose runs would outlast the fuzzer's time per input
        let tools: Vec<&str> = lakehouse_server::mcp::TOOL_NAMES
            .into_iter()
            .filter(|name| *name != "agent_run")
            .collect();
        let name = tools[usize::from(pick) % tools.len()];
        let arguments: serde_json::Value =
            serde_json::from_slice(rest).unwrap_or(serde_json::Value::Null);
        serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0", "id": 2,
            "method": "tools/call", "params": {"name": name, "arguments": arguments}}))
        .unwrap_or_default()
    };
    let app = server();
    runtime().block_on(async {
        let headers = [
            ("accept", "application/json, text/event-stream"),
            ("mcp-session-id", session),
        ];
        let (status, _, answer) = post(app, "/mcp", &headers, &body).await;
        assert!(
            !status.is_server_error(),
            "/mcp answered {status}: {}",
            String::from_utf8_lossy(&answer)
        );
    });
}
