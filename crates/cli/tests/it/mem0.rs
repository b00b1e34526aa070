//! Mem0's own Python client (`mem0ai`'s `MemoryClient`, pinned in scripts/requirements-test.txt)
//! against `lakehouse serve` over real HTTP: scripts/interop/mem0_client.py runs an agent's calls
//! for two users and checks isolation, update, history and delete, then the self-hosted
//! server's paths with plain HTTP (`X-API-Key`); then the store is read back
//! through the CLI, where the same memories are `fact` records of the `mem0/...` namespaces.

use crate::serve::{TOKEN, sigterm, start};
use crate::{interop, lakehouse, run, run_interop, stderr, stdout};

#[test]
fn mem0_python_client_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data").display().to_string();
    let (mut child, base) = start(&store, &[]);
    let output = run_interop(
        interop("mem0_client.py")
            .arg(&base)
            .arg(TOKEN)
            .env("MEM0_DIR", dir.path().join("mem0-dir"))
            .env("MEM0_TELEMETRY", "False"),
    );
    sigterm(&child);
    let status = child.wait().unwrap();
    assert!(
        output.status.success(),
        "mem0_client.py failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        summary["events"],
        serde_json::json!(["ADD", "UPDATE", "DELETE"])
    );
    assert_eq!(
        summary["self_hosted"], true,
        "the self-hosted paths ran: {summary}"
    );
    assert!(status.success(), "the server exits 0 on SIGTERM: {status}");

    // what the client wrote is ordinary memory: alice's euro preference, revised then retired
    let listed = run(lakehouse(&store, &[]).args([
        "memory",
        "list",
        "--namespace",
        "mem0/-/alice/-/-",
        "--state",
        "all",
        "--json",
    ]));
    assert!(listed.status.success(), "{}", stderr(&listed));
    let text = stdout(&listed);
    assert!(
        text.contains("Swiss francs") && text.contains("\"fact\""),
        "{text}"
    );
}
