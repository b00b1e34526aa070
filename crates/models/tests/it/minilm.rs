//! MiniLM run in-process must agree with sentence-transformers.
//!
//! `tests/data/minilm_reference.json` holds vectors computed once with sentence-transformers
//! (`scripts/make-minilm-fixture.py`). The model folder comes from `scripts/fetch-model.sh`;
//! when it is missing this test fails and says so (it never falls back to another embedder).

use lakehouse_models::{Embedder, MiniLm, MiniLmOptions, cosine, default_minilm_dir};

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
    max_seq_length: usize,
}

fn reference() -> Reference {
    let path = lakehouse_testkit::crate_dir().join("tests/data/minilm_reference.json");
    let text = std::fs::read_to_string(&path).expect("reference fixture is checked in");
    serde_json::from_str(&text).expect("reference fixture parses")
}

fn model(batch_size: usize) -> MiniLm {
    let dir = default_minilm_dir();
    MiniLm::load(
        &dir,
        &MiniLmOptions {
            batch_size,
            ..MiniLmOptions::default()
        },
    )
    .unwrap_or_else(|e| {
        panic!("MiniLM must be present for this test ({e}); run scripts/fetch-model.sh")
    })
}

#[tokio::test]
async fn vectors_match_sentence_transformers() {
    let reference = reference();
    assert_eq!(reference.sentences.len(), reference.vectors.len());
    // A small batch size mixes lengths across several forward passes.
    let model = model(7);
    assert_eq!(model.dim(), 384);
    assert_eq!(model.max_seq_length(), reference.max_seq_length);
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    let ours = model.embed(&texts).await.unwrap();
    let mut worst = (1.0f32, String::new());
    for ((sentence, expected), got) in reference
        .sentences
        .iter()
        .zip(&reference.vectors)
        .zip(&ours)
    {
        let c = cosine(expected, got);
        if c < worst.0 {
            worst = (c, sentence.chars().take(60).collect());
        }
    }
    assert!(
        worst.0 >= 0.999,
        "lowest cosine {} for {:?}",
        worst.0,
        worst.1
    );
}

#[tokio::test]
async fn batching_does_not_change_vectors() {
    let reference = reference();
    let texts: Vec<&str> = reference
        .sentences
        .iter()
        .take(12)
        .map(String::as_str)
        .collect();
    let together = model(32).embed(&texts).await.unwrap();
    let one_by_one = model(1);
    for (text, v) in texts.iter().zip(&together) {
        let alone = one_by_one.embed(&[text]).await.unwrap();
        assert!(cosine(&alone[0], v) > 0.99999, "{text:?}");
    }
}

#[tokio::test]
async fn empty_input_and_empty_text() {
    let model = model(32);
    assert!(model.embed(&[]).await.unwrap().is_empty());
    let v = model.embed(&[""]).await.unwrap();
    let norm: f32 = v[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!(
        (norm - 1.0).abs() < 1e-4,
        "even an empty text gets a unit vector ([CLS][SEP])"
    );
}
