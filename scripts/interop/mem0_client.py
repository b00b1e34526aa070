#!/usr/bin/env python3
"""Drive a running `lakehouse serve` with Mem0's own Python client (`mem0ai`'s MemoryClient).

Usage: mem0_client.py <base_url> <token>

Runs the calls an agent written against Mem0 makes — add, search, get_all, get, update,
history, delete, batch_update, batch_delete, delete_all, users, delete_users — for two users,
and checks that they never see each other's memories, that an update keeps the id, that history
tells ADD/UPDATE/DELETE and that a deleted memory is gone. A wrong token must be refused.
Then the self-hosted server's paths (/memories, /search, /reset with X-API-Key) over plain HTTP.
Exits non-zero with the failing check on stderr; prints a one-line JSON summary on success.
"""
import json
import os
import sys
import tempfile

# Before the import: no telemetry (no traffic off this machine), no writes to ~/.mem0.
os.environ["MEM0_TELEMETRY"] = "False"
os.environ.setdefault("MEM0_DIR", tempfile.mkdtemp(prefix="mem0-dir-"))

from mem0 import MemoryClient  # noqa: E402
from mem0.exceptions import MemoryNotFoundError, ValidationError  # noqa: E402


def check(condition, what, got=None):
    if not condition:
        sys.exit(f"mem0_client.py: {what} (got {json.dumps(got, default=str)[:2000]})")


def texts(results):
    return sorted(m["memory"] for m in results)


def main():
    base, token = sys.argv[1], sys.argv[2]
    client = MemoryClient(api_key=token, host=base)
    check(client.org_id and client.project_id, "ping names an org and a project")

    alice = client.add(
        [
            {"role": "user", "content": "I want all costs reported in euros"},
            {"role": "assistant", "content": "Noted: costs in euros"},
        ],
        user_id="alice",
        metadata={"topic": "preferences", "priority": 2},
        infer=False,
    )
    check(len(alice["results"]) == 2, "alice's two messages are two memories", alice)
    check(all(r["event"] == "ADD" for r in alice["results"]), "both are ADD events", alice)
    client.add("I work from the Chicago office", user_id="alice", infer=False)
    bob = client.add("I want costs reported in dollars", user_id="bob", agent_id="planner")
    bob_id = bob["results"][0]["id"]

    # each user sees only their own memories
    found = client.search("which currency should costs use", filters={"user_id": "bob"})
    check(texts(found["results"]) == ["I want costs reported in dollars"], "bob's search", found)
    found = client.search("which currency", filters={"user_id": "alice"}, top_k=1)
    check(len(found["results"]) == 1, "top_k=1 gives one hit", found)
    check(found["results"][0]["user_id"] == "alice", "alice's search is alice's", found)
    listed = client.get_all(filters={"user_id": "alice"})
    check(len(listed["results"]) == 3, "alice has three memories", listed)
    check(all(m["user_id"] == "alice" for m in listed["results"]), "all alice's", listed)
    euros = next(m for m in listed["results"] if "euros" in m["memory"] and "Noted" not in m["memory"])
    check(euros["metadata"] == {"topic": "preferences", "priority": 2}, "metadata round trip", euros)
    by_agent = client.get_all(filters={"AND": [{"agent_id": "planner"}]})
    check(texts(by_agent["results"]) == ["I want costs reported in dollars"], "agent filter", by_agent)

    # update keeps the id; history tells the change
    memory_id = euros["id"]
    client.update(memory_id, text="I want all costs reported in Swiss francs")
    got = client.get(memory_id)
    check(got["id"] == memory_id, "update keeps the id", got)
    check(got["memory"] == "I want all costs reported in Swiss francs", "update is read back", got)
    client.batch_update([{"memory_id": bob_id, "text": "I want costs reported in yen"}])
    check(client.get(bob_id)["memory"] == "I want costs reported in yen", "batch_update")

    # delete: gone, and history tells all of it
    client.delete(memory_id)
    try:
        client.get(memory_id)
        check(False, "a deleted memory is not found")
    except MemoryNotFoundError:
        pass
    history = client.history(memory_id)
    events = [e["event"] for e in history]
    check(events == ["ADD", "UPDATE", "DELETE"], "history events", history)
    check(history[1]["old_memory"] == "I want all costs reported in euros", "old text", history)
    remaining = client.get_all(filters={"user_id": "alice"})
    check(memory_id not in [m["id"] for m in remaining["results"]], "deleted not listed", remaining)

    # bad input is refused with Mem0's error types
    try:
        client.search("costs", filters={"OR": [{"user_id": "alice"}, {"user_id": "bob"}]})
        check(False, "OR filters are refused")
    except ValidationError:
        pass

    users = client.users()
    names = sorted(e["name"] for e in users["results"] if e["type"] == "user")
    check(names == ["alice", "bob"], "users lists both", users)
    first_alice = remaining["results"][0]["id"]
    client.batch_delete([{"memory_id": first_alice}])
    client.delete_all(user_id="alice")
    check(client.get_all(filters={"user_id": "alice"})["results"] == [], "alice is cleared")
    check(len(client.get_all(filters={"user_id": "bob"})["results"]) == 1, "bob is untouched")
    client.delete_users(user_id="bob")
    check(client.get_all(filters={"user_id": "*"})["results"] == [], "everyone is cleared")

    try:
        MemoryClient(api_key="not-the-token-0123456789", host=base)
        check(False, "a wrong token is refused")
    except ValueError as e:
        check("token" in str(e).lower(), "the refusal says why", str(e))

    self_hosted(base, token)
    print(json.dumps({"ok": True, "events": events, "users": names, "self_hosted": True}))


