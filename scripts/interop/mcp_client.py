#!/usr/bin/env python3
"""Drive Lakehouse's MCP server with the Model Context Protocol's own Python SDK (`mcp`).

Usage:
  mcp_client.py http <mcp_url> <token>        # `lakehouse serve`'s /mcp, streamable HTTP
  mcp_client.py stdio <lakehouse> <store>     # spawns `lakehouse --store STORE mcp`

The store must hold the dataset `permits` and the corpus `permits` (the Rust test that runs
this script builds them). Over HTTP the script runs what an agent does: lists the tools, queries
SQL, searches, adds / searches / revises / retires memory, reads history, turns a playbook into
a prompt, reads resources, and checks that bad calls come back as errors naming the problem
(and that a wrong token is refused). Over stdio it checks that the same store answers: the
playbook written over HTTP is there as a prompt and as a memory hit.
Exits non-zero with the failing check on stderr; prints a one-line JSON summary on success.
"""
import asyncio
import json
import os
import sys
import tempfile

# Before mem0 is imported: no telemetry (no traffic off this machine), no writes to ~/.mem0.
os.environ["MEM0_TELEMETRY"] = "False"
os.environ.setdefault("MEM0_DIR", tempfile.mkdtemp(prefix="mem0-dir-"))

import httpx2
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
from mcp.shared.exceptions import MCPError

NAMESPACE = "team/interop"
STDIO_NAMESPACE = "team/interop-stdio"
TOOLS = {
    "search", "sql", "list_datasets", "describe_dataset", "list_corpora", "memory_add",
    "memory_search", "memory_get", "memory_list", "memory_history", "memory_revise",
    "memory_retire", "memory_record_outcome", "agent_run",
}


def check(condition, what, got=None):
    if not condition:
        sys.exit(f"mcp_client.py: {what} (got {json.dumps(got, default=str)[:2000]})")


def dump(result):
    return result.model_dump(mode="json") if hasattr(result, "model_dump") else result


async def ok(session, tool, arguments=None):
    """Call a tool that must succeed; its structured answer."""
    result = await session.call_tool(tool, arguments or {})
    check(not result.is_error, f"{tool} succeeds", dump(result))
    check(isinstance(result.structured_content, dict), f"{tool} answers structured JSON", dump(result))
    check(json.loads(result.content[0].text) == result.structured_content,
          f"{tool} answers the same JSON as text, for clients that read only text", dump(result))
    return result.structured_content


async def fails(session, tool, arguments, *words):
    """Call a tool that must fail as a tool error whose text names the problem."""
    result = await session.call_tool(tool, arguments)
    check(result.is_error, f"{tool} {arguments} is a tool error", dump(result))
    text = " ".join(c.text for c in result.content if getattr(c, "text", None))
    for word in words:
        check(word.lower() in text.lower(), f"{tool}'s error mentions {word!r}", text)
    return text


async def protocol_error(call, *words):
    """An awaitable that must raise an MCP protocol error naming the problem."""
    try:
        got = await call
    except MCPError as e:
        for word in words:
            check(word.lower() in str(e).lower(), f"the error mentions {word!r}", str(e))
        return str(e)
    check(False, "a protocol error", dump(got))


