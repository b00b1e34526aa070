//! Kill-and-reopen: a writer process is killed with SIGKILL mid-run; every event it acknowledged
//! as durable is readable afterwards, nothing appears twice, and what is there is a gap-free run.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use crate::{lakehouse, run, stderr, stdout};

fn kill_mid_run_then_reopen(store: &str, env: &[(&str, String)]) {
    let mut child = lakehouse(store, env)
        .args([
            "--json",
            "journal",
            "append",
            "crash",
            "--flush-every",
            "25",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for n in 0..1_000_000u64 {
            if writeln!(stdin, "{{\"n\":{n}}}").is_err() {
                return; // the writer was killed
            }
        }
    });
    let mut acked = 0u64;
    let mut acks = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked < 400 {
        let line = acks
            .next()
            .expect("the writer acknowledges flushes")
            .unwrap();
        let ack: serde_json::Value = serde_json::from_str(&line).unwrap();
        acked = ack["acked"].as_u64().unwrap();
    }
    child.kill().unwrap(); // SIGKILL: no flush, no destructor
    child.wait().unwrap();
    feeder.join().unwrap();

    let output = run(lakehouse(store, env).args(["--json", "journal", "read", "crash"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let ns: Vec<u64> = stdout(&output)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["data"]["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(
        ns.len() as u64 >= acked,
        "{} events readable, {acked} were acknowledged",
        ns.len()
    );
    assert!(
        ns.iter().copied().eq(0..ns.len() as u64),
        "events are a gap-free run without duplicates"
    );

    let output = run(lakehouse(store, env).args(["--json", "journal", "stats", "crash"]));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(stats["events"].as_u64(), Some(ns.len() as u64));
    assert_eq!(stats["gaps"], serde_json::json!([]));

    // A new writer carries on after the crash.
    let output =
        run(lakehouse(store, env).args(["journal", "append", "crash", r#"{"n":"after"}"#]));
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(lakehouse(store, env).args(["--json", "journal", "stats", "crash"]));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(stats["events"].as_u64(), Some(ns.len() as u64 + 1));
}

#[test]
fn local_writer_killed_mid_run_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    kill_mid_run_then_reopen(&dir.path().join("store").display().to_string(), &[]);
}

#[test]
fn s3_writer_killed_mid_run_loses_nothing_acknowledged() {
    let settings = lakehouse_testkit::s3_settings();
    let url = settings.fresh_url("kill");
    kill_mid_run_then_reopen(&url, &settings.env());
}