def self_hosted(base, token):
    """Mem0's self-hosted server paths, as its REST users call them: plain HTTP, `X-API-Key`."""
    import httpx  # installed with mem0ai

    http = httpx.Client(base_url=base, headers={"X-API-Key": token}, timeout=30)
    refused = httpx.post(f"{base}/memories", headers={"X-API-Key": "wrong"},
                         json={"messages": [{"role": "user", "content": "x"}], "user_id": "erin"})
    check(refused.status_code == 401, "a wrong X-API-Key is refused", refused.text)

    def ok(response, what):
        check(response.status_code == 200, what, f"{response.status_code} {response.text}")
        return response.json()

    added = ok(http.post("/memories", json={
        "messages": [{"role": "user", "content": "Erin audits the Denver permits"}],
        "user_id": "erin", "metadata": {"team": "audit"}}), "POST /memories")
    check([r["event"] for r in added["results"]] == ["ADD"], "one ADD", added)
    ok(http.post("/memories", json={"messages": [{"role": "user", "content": "Frank likes tea"}],
                                    "user_id": "frank"}), "a second user")
    memory_id = added["results"][0]["id"]
    listed = ok(http.get("/memories", params={"user_id": "erin"}), "GET /memories")
    check(texts(listed["results"]) == ["Erin audits the Denver permits"], "erin's memories only", listed)
    found = ok(http.post("/search", json={"query": "who audits permits", "user_id": "erin"}), "POST /search")
    check(texts(found["results"]) == ["Erin audits the Denver permits"], "erin's search", found)
    got = ok(http.get(f"/memories/{memory_id}"), "GET /memories/{id}")
    check(got["memory"] == "Erin audits the Denver permits" and got["metadata"] == {"team": "audit"},
          "one memory with its metadata", got)
    ok(http.put(f"/memories/{memory_id}", json={"text": "Erin audits the Chicago permits"}), "PUT")
    check(ok(http.get(f"/memories/{memory_id}"), "GET after PUT")["memory"] == "Erin audits the Chicago permits",
          "the update kept the id")
    events = [e["event"] for e in ok(http.get(f"/memories/{memory_id}/history"), "history")]
    check(events == ["ADD", "UPDATE"], "history", events)
    bad = http.post("/search", json={"query": "", "user_id": "erin"})
    check(bad.status_code == 400 and "query" in bad.text, "an empty query is named", bad.text)
    missing = http.get("/memories/not-an-id")
    check(missing.status_code in (400, 404) and "not-an-id" in missing.text, "a bad id is named", missing.text)
    ok(http.delete(f"/memories/{memory_id}"), "DELETE /memories/{id}")
    check(http.get(f"/memories/{memory_id}").status_code == 404, "a deleted memory is gone")
    cleared = ok(http.delete("/memories", params={"user_id": "frank"}), "DELETE /memories")
    check(cleared["deleted"] == 1, "frank's one memory deleted", cleared)
    reset = ok(http.post("/reset"), "POST /reset")
    check(ok(http.get("/memories", params={"user_id": "*"}), "after reset")["results"] == [],
          "reset leaves no live memory", reset)


if __name__ == "__main__":
    main()