async def over_http(url, token):
    # a wrong token never reaches MCP
    async with httpx2.AsyncClient() as raw:
        refused = await raw.post(
            url,
            headers={"Authorization": "Bearer wrong", "Accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        )
        missing = await raw.post(url, headers={"Accept": "application/json, text/event-stream"},
                                 json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    check(refused.status_code == 401, "a wrong token is refused with 401", refused.status_code)
    check(missing.status_code == 401, "no token is refused with 401", missing.status_code)

    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    # the connection's default namespace for memory tools and prompts
    async with http, streamable_http_client(f"{url}?namespace={NAMESPACE}", http_client=http) as (read, write):
        async with ClientSession(read, write) as session:
            summary = await agent_calls(session, NAMESPACE)
            summary.update(await with_mem0(session, base_of(url), token))
            return summary


async def agent_calls(session, ns):
    init = await session.initialize()
    check(init.server_info.name == "lakehouse", "the server says it is lakehouse", dump(init))
    caps = init.capabilities
    check(caps.tools and caps.prompts and caps.resources, "tools, prompts, resources", dump(caps))
    check("memory_search" in (init.instructions or ""), "instructions teach the tools", init.instructions)

    tools = (await session.list_tools()).tools
    names = {t.name for t in tools}
    check(names == TOOLS, "the tool list", sorted(names))
    for t in tools:
        check(t.description and t.input_schema.get("type") == "object", f"{t.name} is described", dump(t))
    check(next(t for t in tools if t.name == "sql").annotations.read_only_hint, "sql is read-only")
    check(next(t for t in tools if t.name == "memory_retire").annotations.destructive_hint,
          "memory_retire is destructive")

    # datasets and SQL
    datasets = (await ok(session, "list_datasets"))["datasets"]
    # agent_run archives its sessions as the dataset agent_sessions
    check({d["name"] for d in datasets} - {"agent_sessions"} == {"permits"}, "the datasets", datasets)
    described = await ok(session, "describe_dataset", {"name": "permits"})
    check(any(c["name"] == "work_description" for c in described["columns"]), "its columns", described)
    answer = await ok(session, "sql", {"query": "SELECT count(*) AS n FROM permits"})
    check(answer["columns"] == ["n"] and answer["rows"] == [[300]], "count(*)", answer)
    await fails(session, "sql", {"query": "DROP TABLE permits"}, "only queries", "nothing was run")
    await fails(session, "sql", {"query": "SELECT nope FROM permits"}, "nope")
    await fails(session, "sql", {}, "query")
    await fails(session, "describe_dataset", {"name": "missing"}, "missing")

    # retrieval
    corpora = (await ok(session, "list_corpora"))["corpora"]
    check([c["corpus"] for c in corpora] == ["permits"], "one corpus", corpora)
    found = await ok(session, "search", {"query": "roof repair", "corpora": ["permits"], "k": 3})
    check(len(found["hits"]) == 3, "three hits", found)
    check(all(h["corpus"] == "permits" for h in found["hits"]), "hits name their corpus", found)
    await fails(session, "search", {"query": "roof", "corpora": ["permits"], "k": "three"}, "k")

    # memory: add, search, revise, history, retire
    added = await ok(session, "memory_add", {
        "content": "Reports for the Chicago office use euros",
        "metadata": {"topic": "currency"},
        "namespace": ns,
    })
    record = added["results"][0]["record"]
    check(added["results"][0]["action"] == "added" and record["kind"] == "fact", "a fact is added", added)
    again = await ok(session, "memory_add", {"content": "Reports for the Chicago office use euros",
                                             "metadata": {"topic": "currency"}, "namespace": ns})
    check(again["results"][0]["record"]["id"] == record["id"], "the same fact is not duplicated", again)
    hits = (await ok(session, "memory_search", {"query": "which currency for Chicago reports",
                                                "namespace": ns}))["hits"]
    check(hits and hits[0]["record"]["id"] == record["id"], "memory_search finds the fact", hits)
    revised = await ok(session, "memory_revise", {"id": record["id"], "namespace": ns,
                                                   "content": "Reports for the Chicago office use Swiss francs"})
    check(revised["version"] == 2, "a revision is version 2", revised)
    await fails(session, "memory_revise", {"id": record["id"], "namespace": ns, "content": "x"},
                revised["id"])
    versions = (await ok(session, "memory_history", {"id": revised["id"], "namespace": ns}))["versions"]
    check([v["version"] for v in versions] == [1, 2], "history root to tip", versions)
    await ok(session, "memory_retire", {"id": revised["id"], "reason": "the office closed",
                                        "namespace": ns})
    hits = (await ok(session, "memory_search", {"query": "Chicago office currency",
                                                "namespace": ns}))["hits"]
    check(all(h["record"]["id"] != revised["id"] for h in hits), "a retired fact is not found", hits)
    got = await ok(session, "memory_get", {"id": record["id"], "namespace": ns})
    check(got["superseded_by"] == revised["id"], "memory_get reads an old version", got)
    await fails(session, "memory_get", {"id": "m_nope", "namespace": ns}, "m_nope")
    listed = (await ok(session, "memory_list", {"state": "all", "namespace": ns}))["records"]
    check({r["id"] for r in listed} == {record["id"], revised["id"]}, "memory_list state=all", listed)
    live = (await ok(session, "memory_list", {"namespace": ns}))["records"]
    check(live == [], "memory_list shows live records only by default", live)
    await fails(session, "memory_list", {"state": "gone", "namespace": ns}, "gone")
    await fails(session, "memory_add", {"content": "", "namespace": ns}, "empty")
    await fails(session, "memory_add", {"content": "x", "kind": "opinion", "namespace": ns}, "opinion")
    await protocol_error(session.call_tool("drop_everything", {}), "drop_everything")

    # a pathway and its outcome
    pathway = await ok(session, "memory_add", {
        "kind": "pathway", "content": "Find roofing permits",
        "steps": [{"tool": "search", "args": {"query": "roof", "corpora": ["permits"]}}],
        "outcome": "listed them", "namespace": ns,
    })
    pathway_id = pathway["results"][0]["record"]["id"]
    counted = await ok(session, "memory_record_outcome", {"id": pathway_id, "success": True,
                                                           "session": "s1", "namespace": ns})
    check(counted["success_count"] == 1, "the outcome is counted", counted)
    await fails(session, "memory_record_outcome", {"id": pathway_id, "namespace": ns}, "success")

    # the agent loop, offline model, waits for its report
    run = await ok(session, "agent_run", {"task": "How many permits are there?", "max_steps": 4})
    check(run["state"] == "succeeded" and run["result"]["answer"], "agent_run reports an answer", run)
    check(run["result"]["outcome"]["kind"] == "accepted", "the observer accepts it", run)
    sealed = f"playbook:agent/playbooks:{run['result']['sealed']['id']}"
    await fails(session, "agent_run", {"task": " "}, "empty")
    await fails(session, "agent_run", {"task": "x", "model": "nonsense:"}, "nonsense")

    # a playbook becomes a prompt, its variable a required argument
    playbook = await ok(session, "memory_add", {
        "kind": "playbook",
        "content": "Count the permits of one work type",
        "steps": [{"tool": "sql", "args": {"query": "SELECT count(*) FROM permits WHERE work_type = '{work_type}'"}}],
        "variables": ["work_type"],
        "namespace": ns,
    })
    playbook_id = playbook["results"][0]["record"]["id"]
    prompt_name = f"playbook:{ns}:{playbook_id}"
    prompts = (await session.list_prompts()).prompts
    prompt = next((p for p in prompts if p.name == prompt_name), None)
    check(prompt is not None, "the playbook is a prompt", [dump(p) for p in prompts])
    check(sealed in {p.name for p in prompts}, "the playbook agent_run sealed is a prompt", sealed)
    check([a.name for a in prompt.arguments] == ["work_type"] and prompt.arguments[0].required,
          "its variable is a required argument", dump(prompt))
    got = await session.get_prompt(prompt_name, {"work_type": "Roofing"})
    text = got.messages[0].content.text
    check("work_type = 'Roofing'" in text and "{work_type}" not in text, "the argument is filled in", text)
    await protocol_error(session.get_prompt(prompt_name, {}), "work_type")
    await protocol_error(session.get_prompt(f"playbook:{ns}:m_nope", {}), "m_nope")

    # datasets and corpora are resources
    uris = {str(r.uri) for r in (await session.list_resources()).resources}
    check({"lakehouse://datasets/permits", "lakehouse://corpora/permits", "lakehouse://datasets/agent_sessions"}
          == uris, "datasets and corpora are resources", sorted(uris))
    read = await session.read_resource("lakehouse://datasets/permits")
    check(json.loads(read.contents[0].text)["name"] == "permits", "a dataset resource is its description",
          dump(read))
    await protocol_error(session.read_resource("lakehouse://nothing/here"), "lakehouse://datasets/")
    return {"tools": len(names), "prompt": prompt_name}


def base_of(url):
    return url.removesuffix("/mcp")


async def with_mem0(session, base, token):
    """A memory written over MCP is found by Mem0's client, and the reverse; one the CLI wrote
    (namespace team/cli, by the Rust test) is found over MCP."""
    hits = (await ok(session, "memory_search", {"query": "when does the permits desk close",
                                                "namespace": "team/cli"}))["hits"]
    check(hits and hits[0]["record"]["content"] == "The permits desk closes at five",
          "MCP finds what the CLI wrote", hits)
    from mem0 import MemoryClient  # Mem0's own client

    carol = "mem0/-/carol/-/-"  # Mem0's user_id carol, as a namespace
    await ok(session, "memory_add", {"content": "Carol reviews every roofing permit", "namespace": carol})
    client = MemoryClient(api_key=token, host=base)
    found = client.search("who reviews roofing permits", filters={"user_id": "carol"})
    check([m["memory"] for m in found["results"]] == ["Carol reviews every roofing permit"],
          "Mem0's client finds what MCP wrote", found)
    client.add("Carol works from the Denver office", user_id="carol", infer=False)
    hits = (await ok(session, "memory_search", {"query": "Denver office", "namespace": carol}))["hits"]
    check(any(h["record"]["content"] == "Carol works from the Denver office" for h in hits),
          "MCP finds what Mem0's client wrote", hits)
    return {"mem0_user": "carol"}


async def over_stdio(lakehouse, store):
    server = StdioServerParameters(
        command=lakehouse,
        args=["--store", store, "mcp", "--namespace", STDIO_NAMESPACE],
        env={"LAKEHOUSE_EMBEDDER": "hash:64", "RUST_LOG": "warn"},
    )
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            summary = await agent_calls(session, STDIO_NAMESPACE)
            # the connection's namespace is the default: no namespace argument
            mine = (await ok(session, "memory_list", {"state": "all"}))["records"]
            check(mine and all(r["namespace"] == STDIO_NAMESPACE for r in mine),
                  "--namespace is the default", mine)
            answer = await ok(session, "sql", {"query": "SELECT count(*) AS n FROM permits"})
            check(answer["rows"] == [[300]], "stdio answers SQL over the same store", answer)
            hits = (await ok(session, "memory_search", {"query": "count permits of a work type",
                                                        "kind": "playbook", "namespace": NAMESPACE}))["hits"]
            check(hits, "the playbook written over HTTP is found over stdio", hits)
            got = await session.get_prompt(f"playbook:{NAMESPACE}:{hits[0]['record']['id']}",
                                           {"work_type": "Roofing"})
            check("Roofing" in got.messages[0].content.text, "and is a prompt", dump(got))
            summary["stdio"] = True
            return summary


def main():
    mode, a, b = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "http":
        summary = asyncio.run(over_http(a, b))
    elif mode == "stdio":
        summary = asyncio.run(over_stdio(a, b))
    else:
        sys.exit(f"mcp_client.py: unknown mode {mode!r} (http or stdio)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
