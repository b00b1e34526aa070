//! `lakehouse memory …` end to end: every command on a local store, JSON in and out, clear
//! errors for bad input, and a writer killed with SIGKILL mid-stream.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use serde_json::Value;

use crate::{lakehouse, run, stderr, stdout};

/// Run `lakehouse --json memory <args>` (hash embedder, namespace `team/bot`), expect success,
/// and parse each output line.
fn memory(store: &str, args: &[&str], stdin: Option<&str>) -> Vec<Value> {
    let mut command = lakehouse(store, &[]);
    command
        .args(["--json", "memory"])
        .args(args)
        .args(["--namespace", "team/bot"]);
    let output = match stdin {
        None => run(&mut command),
        Some(text) => {
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        }
    };
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn fails(store: &str, args: &[&str]) -> String {
    let output = run(lakehouse(store, &[]).args(["memory"]).args(args));
    assert!(!output.status.success(), "{args:?} succeeded");
    stderr(&output)
}

#[test]
fn every_command_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let draft = r#"{"kind": "pathway", "content": "count permits by ward",
        "steps": [{"tool": "sql", "args": {"query": "select ward, count(*) from permits group by ward"}}],
        "metadata": {"team": "ops"}}"#;
    let added = memory(
        &store,
        &["upsert", "-", "--embedder", "hash:64"],
        Some(draft),
    );
    assert_eq!(added[0]["action"], "added");
    let id = added[0]["record"]["id"].as_str().unwrap().to_string();
    // The same workflow again (keys re-ordered): an update, no embedder flag needed now.
    let again = r#"{"content": "count permits  by ward", "kind": "pathway",
        "steps": [{"args": {"query": "select ward, count(*) from permits group by ward"}, "tool": "sql"}]}"#;
    let updated = memory(&store, &["upsert", "-"], Some(again));
    assert_eq!(updated[0]["action"], "updated");
    assert_eq!(updated[0]["record"]["replay_count"], 2);
    // Flags instead of a file; a JSONL batch.
    let playbook = memory(
        &store,
        &[
            "upsert",
            "--kind",
            "playbook",
            "--content",
            "weekly permit report for {ward}",
            "--meta",
            "team=ops",
        ],
        None,
    );
    let batch = "{\"kind\":\"pathway\",\"content\":\"vendor lookup\"}\n{\"kind\":\"pathway\",\"content\":\"ticker lookup\"}\n";
    assert_eq!(memory(&store, &["upsert", "-"], Some(batch)).len(), 2);

    let revised = memory(
        &store,
        &[
            "revise",
            &id,
            "--content",
            "count permits by ward and year",
            "--expected-version",
            "1",
        ],
        None,
    );
    let tip = revised[0]["id"].as_str().unwrap().to_string();
    assert_eq!(revised[0]["version"], 2);
    assert_eq!(
        revised[0]["kind"], "pathway",
        "kind defaults to the record's"
    );
    assert_eq!(
        revised[0]["metadata"]["team"], "ops",
        "metadata is inherited"
    );
    assert_eq!(revised[0]["steps"][0]["tool"], "sql", "steps are inherited");
    let err = fails(
        &store,
        &["revise", &id, "--content", "again", "-n", "team/bot"],
    );
    assert!(err.contains("superseded") && err.contains(&tip), "{err}");

    let history = memory(&store, &["history", &tip], None);
    let chain: Vec<&str> = history[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(chain, [id.as_str(), tip.as_str()]);

    let hits = memory(&store, &["search", "permits by ward", "-k", "3"], None);
    assert!(hits.iter().any(|h| h["record"]["id"] == tip.as_str()));
    assert!(
        hits.iter().all(|h| h["record"]["id"] != id.as_str()),
        "superseded never returned"
    );
    let filtered = memory(
        &store,
        &[
            "search",
            "permit report",
            "--kind",
            "playbook",
            "--filter",
            "team=ops",
        ],
        None,
    );
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0]["record"]["id"], playbook[0]["record"]["id"]);

    let outcome = memory(
        &store,
        &["record-outcome", &tip, "--failure", "--session", "s9"],
        None,
    );
    assert_eq!(outcome[0]["failure_count"], 1);
    let retired = memory(
        &store,
        &["retire", &tip, "--reason", "wrong table", "--actor", "me"],
        None,
    );
    assert_eq!(retired[0][0]["retire_reason"], "wrong table");
    let live = memory(&store, &["list"], None);
    assert_eq!(live.len(), 3);
    let all = memory(&store, &["list", "--state", "all"], None);
    assert_eq!(all.len(), 5);
    let got = memory(&store, &["get", &tip], None);
    assert_eq!(got[0]["retired_by"], "me");
    assert!(got[0].get("embedding").is_none());
    let snap = memory(&store, &["compact"], None);
    assert_eq!(snap[0]["snapshot"], 7, "one commit per command");
    assert_eq!(
        memory(&store, &["list", "--state", "all"], None),
        all,
        "same after the snapshot"
    );

    // Human output reads well too.
    let output = run(lakehouse(&store, &[]).args(["memory", "history", &tip, "-n", "team/bot"]));
    let text = stdout(&output);
    assert!(
        text.contains("superseded") && text.contains("retired") && text.contains("wrong table"),
        "{text}"
    );
}

