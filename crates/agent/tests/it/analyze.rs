//! Batch analysis over the fixture's permits dataset with a model that labels each row from
//! its prompt (deterministic under concurrency): typed output columns, a row whose answers
//! never fit the schema recorded with its error, resuming after a partial run, bad inputs.

use std::sync::Arc;

use async_trait::async_trait;
use lakehouse_agent::analyze::{AnalyzeSpec, PromptFile, analyze};
use lakehouse_models::{ChatModel, ChatRequest, ChatResponse, Message, ModelError, Usage};
use lakehouse_table::SqlOptions;

use crate::fixture;

/// Labels a permit from the prompt; the row mentioning "kitchen" always gets prose, and the
/// one mentioning `down_for` gets a server error.
#[derive(Debug, Default)]
struct Labeler {
    down_for: Option<&'static str>,
}

#[async_trait]
impl ChatModel for Labeler {
    fn id(&self) -> &str {
        "test:labeler"
    }
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        assert!(request.json, "JSON answers are asked for");
        let prompt = request.messages[1].content.to_lowercase();
        if self.down_for.is_some_and(|word| prompt.contains(word)) {
            return Err(ModelError::Status {
                url: "test".into(),
                status: 503,
                body: "down".into(),
            });
        }
        let content = if prompt.contains("kitchen") {
            "I think this is a kitchen remodel.".to_string()
        } else {
            let roof = prompt.contains("roof");
            format!(
                "{{\"roof\": {roof}, \"label\": \"{}\", \"words\": {}}}",
                if roof { "roofing" } else { "other" },
                prompt.split_whitespace().count()
            )
        };
        Ok(ChatResponse {
            message: Message::assistant(content),
            usage: Usage {
                prompt_tokens: 3,
                completion_tokens: 2,
            },
            finish_reason: None,
        })
    }
}

const PROMPT: &str = "prompt: \"Permit {permit}: {description}\"\nschema:\n  type: object\n  properties:\n    roof: {type: boolean}\n    label: {type: string, enum: [roofing, other]}\n    words: {type: integer, minimum: 1}\n  required: [roof, label, words]\n";

fn spec(limit: Option<usize>) -> AnalyzeSpec {
    AnalyzeSpec {
        dataset: "permits".into(),
        id_column: "permit".into(),
        output: "permit_labels".into(),
        limit,
        concurrency: 3,
        chunk: 2,
    }
}

#[tokio::test]
async fn labels_every_row_resumes_and_records_failures() {
    let f = fixture().await;
    let prompt = PromptFile::parse(PROMPT).unwrap();
    let model: Arc<dyn ChatModel> = Arc::new(Labeler::default());
    let first = analyze(
        &f.workspace.tables,
        Arc::clone(&model),
        &prompt,
        &spec(Some(3)),
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!((first.rows, first.analyzed, first.skipped), (3, 3, 0));

    let rest = analyze(
        &f.workspace.tables,
        Arc::clone(&model),
        &prompt,
        &spec(None),
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(
        (rest.rows, rest.analyzed, rest.skipped, rest.failed),
        (6, 3, 3, 1),
        "{rest:?}"
    );
    assert!(rest.tokens > 0);

    let batches = f
        .workspace
        .tables
        .sql_collect(
            "SELECT id, roof, label, words, error FROM permit_labels ORDER BY id",
            &SqlOptions::default(),
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    lakehouse_table::write_batches(&batches, lakehouse_table::OutputFormat::JsonLines, &mut out)
        .unwrap();
    let rows: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6, "each row once");
    assert_eq!(rows[0]["id"], "P100");
    assert_eq!(rows[0]["roof"], true);
    assert_eq!(rows[0]["label"], "roofing");
    assert!(rows[0]["words"].as_i64().unwrap() > 3);
    let kitchen = rows.iter().find(|r| r["id"] == "P103").unwrap();
    assert!(
        kitchen["error"].as_str().unwrap().contains("not JSON"),
        "{kitchen}"
    );
    assert!(kitchen.get("label").is_none_or(serde_json::Value::is_null));

    let again = analyze(&f.workspace.tables, model, &prompt, &spec(None), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (again.analyzed, again.skipped),
        (0, 6),
        "nothing is analyzed twice"
    );
}

#[tokio::test]
async fn bad_prompt_files_and_columns_are_named() {
    for bad in [
        "prompt: x",
        "prompt: ''\nschema: {type: object, properties: {}}",
        "schema: {type: string}\nprompt: x",
        "prompt: x\nschema: {type: object, properties: {a: {type: string}}}\nextra: 1",
    ] {
        assert!(PromptFile::parse(bad).is_err(), "{bad}");
    }
    let f = fixture().await;
    let prompt = PromptFile::parse(PROMPT).unwrap();
    let mut wrong = spec(None);
    wrong.id_column = "nope".into();
    let err = analyze(
        &f.workspace.tables,
        Arc::new(Labeler::default()),
        &prompt,
        &wrong,
        &|_, _| {},
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no column \"nope\""), "{err}");
    let mut missing = spec(None);
    missing.dataset = "nowhere".into();
    let err = analyze(
        &f.workspace.tables,
        Arc::new(Labeler::default()),
        &prompt,
        &missing,
        &|_, _| {},
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
}
