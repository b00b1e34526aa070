#!/usr/bin/env python3
"""Peers for the ANN benchmark: hnswlib and faiss IndexHNSWFlat, inner product.

Builds each peer's HNSW index over `--base` with `--threads-build` threads (timed), then for
each ef in `--ef` searches all `--queries` in one batched call on ONE thread, best of 3
repeats, and reports queries per second and recall@k against `--gt`.

    python ann_peers.py --base base.npy --queries queries.npy --gt gt.npy --k 10 --m 16 \
        --ef-construction 128 --ef 10,16,24,32,48,64,96,128,192,256 --threads-build 2 \
        --out peers.json
    python ann_peers.py --self-test      # random 2000x32 data, exact gt by numpy; checks itself

base: float32 (n, d), L2-normalised; queries: float32 (q, d); gt: int64 (q, >=k), the exact
top-k row indices into base by inner product, best first.

Output JSON:
    {"peers": [{"name": "hnswlib", "version": ..., "build_seconds": ...,
                "params": {"m": ..., "ef_construction": ...},
                "sweep": [{"ef": ..., "recall": ..., "qps": ...}, ...]},
               {"name": "faiss-hnsw", ...}],
     "n": ..., "d": ..., "queries": ..., "k": ...}
Progress goes to stderr.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

REPEATS = 3


def log(msg):
    print(f"ann_peers: {msg}", file=sys.stderr, flush=True)


def recall_at_k(found, gt, k):
    """Mean over queries of |found[:k] ∩ gt[:k]| / k (ids < 0 — no result — never match)."""
    hits = 0
    for row, truth in zip(found[:, :k], gt[:, :k]):
        hits += len(set(int(i) for i in row if i >= 0) & set(int(i) for i in truth))
    return hits / (k * len(gt))


def best_of(fn, repeats=REPEATS):
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run_hnswlib(base, queries, gt, k, m, ef_construction, efs, threads_build):
    import hnswlib

    n, d = base.shape
    index = hnswlib.Index(space="ip", dim=d)
    t0 = time.perf_counter()
    index.init_index(max_elements=n, M=m, ef_construction=ef_construction, random_seed=100)
    index.add_items(base, np.arange(n), num_threads=threads_build)
    build = time.perf_counter() - t0
    log(f"hnswlib built in {build:.2f}s")
    index.set_num_threads(1)
    sweep = []
    for ef in efs:
        # Both peers search with max(ef, k) anyway; say so explicitly.
        index.set_ef(max(ef, k))
        seconds, (labels, _) = best_of(lambda: index.knn_query(queries, k=k, num_threads=1))
        sweep.append(point(ef, recall_at_k(labels, gt, k), len(queries) / seconds))
    version = getattr(hnswlib, "__version__", None) or dist_version("hnswlib")
    return peer("hnswlib", version, build, m, ef_construction, sweep)


def run_faiss(base, queries, gt, k, m, ef_construction, efs, threads_build):
    import faiss

    n, d = base.shape
    index = faiss.IndexHNSWFlat(d, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    faiss.omp_set_num_threads(threads_build)
    t0 = time.perf_counter()
    index.add(base)
    build = time.perf_counter() - t0
    log(f"faiss-hnsw built in {build:.2f}s")
    faiss.omp_set_num_threads(1)
    sweep = []
    for ef in efs:
        params = faiss.SearchParametersHNSW()
        params.efSearch = ef
        seconds, (_, labels) = best_of(lambda: index.search(queries, k, params=params))
        sweep.append(point(ef, recall_at_k(labels, gt, k), len(queries) / seconds))
    return peer("faiss-hnsw", faiss.__version__, build, m, ef_construction, sweep)


def point(ef, recall, qps):
    log(f"  ef={ef:<4} recall={recall:.4f} qps={qps:,.0f}")
    return {"ef": ef, "recall": round(recall, 6), "qps": round(qps, 1)}


def peer(name, version, build, m, ef_construction, sweep):
    return {
        "name": name,
        "version": version,
        "build_seconds": round(build, 4),
        "params": {"m": m, "ef_construction": ef_construction},
        "sweep": sweep,
    }


def dist_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None


def load(path, dtype, ndim):
    a = np.load(path)
    if a.ndim != ndim:
        sys.exit(f"{path}: expected {ndim} dimensions, got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=dtype)


def run(base, queries, gt, k, m, ef_construction, efs, threads_build):
    if base.shape[1] != queries.shape[1]:
        sys.exit(f"base has d={base.shape[1]}, queries d={queries.shape[1]}")
    if gt.shape[0] != queries.shape[0] or gt.shape[1] < k:
        sys.exit(f"gt has shape {gt.shape}, need ({queries.shape[0]}, >={k})")
    log(f"n={base.shape[0]} d={base.shape[1]} queries={len(queries)} k={k} m={m} "
        f"ef_construction={ef_construction} threads_build={threads_build}")
    peers = [
        run_hnswlib(base, queries, gt, k, m, ef_construction, efs, threads_build),
        run_faiss(base, queries, gt, k, m, ef_construction, efs, threads_build),
    ]
    return {"peers": peers, "n": int(base.shape[0]), "d": int(base.shape[1]),
            "queries": int(len(queries)), "k": k}


def self_test():
    rng = np.random.default_rng(7)
    n, q, d, k = 2000, 200, 32, 10
    base = rng.standard_normal((n, d)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    queries = rng.standard_normal((q, d)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    gt = np.argsort(-(queries @ base.T), axis=1, kind="stable")[:, :k].astype(np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, a in (("base", base), ("queries", queries), ("gt", gt)):
            paths[name] = os.path.join(tmp, f"{name}.npy")
            np.save(paths[name], a)
        out = os.path.join(tmp, "peers.json")
        main(["--base", paths["base"], "--queries", paths["queries"], "--gt", paths["gt"],
              "--k", str(k), "--m", "16", "--ef-construction", "100", "--ef", "10,64,256",
              "--threads-build", "2", "--out", out])
        with open(out) as f:
            result = json.load(f)
    assert (result["n"], result["d"], result["queries"], result["k"]) == (n, d, q, k), result
    assert [p["name"] for p in result["peers"]] == ["hnswlib", "faiss-hnsw"], result
    for p in result["peers"]:
        assert p["version"], p
        assert p["build_seconds"] > 0, p
        assert [s["ef"] for s in p["sweep"]] == [10, 64, 256], p
        assert all(s["qps"] > 0 for s in p["sweep"]), p
        recalls = [s["recall"] for s in p["sweep"]]
        assert recalls[-1] >= 0.98, (p["name"], recalls)
    log("self-test passed")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base")
    ap.add_argument("--queries")
    ap.add_argument("--gt")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=128)
    ap.add_argument("--ef", default="10,16,24,32,48,64,96,128,192,256")
    ap.add_argument("--threads-build", type=int, default=2)
    ap.add_argument("--out")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args(argv)
    if args.self_test:
        self_test()
        return
    missing = [f"--{a}" for a in ("base", "queries", "gt", "out") if getattr(args, a) is None]
    if missing:
        ap.error("missing " + ", ".join(missing))
    efs = [int(x) for x in args.ef.split(",") if x.strip()]
    result = run(load(args.base, np.float32, 2), load(args.queries, np.float32, 2),
                 load(args.gt, np.int64, 2), args.k, args.m, args.ef_construction, efs,
                 args.threads_build)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.out)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
