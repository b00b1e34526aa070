//! Mem0 OSS as a peer of the server benchmark: `scripts/bench/mem0_serve_peer.py` kept running
//! (its model loaded once, like our warm server) and sent one batch at a time over a JSON-lines
//! pipe, so its batches take turns with ours in the same run.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

/// The running peer.
pub(super) struct Mem0Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Versions it reported (mem0ai, faiss, torch).
    pub(super) versions: Value,
}

/// One timed batch of the peer.
pub(super) struct PeerBatch {
    pub(super) latencies_ms: Vec<f64>,
    pub(super) seconds: f64,
    pub(super) found: usize,
}

impl Mem0Peer {
    /// Start the peer on the MiniLM folder `model_dir`, with the bench venv's Python.
    pub(super) fn start(venv: &Path, model_dir: &Path) -> anyhow::Result<Mem0Peer> {
        let python = venv.join("bin/python");
        let mut child = Command::new(&python)
            .arg("scripts/bench/mem0_serve_peer.py")
            .arg("--model-dir")
            .arg(model_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot run {} ({e}); make it with scripts/setup-bench-venv.sh",
                    python.display()
                )
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            anyhow::bail!("the Mem0 peer has no pipes");
        };
        let mut peer = Mem0Peer {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            versions: Value::Null,
        };
        peer.versions = peer.answer()?;
        Ok(peer)
    }

    /// Load the searched user's memories (untimed).
    pub(super) fn seed(&mut self, texts: &[String]) -> anyhow::Result<()> {
        self.send(&json!({"op": "seed", "texts": texts}))?;
        self.answer().map(drop)
    }

    /// One `add()` per text.
    pub(super) fn add(&mut self, texts: &[String]) -> anyhow::Result<PeerBatch> {
        self.send(&json!({"op": "add", "texts": texts}))?;
        self.batch()
    }

    /// One `search()` per query; `found` counts answers holding the expected text.
    pub(super) fn search(
        &mut self,
        queries: &[String],
        expect: &[String],
    ) -> anyhow::Result<PeerBatch> {
        self.send(&json!({"op": "search", "queries": queries, "expect": expect}))?;
        self.batch()
    }

    fn send(&mut self, command: &Value) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.stdin, command)?;
        self.stdin.write_all(b"\n")?;
        self.stdin.flush()?;
        Ok(())
    }

    fn answer(&mut self) -> anyhow::Result<Value> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            let status = self.child.wait()?;
            anyhow::bail!("the Mem0 peer stopped ({status}); its stderr says why");
        }
        Ok(serde_json::from_str(&line)?)
    }

    fn batch(&mut self) -> anyhow::Result<PeerBatch> {
        let answer = self.answer()?;
        let latencies_ms = answer["latencies_ms"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        Ok(PeerBatch {
            latencies_ms,
            seconds: answer["seconds"].as_f64().unwrap_or(0.0),
            found: answer["found"].as_u64().unwrap_or(0) as usize,
        })
    }
}

impl Drop for Mem0Peer {
    fn drop(&mut self) {
        // closing stdin ends its loop; kill in case it is stuck in a batch
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
