//! `lakehouse journal …` and the errors a user can run into.

use std::io::Write;
use std::process::Stdio;

use crate::{lakehouse, run, stderr, stdout};

fn local() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("store").display().to_string();
    (dir, url)
}

fn append_stdin(store: &str, prefix: &str, input: &str) -> std::process::Output {
    let mut child = lakehouse(store, &[])
        .args(["journal", "append", prefix])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn read_json(store: &str, prefix: &str) -> Vec<serde_json::Value> {
    let output = run(lakehouse(store, &[]).args(["--json", "journal", "read", prefix]));
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn append_read_compact_stats_round_trip() {
    let (_dir, store) = local();
    let output = run(lakehouse(&store, &[]).args([
        "journal",
        "append",
        "j",
        r#"{"a":1}"#,
        "[2]",
        r#""three""#,
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("appended 3 events to j"),
        "{}",
        stdout(&output)
    );
    let output = append_stdin(&store, "j", "{\"b\": 4}\n\n{\"c\": 5}\n");
    assert!(output.status.success(), "{}", stderr(&output));

    let events = read_json(&store, "j");
    let data: Vec<_> = events.iter().map(|e| e["data"].clone()).collect();
    assert_eq!(
        data,
        vec![
            serde_json::json!({"a":1}),
            serde_json::json!([2]),
            serde_json::json!("three"),
            serde_json::json!({"b":4}),
            serde_json::json!({"c":5})
        ]
    );

    let output = run(lakehouse(&store, &[]).args(["journal", "compact", "j", "--settle", "0s"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("merged 2 objects (5 events"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        read_json(&store, "j").len(),
        5,
        "compaction keeps every event once"
    );

    let output = run(lakehouse(&store, &[]).args(["--json", "journal", "stats", "j"]));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(stats["events"], 5);
    assert_eq!(stats["compacted_objects"], 1);
    assert_eq!(stats["batch_objects"], 0);
}

#[test]
fn read_continues_from_a_cursor() {
    let (_dir, store) = local();
    run(lakehouse(&store, &[]).args(["journal", "append", "j", "1", "2"]));
    let output = run(lakehouse(&store, &[]).args(["journal", "read", "j"]));
    let cursor = stderr(&output)
        .lines()
        .find_map(|l| l.strip_prefix("cursor: "))
        .unwrap()
        .to_string();
    run(lakehouse(&store, &[]).args(["journal", "append", "j", "3"]));
    let output =
        run(lakehouse(&store, &[]).args(["--json", "journal", "read", "j", "--since", &cursor]));
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["data"], 3);
}

#[test]
fn bad_json_on_stdin_names_the_line_and_keeps_what_came_before() {
    let (_dir, store) = local();
    let output = append_stdin(&store, "j", "{\"ok\":1}\n{\"ok\":2}\n{oops\n{\"ok\":3}\n");
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("stdin line 3 is not valid JSON"), "{err}");
    assert!(
        err.contains("the 2 events before it were appended and flushed"),
        "{err}"
    );
    assert_eq!(read_json(&store, "j").len(), 2);
}

#[test]
fn bad_json_argument_appends_nothing() {
    let (_dir, store) = local();
    let output = run(lakehouse(&store, &[]).args(["journal", "append", "j", "1", "{nope"]));
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("event argument 2 is not valid JSON"),
        "{}",
        stderr(&output)
    );
    assert!(read_json(&store, "j").is_empty());
}

#[test]
fn unknown_scheme_is_one_clear_line() {
    let output = run(lakehouse("gs://bucket/x", &[]).args(["journal", "stats", "j"]));
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: unsupported store URL scheme 'gs'"),
        "{err}"
    );
}

#[test]
fn unreachable_s3_is_a_clear_error() {
    let env = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1".to_string()),
        ("AWS_ACCESS_KEY_ID", "k".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "s".to_string()),
    ];
    let output = run(lakehouse("s3://nowhere/x", &env).args(["journal", "stats", "j"]));
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.starts_with("error: cannot reach store 's3://nowhere/x"),
        "{err}"
    );
}

#[test]
fn bad_prefix_and_cursor_are_rejected() {
    let (_dir, store) = local();
    let output = run(lakehouse(&store, &[]).args(["journal", "read", "../escape"]));
    assert!(
        stderr(&output).contains("invalid journal prefix '../escape'"),
        "{}",
        stderr(&output)
    );
    let output = run(lakehouse(&store, &[]).args(["journal", "read", "j", "--since", "v9:zz"]));
    assert!(
        stderr(&output).contains("invalid cursor 'v9:zz'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn malformed_object_is_named_and_nothing_is_rewritten() {
    let (dir, store) = local();
    run(lakehouse(&store, &[]).args(["journal", "append", "j", "1", "2"]));
    let folder = dir.path().join("store/j");
    let bad = folder.join("00000000000000000001-00000000000000aa-000000000000.jsonl");
    std::fs::write(&bad, "this is not an event\n").unwrap();
    let before: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (path.clone(), std::fs::read(path).unwrap())
        })
        .collect();
    for command in [["journal", "read", "j"], ["journal", "stats", "j"]] {
        let output = run(lakehouse(&store, &[]).args(command));
        assert_eq!(output.status.code(), Some(1));
        let err = stderr(&output);
        assert!(err.contains("malformed journal object 'j/00000000000000000001-00000000000000aa-000000000000.jsonl', line 1"), "{err}");
    }
    let output = run(lakehouse(&store, &[]).args(["journal", "compact", "j", "--settle", "0s"]));
    assert_eq!(output.status.code(), Some(1));
    for (path, bytes) in before {
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{} changed",
            path.display()
        );
    }
}

#[test]
fn help_teaches_the_commands() {
    let output = run(lakehouse(".", &[]).args(["journal", "--help"]));
    let text = stdout(&output);
    for word in ["append", "read", "compact", "stats"] {
        assert!(text.contains(word), "{text}");
    }
    let output = run(lakehouse(".", &[]).args(["journal", "append", "--help"]));
    assert!(stdout(&output).contains("--flush-every"));
}
