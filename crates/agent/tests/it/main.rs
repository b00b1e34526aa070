//! The agent loop with the offline planner and with scripted models over a small real
//! workspace (two corpora, one dataset, playbook memory) in an in-memory store.
#![allow(clippy::unwrap_used)]

mod analyze;
mod loop_;

use std::collections::BTreeMap;
use std::sync::Arc;

use lakehouse_agent::{Agent, AgentOptions, Observer, Workspace};
use lakehouse_memory::{Memory, MemoryOptions};
use lakehouse_models::{ChatModel, EmbedderSpec};
use lakehouse_store::Store;
use lakehouse_table::{IngestOptions, Tables};
use lakehouse_vectord::{BuildOptions, Corpora, NoProgress, SourceRow};

const PERMITS: [(&str, &str); 6] = [
    (
        "P100",
        "Replace roofing shingles on two-story residence, cost 12500",
    ),
    ("P101", "Tear off and reroof garage with new membrane"),
    ("P102", "Install new electrical service panel 200 amp"),
    (
        "P103",
        "Interior kitchen remodel with new cabinets and plumbing",
    ),
    ("P104", "Repair porch stairs and railing on rear deck"),
    (
        "P105",
        "Reroof commercial building flat roof, modified bitumen",
    ),
];

const CONTRACTS: [(&str, &str); 4] = [
    (
        "C1",
        "Citywide roofing repair services for public buildings",
    ),
    ("C2", "Electrical maintenance for traffic signals"),
    ("C3", "Snow removal equipment rental"),
    ("C4", "Janitorial services for police stations"),
];

pub(crate) struct Fixture {
    pub store: Store,
    pub workspace: Workspace,
}

fn rows(items: &[(&str, &str)]) -> Vec<SourceRow> {
    items
        .iter()
        .map(|(id, text)| SourceRow {
            id: id.to_string(),
            text: text.to_string(),
            meta: BTreeMap::new(),
        })
        .collect()
}

pub(crate) async fn fixture() -> Fixture {
    let store = lakehouse_testkit::memory_store();
    let object_store = Arc::clone(store.object_store());
    let corpora = Arc::new(Corpora::new(Arc::clone(&object_store)));
    let spec: EmbedderSpec = "hash:64".parse().unwrap();
    let options = BuildOptions {
        embedder: Some(spec.clone()),
        ..BuildOptions::default()
    };
    corpora
        .build("permits", &rows(&PERMITS), &options, &NoProgress)
        .await
        .unwrap();
    corpora
        .build("contracts", &rows(&CONTRACTS), &options, &NoProgress)
        .await
        .unwrap();

    let tables = Tables::new(store.clone());
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("permits.csv");
    let mut text = String::from("permit,description,cost\n");
    for (n, (id, desc)) in PERMITS.iter().enumerate() {
        text.push_str(&format!("{id},\"{desc}\",{}\n", 1000 * (n + 1)));
    }
    std::fs::write(&csv, text).unwrap();
    tables
        .ingest("permits", &csv.to_string_lossy(), IngestOptions::new())
        .await
        .unwrap();

    let embedder = corpora.embedder(&spec).await.unwrap();
    let memory = Memory::open(object_store, "agent/playbooks", MemoryOptions::default())
        .await
        .unwrap()
        .with_embedder(embedder, "hash:64")
        .unwrap();
    Fixture {
        store,
        workspace: Workspace {
            tables,
            corpora,
            memory: Arc::new(memory),
        },
    }
}

pub(crate) fn agent(
    f: &Fixture,
    model: Arc<dyn ChatModel>,
    observer: Observer,
    options: AgentOptions,
) -> Agent {
    Agent::new(
        f.workspace.clone(),
        model,
        observer,
        Arc::clone(f.store.object_store()),
        options,
    )
}
