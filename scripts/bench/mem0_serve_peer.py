#!/usr/bin/env python3
"""Mem0 OSS peer for the server benchmark (`lakehouse bench serve`), driven batch by batch.

    python mem0_serve_peer.py --model-dir DIR

Mem0 (`mem0ai`'s `Memory`, in this process) with its huggingface embedder on the same MiniLM
folder, its FAISS vector store (cosine, saved to disk on every add, as Mem0 does) and history in
SQLite; adds with `infer=False` (no LLM is called; a dummy OpenAI key satisfies its config).
Query embeddings are memoised, as the Lakehouse side's embedder cache does for repeated
queries; added texts are new, so every add embeds on both sides.

Reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"op": "seed", "texts": [...]}             load the searched user's memories (untimed,
                                             straight into the vector store in batches)
  {"op": "add", "texts": [...]}              one add() per text, timed one by one
  {"op": "search", "queries": [...], "expect": [...]}
                                             one search() per query (top_k 10), timed; with
                                             `expect`, how many answers held the expected text
Each timed answer: {"latencies_ms": [...], "seconds": wall, "found": n}. Progress on stderr.
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("OPENAI_API_KEY", "unused-infer-is-false")

SEARCHED = "bench-search"
ADDER = "bench-add"


def log(msg):
    print(f"mem0_serve_peer: {msg}", file=sys.stderr, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    from datetime import datetime, timezone
    from importlib.metadata import version

    import torch
    from mem0 import Memory

    torch.set_num_threads(args.threads)
    tmp = tempfile.mkdtemp(prefix="mem0-serve-bench-")
    dims = 384
    m = Memory.from_config({
        "vector_store": {"provider": "faiss", "config": {
            "collection_name": "bench", "embedding_model_dims": dims,
            "distance_strategy": "cosine", "path": f"{tmp}/faiss"}},
        "embedder": {"provider": "huggingface", "config": {
            "model": args.model_dir, "embedding_dims": dims}},
        "history_db_path": f"{tmp}/history.db",
    })
    real_embed = m.embedding_model.embed
    queries = {}

    def embed(text, memory_action=None):
        if memory_action == "search":
            if text not in queries:
                queries[text] = real_embed(text, memory_action)
            return queries[text]
        return real_embed(text, memory_action)

    m.embedding_model.embed = embed
    print(json.dumps({"ready": True, "mem0ai": version("mem0ai"), "faiss": version("faiss-cpu"),
                      "torch": version("torch")}), flush=True)

    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "seed":
            texts = cmd["texts"]
            now = datetime.now(timezone.utc).isoformat()
            for lo in range(0, len(texts), 500):
                batch = texts[lo:lo + 500]
                vectors = m.embedding_model.model.encode(batch, convert_to_numpy=True).tolist()
                m.vector_store.insert(
                    vectors=vectors,
                    payloads=[{"data": t, "hash": hashlib.md5(t.encode()).hexdigest(),
                               "created_at": now, "updated_at": now, "user_id": SEARCHED,
                               "role": "user"} for t in batch],
                )
            log(f"seeded {len(texts)} memories")
            print(json.dumps({"seeded": len(texts)}), flush=True)
            continue
        latencies, found = [], 0
        started = time.perf_counter()
        if op == "add":
            for text in cmd["texts"]:
                t0 = time.perf_counter()
                m.add([{"role": "user", "content": text}], user_id=ADDER, infer=False)
                latencies.append((time.perf_counter() - t0) * 1000)
        elif op == "search":
            expect = cmd.get("expect") or [None] * len(cmd["queries"])
            for query, want in zip(cmd["queries"], expect):
                t0 = time.perf_counter()
                hits = m.search(query, filters={"user_id": SEARCHED}, top_k=10)
                latencies.append((time.perf_counter() - t0) * 1000)
                if want is not None and any(h["memory"] == want for h in hits["results"]):
                    found += 1
        else:
            sys.exit(f"mem0_serve_peer: unknown op {op!r}")
        print(json.dumps({"latencies_ms": latencies, "seconds": time.perf_counter() - started,
                          "found": found}), flush=True)


if __name__ == "__main__":
    main()
