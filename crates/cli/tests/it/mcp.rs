//! The MCP server with the protocol's own Python SDK (`mcp`, pinned in
//! scripts/requirements-test.txt): scripts/interop/mcp_client.py drives `lakehouse serve`'s
//! `/mcp` over streamable HTTP (tools, prompts, resources, errors, a wrong token), then
//! `lakehouse mcp` over stdio on the same store, where what the first client wrote is found.
//! A memory written over MCP is found by Mem0's client (`mem0ai`) and the reverse, and the CLI
//! lists both; one written through the CLI is found over MCP.

use crate::serve::{TOKEN, sigterm, start};
use crate::{interop, ok, run_interop};

fn client(args: &[&str]) -> serde_json::Value {
    let output = run_interop(interop("mcp_client.py").args(args));
    assert!(
        output.status.success(),
        "mcp_client.py {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn mcp_python_client_over_http_and_stdio() {
    let (_dir, store) = crate::agent::workspace();

    // written through the CLI, found through MCP
    ok(
        &store,
        &[
            "memory",
            "upsert",
            "--namespace",
            "team/cli",
            "--embedder",
            "hash:64",
            "--content",
            "The permits desk closes at five",
        ],
    );

    let (mut child, base) = start(&store, &[]);
    let http = client(&["http", &format!("{base}/mcp"), TOKEN]);
    sigterm(&child);
    let status = child.wait().unwrap();
    assert_eq!(http["tools"], 14, "{http}");
    assert!(status.success(), "the server exits 0 on SIGTERM: {status}");

    let stdio = client(&["stdio", env!("CARGO_BIN_EXE_lakehouse"), &store]);
    assert_eq!(stdio["stdio"], true, "{stdio}");
    assert_eq!(stdio["tools"], 14, "{stdio}");

    // carol's memories, one written over MCP and one by Mem0's client, through the CLI
    let listed = ok(
        &store,
        &[
            "memory",
            "list",
            "--namespace",
            "mem0/-/carol/-/-",
            "--json",
        ],
    );
    assert!(
        listed.contains("Carol reviews every roofing permit")
            && listed.contains("Carol works from the Denver office"),
        "{listed}"
    );
}
