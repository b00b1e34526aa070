#!/usr/bin/env python3
"""Mem0 OSS peer for the memory benchmark (`lakehouse bench memory`).

    python mem0_peer.py --model-dir DIR --texts texts.json --vectors vecs.npy \
        --sizes 10000,100000 --ops 100 --out peer.json [--in-memory]

Mem0 (`mem0ai`) with its huggingface embedder on the same MiniLM folder and its FAISS vector
store (cosine), history in SQLite, `infer=False` adds (no LLM is called; a dummy OpenAI key
satisfies its config). Row i of the vectors is the MiniLM embedding of text i
(a JSON list; the same texts and vectors our side uses). Embedding is timed separately: Mem0's embedder is replaced by a
lookup of those vectors for the timed adds and searches, and the real embedder is timed on the
query texts on its own.

For each size N: the first N texts are loaded straight into the vector store in batches of
1000 (Mem0's add() saves the whole FAISS index to disk on every call, so loading 100k records
through it would take hours); then `--ops` adds of new texts (through add()) and `--ops`
searches (through search(), top_k 10) are timed one by one. With --in-memory the FAISS store's
save is switched off (Mem0 has no setting for it: without a path it saves to
/tmp/faiss/<collection>), showing Mem0's cost without its per-add save.
Writes JSON: {"name": "mem0", "version": ..., "sizes": [{"records": N, "load_s": ...,
"upsert_ms": {"p50", "p95", "mean"}, "search_ms": {...}}], "embed_ms": {...}}.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("OPENAI_API_KEY", "unused-infer-is-false")


def log(msg):
    print(f"mem0_peer: {msg}", file=sys.stderr, flush=True)


def summary(ms):
    ms = sorted(ms)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
    return {"p50": pick(0.5), "p95": pick(0.95), "mean": statistics.fmean(ms), "n": len(ms)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--vectors", required=True)
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--ops", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--in-memory", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    import hashlib
    from datetime import datetime, timezone
    from importlib.metadata import version

    import numpy as np
    import torch
    from mem0 import Memory

    torch.set_num_threads(args.threads)
    with open(args.texts, encoding="utf-8") as f:
        texts = json.load(f)
    vectors = np.load(args.vectors)
    assert len(texts) == vectors.shape[0], f"{len(texts)} texts, {vectors.shape[0]} vectors"
    lookup = {t: vectors[i].tolist() for i, t in enumerate(texts)}
    ops = args.ops
    queries = texts[-ops:]
    sizes = [int(s) for s in args.sizes.split(",")]
    report = {"name": "mem0", "version": version("mem0ai"), "faiss": version("faiss-cpu"),
              "persisted": not args.in_memory, "ops": ops, "sizes": []}

    for n in sizes:
        assert n + 2 * ops <= len(texts), f"size {n} needs {n + 2 * ops} texts"
        with tempfile.TemporaryDirectory(prefix="mem0-bench-") as tmp:
            config = {
                "vector_store": {"provider": "faiss", "config": {
                    "collection_name": "bench", "embedding_model_dims": vectors.shape[1],
                    "distance_strategy": "cosine",
                    "path": f"{tmp}/faiss"}},
                "embedder": {"provider": "huggingface", "config": {
                    "model": args.model_dir, "embedding_dims": vectors.shape[1]}},
                "history_db_path": f"{tmp}/history.db",
            }
            m = Memory.from_config(config)
            if args.in_memory:
                m.vector_store._save = lambda: None
            real_embed = m.embedding_model.embed
            m.embedding_model.embed = lambda text, memory_action=None: lookup[text]
            log(f"loading {n} records")
            started = time.perf_counter()
            now = datetime.now(timezone.utc).isoformat()
            for lo in range(0, n, 1000):
                batch = texts[lo:min(n, lo + 1000)]
                m.vector_store.insert(
                    vectors=[lookup[t] for t in batch],
                    payloads=[{"data": t, "hash": hashlib.md5(t.encode()).hexdigest(),
                               "created_at": now, "updated_at": now, "user_id": "bench",
                               "role": "user", "text_lemmatized": t} for t in batch],
                )
            load_s = time.perf_counter() - started
            log(f"loaded in {load_s:.1f}s; timing {ops} adds and {ops} searches")
            new = texts[n:n + ops]
            upsert_ms = []
            for t in new:
                t0 = time.perf_counter()
                m.add([{"role": "user", "content": t}], user_id="bench", infer=False)
                upsert_ms.append((time.perf_counter() - t0) * 1000)
            search_ms = []
            for q in queries:
                t0 = time.perf_counter()
                hits = m.search(q, filters={"user_id": "bench"}, top_k=10)
                search_ms.append((time.perf_counter() - t0) * 1000)
            assert hits["results"], "mem0 search returned nothing"
            report["sizes"].append({"records": n, "load_s": load_s,
                                    "upsert_ms": summary(upsert_ms),
                                    "search_ms": summary(search_ms)})
            embed_ms = []
            for q in queries:
                t0 = time.perf_counter()
                real_embed(q, "search")
                embed_ms.append((time.perf_counter() - t0) * 1000)
            report["embed_ms"] = summary(embed_ms)
            log(f"{n}: add p50 {report['sizes'][-1]['upsert_ms']['p50']:.2f} ms, "
                f"search p95 {report['sizes'][-1]['search_ms']['p95']:.2f} ms")
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
