//! Write the fuzz targets' seed corpus: well-formed inputs of every format, made by the code
//! that writes them (journal objects, memory commits and snapshots, HNSW files, BM25 packs,
//! docs Parquet, manifests) or taken from the test fixtures (ingest files), plus hand-written
//! queries, model answers, tool arguments, templates and request bodies.
//!
//! Usage: `make-seeds [FOLDER]` (default: fuzz/corpus of the repository)
//!
//! Seeds are named by their content hash, so running it again adds only what is new; inputs
//! a fuzzing run kept as crash reproductions live in the same folders and are left alone.

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use futures_free::collect_objects;
use lakehouse_ann::{AnnParams, HnswIndex, Quantization, VectorIndex};
use lakehouse_memory::{Draft, Kind, Memory, MemoryOptions};
use lakehouse_models::HashEmbedder;
use lakehouse_store::ObjectStore;
use lakehouse_store::journal::{Journal, JournalExt, JournalOptions, StoreJournal};
use lakehouse_vectord::docs::Doc;
use object_store::memory::InMemory;

fn write(root: &FsPath, target: &str, bytes: &[u8]) {
    let dir = root.join(target);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let name = format!(
        "seed-{:016x}",
        bytes
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b))
                .wrapping_mul(0x0100_0000_01b3))
    );
    std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{target}: {e}"));
}

/// Listing helpers without pulling `futures` into this crate's dependencies.
mod futures_free {
    use std::sync::Arc;

    use lakehouse_store::{ObjectStore, Path};
    use object_store::ObjectStoreExt;

    /// Every object under `prefix`, with its bytes, in key order.
    pub(crate) async fn collect_objects(
        store: &Arc<dyn ObjectStore>,
        prefix: &str,
    ) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut pending = vec![Path::from(prefix)];
        while let Some(dir) = pending.pop() {
            let listed = store
                .list_with_delimiter(Some(&dir))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            pending.extend(listed.common_prefixes);
            for meta in listed.objects {
                let got = store
                    .get(&meta.location)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let bytes = got.bytes().await.unwrap_or_else(|e| panic!("{e}"));
                out.push((meta.location.to_string(), bytes.to_vec()));
            }
        }
        out.sort();
        out
    }
}

