//! `lakehouse serve` as a process: started on an ephemeral port, written to by concurrent
//! clients over real HTTP, sent SIGTERM mid-write; it must drain and exit 0, and every write
//! it acknowledged must be in the store afterwards, once (local folder and the S3 test server).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::{lakehouse, run, stderr, stdout};

pub(crate) const TOKEN: &str = "serve-test-admin-token-0123456789";

/// Start the server; its address from the line it prints.
pub(crate) fn start(store: &str, env: &[(&str, String)]) -> (Child, String) {
    start_with(store, env, &[])
}

/// [`start`] with more arguments for `lakehouse serve` (`--config FILE`).
pub(crate) fn start_with(store: &str, env: &[(&str, String)], args: &[&str]) -> (Child, String) {
    let mut child = lakehouse(store, env)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(args)
        .env("LAKEHOUSE_ADMIN_TOKEN", TOKEN)
        .env("LAKEHOUSE_EMBEDDER", "hash:64")
        .env_remove("LAKEHOUSE_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Some(rest) = line.split_once("on http://").map(|(_, r)| r.to_string()) {
                let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server prints where it listens");
    (child, format!("http://{addr}"))
}

pub(crate) fn sigterm(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Writers keep sending until the server goes away; what each got a 200 for is returned.
async fn writer(
    client: reqwest::Client,
    base: String,
    worker: usize,
    acked: Arc<AtomicUsize>,
) -> Vec<String> {
    let mut mine = Vec::new();
    for n in 0.. {
        let label = format!("w{worker}-{n}");
        let (url, body) = if worker.is_multiple_of(2) {
            (
                format!("{base}/v1/journals/serve-{worker}/events"),
                json!({"events": [{"label": label}]}),
            )
        } else {
            (
                format!("{base}/v1/memory/records"),
                json!({"namespace": format!("serve/w{worker}"),
                       "drafts": [{"kind": "pathway", "content": label}]}),
            )
        };
        let sent = client
            .post(&url)
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                // an acknowledgement counts only once its body arrived whole
                if r.bytes().await.is_ok() {
                    mine.push(label);
                    acked.fetch_add(1, Ordering::SeqCst);
                }
            }
            Ok(r) if r.status().is_server_error() || r.status() == 429 => {}
            Ok(r) => panic!("{url}: {}", r.status()),
            Err(_) => break, // the server stopped
        }
    }
    mine
}

fn journal_labels(store: &str, env: &[(&str, String)], worker: usize) -> Vec<String> {
    let output = run(lakehouse(store, env).args([
        "--json",
        "journal",
        "read",
        &format!("journals/serve-{worker}"),
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["data"]["label"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn memory_labels(store: &str, env: &[(&str, String)], worker: usize) -> Vec<String> {
    let output = run(lakehouse(store, env).args([
        "--json",
        "memory",
        "list",
        "--namespace",
        &format!("serve/w{worker}"),
        "--state",
        "all",
    ]));
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
        .lines()
        .map(|l| {
            let r: Value = serde_json::from_str(l).unwrap();
            assert_eq!(r["replay_count"], 1, "counted twice: {l}");
            r["content"].as_str().unwrap().to_string()
        })
        .collect()
}

async fn sigterm_mid_write_loses_nothing(store: &str, env: &[(&str, String)]) {
    let (mut child, base) = start(store, env);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let unauthorized = client
        .get(format!("{base}/v1/datasets"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);

    let acked = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(writer(client.clone(), base.clone(), w, Arc::clone(&acked))))
        .collect();
    while acked.load(Ordering::SeqCst) < 60 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sigterm(&child);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(
        status.success(),
        "the server exits 0 after draining: {status:?}"
    );
    let mut total = 0;
    for (w, handle) in writers.into_iter().enumerate() {
        let mine = handle.await.unwrap();
        total += mine.len();
        let stored = if w.is_multiple_of(2) {
            journal_labels(store, env, w)
        } else {
            memory_labels(store, env, w)
        };
        let unique: BTreeSet<&String> = stored.iter().collect();
        assert_eq!(
            unique.len(),
            stored.len(),
            "writer {w}: something appears twice"
        );
        for label in &mine {
            assert!(
                unique.contains(label),
                "writer {w}: acknowledged {label} is lost"
            );
        }
    }
    assert!(total >= 60, "{total} writes acknowledged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_server_drains_on_sigterm_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data").display().to_string();
    sigterm_mid_write_loses_nothing(&store, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_server_drains_on_sigterm_and_loses_nothing_acknowledged() {
    let settings = lakehouse_testkit::s3_settings();
    sigterm_mid_write_loses_nothing(&settings.fresh_url("cli-serve"), &settings.env()).await;
}

#[test]
fn a_public_address_without_a_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data").display().to_string();
    let output = run(lakehouse(&store, &[])
        .args(["serve", "--addr", "0.0.0.0:0"])
        .env_remove("LAKEHOUSE_ADMIN_TOKEN")
        .env_remove("LAKEHOUSE_CONFIG"));
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("refusing to listen on 0.0.0.0:0: no tokens are configured"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn config_show_redacts_tokens_and_token_new_makes_a_usable_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data").display().to_string();
    let made =
        run(lakehouse(&store, &[]).args(["token", "new", "--name", "ci", "--scope", "write"]));
    assert!(made.status.success(), "{}", stderr(&made));
    let text = stdout(&made);
    let entry = text.split_once("add to lakehouse.toml:\n").unwrap().1;
    let config = dir.path().join("lakehouse.toml");
    std::fs::write(&config, format!("addr = \"127.0.0.1:9999\"\n{entry}")).unwrap();
    let shown = run(lakehouse(&store, &[])
        .args(["config", "show", "--config"])
        .arg(&config)
        .env("LAKEHOUSE_ADMIN_TOKEN", TOKEN));
    assert!(shown.status.success(), "{}", stderr(&shown));
    let shown = stdout(&shown);
    assert!(shown.contains("addr = \"127.0.0.1:9999\""), "{shown}");
    assert!(
        shown.contains("name = \"ci\"") && shown.contains("<redacted>"),
        "{shown}"
    );
    assert!(!shown.contains(TOKEN), "{shown}");
    let bad = run(lakehouse(&store, &[])
        .args(["config", "show", "--config"])
        .arg(dir.path().join("missing.toml")));
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("cannot read config file"),
        "{}",
        stderr(&bad)
    );
}
