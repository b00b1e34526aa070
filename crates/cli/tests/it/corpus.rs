//! `lakehouse corpus …` and `lakehouse search` as a user runs them, with the real MiniLM model.

use crate::{lakehouse, ok, run, sample, stderr, stdout};

fn fails(store: &str, args: &[&str]) -> String {
    let output = run(lakehouse(store, &[]).args(args));
    assert_eq!(
        output.status.code(),
        Some(1),
        "{args:?} should fail: {}",
        stdout(&output)
    );
    stderr(&output)
}

#[test]
fn build_search_tune_and_errors_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let s = store.as_str();
    ok(
        s,
        &[
            "dataset",
            "ingest",
            "permits",
            &sample("chicago_permits_sample.csv"),
        ],
    );
    ok(
        s,
        &[
            "dataset",
            "ingest",
            "companies",
            &sample("sec_company_tickers_sample.json"),
        ],
    );

    let out = ok(
        s,
        &[
            "corpus",
            "build",
            "permits",
            "--from",
            "permits",
            "--text",
            "work_description",
            "--id",
            "permit",
            "--meta",
            "work_type,permit_type",
        ],
    );
    assert!(
        out.contains("corpus permits v1 from dataset permits: 298 docs (298 added"),
        "{out}"
    );
    let out = ok(
        s,
        &[
            "corpus",
            "build",
            "companies",
            "--from",
            "companies",
            "--text",
            "title",
            "--id",
            "ticker",
        ],
    );
    assert!(out.contains("300 docs"), "{out}");
    // Again: nothing to do.
    let out = ok(
        s,
        &[
            "corpus",
            "build",
            "permits",
            "--from",
            "permits",
            "--text",
            "work_description",
            "--id",
            "permit",
            "--meta",
            "work_type,permit_type",
        ],
    );
    assert!(out.contains("nothing changed"), "{out}");

    let list = ok(s, &["corpus", "list"]);
    assert!(
        list.contains("permits") && list.contains("minilm:"),
        "{list}"
    );
    let describe = ok(s, &["corpus", "describe", "permits"]);
    assert!(
        describe.contains("source     dataset permits"),
        "{describe}"
    );

    let json = ok(
        s,
        &[
            "--json",
            "search",
            "new roof on the garage",
            "--corpora",
            "permits,companies,missing",
            "--k",
            "5",
        ],
    );
    let response: serde_json::Value = serde_json::from_str(&json).unwrap();
    let hits = response["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 5);
    assert_eq!(hits[0]["corpus"], "permits");
    assert!(
        response["corpora"][2]["error"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );

    let text = ok(
        s,
        &[
            "search",
            "roof",
            "--corpora",
            "permits",
            "--mode",
            "bm25",
            "--filter",
            "work_type=Reroofing",
        ],
    );
    assert!(
        text.contains("work_type=Reroofing") && text.contains("# permits:"),
        "{text}"
    );

    let tune = ok(
        s,
        &[
            "corpus",
            "tune",
            "permits",
            "--queries",
            "40",
            "--ef",
            "10,40,80",
        ],
    );
    assert!(
        tune.contains("<- chosen") && tune.contains("journals/trials"),
        "{tune}"
    );

    // Clear errors, exit 1, nothing half-done.
    assert!(fails(s, &["search", " ", "--corpora", "permits"]).contains("the query is empty"));
    assert!(fails(s, &["search", "roof", "--corpora", "nope"]).contains("no corpus could answer"));
    assert!(
        fails(
            s,
            &["search", "roof", "--corpora", "permits", "--filter", "oops"]
        )
        .contains("expected column=value")
    );
    let err = fails(
        s,
        &[
            "corpus", "build", "x", "--from", "permits", "--text", "nope", "--id", "permit",
        ],
    );
    assert!(
        err.contains("no column \"nope\"; the dataset has: permit, permit_status"),
        "{err}"
    );
    let err = fails(
        s,
        &[
            "corpus",
            "build",
            "permits",
            "--from",
            "permits",
            "--text",
            "work_description",
            "--id",
            "permit",
            "--embedder",
            "hash:32",
        ],
    );
    assert!(err.contains("was built with embedder minilm"), "{err}");
    let err = fails(
        s,
        &[
            "corpus",
            "build",
            "dup",
            "--from",
            "permits",
            "--text",
            "work_description",
            "--id",
            "permit_type",
        ],
    );
    assert!(err.contains("duplicate id"), "{err}");
    assert!(
        fails(
            s,
            &[
                "corpus", "build", "Bad/Name", "--from", "permits", "--text", "x", "--id", "y"
            ]
        )
        .contains("invalid corpus name")
    );
    assert!(fails(s, &["corpus", "drop", "permits"]).contains("--yes"));
    ok(s, &["corpus", "drop", "permits", "--yes"]);
    assert!(!ok(s, &["corpus", "list"]).contains("permits "));
}