#[test]
fn bad_input_is_named_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    memory(
        &store,
        &[
            "upsert",
            "--kind",
            "pathway",
            "--content",
            "seed",
            "--embedder",
            "hash:64",
        ],
        None,
    );
    let before = memory(&store, &["list", "--state", "all"], None);
    let cases: &[(&[&str], &str)] = &[
        (&["get", "m99", "-n", "team/bot"], "no record \"m99\""),
        (&["list", "-n", "../x"], "invalid namespace"),
        (
            &[
                "upsert",
                "--kind",
                "pathway",
                "--content",
                "  ",
                "-n",
                "team/bot",
            ],
            "content is empty",
        ),
        (
            &[
                "upsert",
                "--kind",
                "memo",
                "--content",
                "x",
                "-n",
                "team/bot",
            ],
            "unknown kind",
        ),
        (
            &["retire", "m1", "--reason", "", "-n", "team/bot"],
            "needs a reason",
        ),
        (
            &["history", "m1", "--as-of", "yesterday", "-n", "team/bot"],
            "RFC 3339",
        ),
        (
            &["list", "--state", "dead", "-n", "team/bot"],
            "unknown state",
        ),
        (&["search", " ", "-n", "team/bot"], "query is empty"),
        (
            &[
                "upsert",
                "--kind",
                "pathway",
                "--content",
                "x",
                "--embedder",
                "hash:32",
                "-n",
                "team/bot",
            ],
            "was written with embedder",
        ),
    ];
    for (args, expected) in cases {
        let err = fails(&store, args);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let file = dir.path().join("bad.json");
    std::fs::write(&file, "{\"kind\": \"pathway\", \"content\": \"x\",}").unwrap();
    let err = fails(
        &store,
        &["upsert", file.to_str().unwrap(), "-n", "team/bot"],
    );
    assert!(err.contains("bad.json line 1"), "{err}");
    std::fs::write(
        &file,
        "[{\"kind\": \"pathway\", \"content\": \"ok\"}, {\"kind\": \"pathway\"}]",
    )
    .unwrap();
    let err = fails(
        &store,
        &["upsert", file.to_str().unwrap(), "-n", "team/bot"],
    );
    assert!(
        err.contains("item 2") && err.contains("missing field `content`"),
        "{err}"
    );
    assert_eq!(
        memory(&store, &["list", "--state", "all"], None),
        before,
        "nothing was written"
    );
}

#[test]
fn writer_killed_mid_stream_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let mut child = lakehouse(&store, &[])
        .args([
            "--json",
            "memory",
            "upsert",
            "--each",
            "-",
            "-n",
            "crash",
            "--embedder",
            "hash:64",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for n in 0..100_000u64 {
            let line = format!("{{\"kind\":\"pathway\",\"content\":\"task {n}\"}}");
            if writeln!(stdin, "{line}").is_err() {
                return; // the writer was killed
            }
        }
    });
    let mut acked = Vec::new();
    let mut acks = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 150 {
        let line = acks
            .next()
            .expect("the writer acknowledges commits")
            .unwrap();
        let ack: Value = serde_json::from_str(&line).unwrap();
        acked.push(ack["record"]["id"].as_str().unwrap().to_string());
    }
    child.kill().unwrap(); // SIGKILL: no flush, no destructor
    child.wait().unwrap();
    feeder.join().unwrap();

    let output =
        run(lakehouse(&store, &[])
            .args(["--json", "memory", "list", "--state", "all", "-n", "crash"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "no anomalies after the crash");
    let records: Vec<Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for id in &acked {
        assert!(ids.contains(&id.as_str()), "acknowledged {id} is missing");
    }
    let contents: std::collections::HashSet<&str> = records
        .iter()
        .map(|r| r["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents.len(), records.len(), "nothing twice");
    // A new writer carries on with the next commit.
    let output = run(lakehouse(&store, &[]).args([
        "--json",
        "memory",
        "upsert",
        "--kind",
        "pathway",
        "--content",
        "after",
        "-n",
        "crash",
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    let after: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(after["record"]["id"], format!("m{}", records.len() + 1));
}