async fn journal_seeds(root: &FsPath) {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let journal = StoreJournal::open(
        Arc::clone(&store),
        "j",
        JournalOptions::default().with_settle(std::time::Duration::ZERO),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for n in 0..4 {
        journal
            .append_json(&serde_json::json!({"n": n, "text": "a \"quoted\" value", "list": [1, 2]}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        journal.flush().await.unwrap_or_else(|e| panic!("{e}"));
    }
    let mut cursors = Vec::new();
    let (_, cursor) = journal
        .read_since(lakehouse_store::journal::Cursor::start())
        .collect_all()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    cursors.push(cursor.to_string());
    for (key, bytes) in collect_objects(&store, "j").await {
        write(root, "journal_object", &bytes);
        write(
            root,
            "journal_name",
            key.trim_start_matches("j/").as_bytes(),
        );
    }
    journal.compact().await.unwrap_or_else(|e| panic!("{e}"));
    for (key, bytes) in collect_objects(&store, "j").await {
        write(root, "journal_object", &bytes);
        write(
            root,
            "journal_name",
            key.trim_start_matches("j/").as_bytes(),
        );
    }
    cursors.push(lakehouse_store::journal::Cursor::start().to_string());
    for cursor in cursors {
        write(root, "cursor", cursor.as_bytes());
    }
}

async fn memory_seeds(root: &FsPath) {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let memory = Memory::open(Arc::clone(&store), "ns", MemoryOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .with_embedder(
            Arc::new(HashEmbedder::new(16).unwrap_or_else(|e| panic!("{e}"))),
            "hash:16",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let first = memory
        .upsert(Draft::new(Kind::Pathway, "count permits by ward"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    memory
        .upsert(Draft::new(Kind::Pathway, "count permits by ward"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let second = memory
        .revise(
            &first.record.id,
            Draft::new(Kind::Playbook, "count permits by ward and year"),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    memory
        .record_outcome(&second.id, true, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    memory
        .retire(&second.id, "superseded by a better one", None, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    memory.compact().await.unwrap_or_else(|e| panic!("{e}"));
    for (key, bytes) in collect_objects(&store, "memory/ns").await {
        let target = if key.contains("/snapshots/") {
            "memory_snapshot"
        } else {
            "memory_commit"
        };
        write(root, target, &bytes);
    }
}

fn index_seeds(root: &FsPath) {
    let vectors: Vec<Vec<f32>> = (0..40)
        .map(|i| {
            let v: Vec<f32> = (0..8)
                .map(|d| ((i * 7 + d * 3) % 11) as f32 - 5.0)
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect();
    let items: Vec<(u64, &[f32])> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u64, v.as_slice()))
        .collect();
    for quantization in [Quantization::Sq8, Quantization::F32] {
        let params = AnnParams {
            m: 4,
            ef_construction: 16,
            quantization,
            ..AnnParams::default()
        };
        let mut index = HnswIndex::build(8, &params, &items, 1).unwrap_or_else(|e| panic!("{e}"));
        write(
            root,
            "hnsw_file",
            &index.to_bytes().unwrap_or_else(|e| panic!("{e}")),
        );
        index.remove(3).unwrap_or_else(|e| panic!("{e}"));
        write(
            root,
            "hnsw_file",
            &index.to_bytes().unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let meta: BTreeMap<String, String> = [("ward".to_string(), "1".to_string())].into();
    let docs: Vec<Doc> = ["roof replacement permit", "new porch", "ward 1 demolition"]
        .iter()
        .enumerate()
        .map(|(i, text)| Doc {
            key: i as u64,
            id: format!("d{i}"),
            text: (*text).to_string(),
            hash: lakehouse_models::content_hash(text),
            meta: meta.clone(),
        })
        .collect();
    let bm25_docs: Vec<lakehouse_vectord::bm25::Bm25Doc<'_>> = docs
        .iter()
        .map(|d| lakehouse_vectord::bm25::Bm25Doc {
            key: d.key,
            text: &d.text,
            meta: &d.meta,
        })
        .collect();
    write(
        root,
        "bm25_pack",
        &lakehouse_vectord::bm25::build(&bm25_docs).unwrap_or_else(|e| panic!("{e}")),
    );
    write(
        root,
        "docs_parquet",
        &lakehouse_vectord::docs::to_parquet(&docs).unwrap_or_else(|e| panic!("{e}")),
    );
}

async fn manifest_seeds(root: &FsPath) {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let corpora = lakehouse_vectord::Corpora::new(Arc::clone(&store));
    let rows: Vec<lakehouse_vectord::SourceRow> = (0..30)
        .map(|i| lakehouse_vectord::SourceRow {
            id: format!("r{i}"),
            text: format!("permit {i} for roof work in ward {}", i % 5),
            meta: [("ward".to_string(), (i % 5).to_string())].into(),
        })
        .collect();
    let options = lakehouse_vectord::BuildOptions {
        embedder: Some("hash:16".parse().unwrap_or_else(|e| panic!("{e}"))),
        chunk_rows: 10,
        ..lakehouse_vectord::BuildOptions::default()
    };
    corpora
        .build("c", &rows, &options, &lakehouse_vectord::NoProgress)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (key, bytes) in collect_objects(&store, "corpora/c").await {
        if key.contains("/manifests/") {
            write(root, "manifest", &bytes);
        }
    }
}

fn file_seeds(root: &FsPath) {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../table/tests/data");
    for entry in std::fs::read_dir(&data).unwrap_or_else(|e| panic!("{}: {e}", data.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let target = match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => "ingest_csv",
            Some("json") => "ingest_json",
            Some("jsonl") => "ingest_jsonl",
            Some("md") => "ingest_text",
            _ => continue,
        };
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        // the first lines are enough to seed; whole files would slow every fuzzing run
        let cut = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(12)
            .map_or(bytes.len(), |(i, _)| i + 1);
        write(root, target, &bytes[..cut.min(4096)]);
    }
    write(
        root,
        "ingest_text",
        b"# Notes\n\nA paragraph about permits.\n\nAnother one.\n",
    );
    // a Parquet file made by the docs writer is a Parquet file to ingest as well
    let docs = vec![Doc {
        key: 1,
        id: "a".into(),
        text: "text".into(),
        hash: "h".into(),
        meta: BTreeMap::new(),
    }];
    write(
        root,
        "ingest_parquet",
        &lakehouse_vectord::docs::to_parquet(&docs).unwrap_or_else(|e| panic!("{e}")),
    );
}

fn text_seeds(root: &FsPath) {
    for q in [
        "SELECT ward, count(*) FROM permits GROUP BY ward ORDER BY 2 DESC LIMIT 5",
        "WITH t AS (SELECT * FROM a JOIN b ON a.id = b.id) SELECT * FROM t",
        "EXPLAIN SELECT 1",
        "VALUES (1, 'a'), (2, 'b')",
        "SELECT * FROM generate_series(1, 3)",
        "COPY permits TO '/tmp/x.csv'",
        "SELECT 1; DROP TABLE permits",
    ] {
        write(root, "sql_gate", q.as_bytes());
    }
    for answer in [
        "<tool_call>{\"name\": \"search\", \"arguments\": {\"query\": \"roof\"}}</tool_call>",
        "I will search.\n<tool_call>\n{\"name\":\"sql\",\"arguments\":{\"query\":\"SELECT 1\"}}\n</tool_call>",
        "{\"name\": \"final_answer\", \"arguments\": {\"answer\": \"done\", \"citations\": []}}",
        "<tool_call>{\"name\": \"search\", \"arguments\": </tool_call>",
        "plain text, no calls",
    ] {
        write(root, "text_tool_calls", answer.as_bytes());
    }
    for args in [
        r#"{"query": "roof", "k": 5, "corpora": ["permits"]}"#,
        r#"{"query": "SELECT 1"}"#,
        r#"{"answer": "x", "citations": ["permits:1"]}"#,
        r#"{"schema": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}, "required": ["n"]}, "value": {"n": 0}}"#,
        r#"{"schema": {"type": "array", "items": {"enum": ["a", "b"]}}, "value": ["a", "c"]}"#,
    ] {
        write(root, "tool_arguments", args.as_bytes());
    }
    for template in [
        "a\n{b}: {c}",
        "{a}-{b}\n{{literal}} {c}",
        "b\nc",
        "{missing}\n{a}",
        "{a\n}",
    ] {
        write(root, "id_template", template.as_bytes());
    }
    for (route, body) in [
        (
            0u8,
            r#"{"messages": [{"role": "user", "content": "I prefer euros"}], "user_id": "alice"}"#,
        ),
        (
            1,
            r#"{"query": "currency", "filters": {"user_id": "alice"}}"#,
        ),
        (2, r#"{"filters": {"AND": [{"user_id": "alice"}]}}"#),
        (
            3,
            r#"{"messages": [{"role": "user", "content": "x"}], "agent_id": "a1", "infer": false}"#,
        ),
        (4, r#"{"query": "x", "user_id": "bob", "limit": 3}"#),
        (
            5,
            r#"{"memories": [{"memory_id": "mem0.-.alice.-.-:m1", "text": "y"}]}"#,
        ),
    ] {
        let mut bytes = vec![route];
        bytes.extend_from_slice(body.as_bytes());
        write(root, "mem0_body", &bytes);
    }
    for (tool, args) in [
        (0u8, r#"{"query": "roof", "corpora": ["permits"]}"#),
        (1, r#"{"query": "SELECT 1"}"#),
        (5, r#"{"content": "a fact", "namespace": "team/a"}"#),
        (6, r#"{"query": "fact", "k": 3}"#),
        (10, r#"{"id": "m1", "reason": "old"}"#),
    ] {
        let mut bytes = vec![tool];
        bytes.extend_from_slice(args.as_bytes());
        write(root, "mcp_body", &bytes);
    }
    write(
        root,
        "mcp_body",
        br#"{"jsonrpc": "2.0", "id": 7, "method": "tools/list"}"#,
    );
    write(
        root,
        "mcp_body",
        br#"{"jsonrpc": "2.0", "id": 8, "method": "prompts/list"}"#,
    );
}

fn main() {
    let root = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus"),
        PathBuf::from,
    );
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        journal_seeds(&root).await;
        memory_seeds(&root).await;
        manifest_seeds(&root).await;
    });
    index_seeds(&root);
    file_seeds(&root);
    text_seeds(&root);
    println!("seeds written under {}", root.display());
}
