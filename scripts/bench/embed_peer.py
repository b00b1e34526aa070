#!/usr/bin/env python3
"""sentence-transformers peer for the embedding-speed benchmark (CPU).

    python embed_peer.py --model-dir DIR --sentences file.txt --threads 2 --batch-size 32 \
        --out-vectors vecs.npy --out peer.json

Loads the model folder offline (HF_HUB_OFFLINE=1) on the CPU with `--threads` torch threads,
warms up on two batches (the first sentences, the longest ones), then times encode(all sentences, normalize_embeddings=True),
best of 2 runs. Writes the vectors (float32, (n, dim), in input order) and JSON:
    {"name": "sentence-transformers", "version": ..., "torch": ..., "threads": ...,
     "batch_size": ..., "sentences": n, "seconds": ..., "sentences_per_second": ...,
     "max_seq_length": ...}
The sentences file has one sentence a line (a trailing newline is dropped; blank lines are
kept as empty sentences so row i of the vectors is line i). Progress goes to stderr.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RUNS = 2


def log(msg):
    print(f"embed_peer: {msg}", file=sys.stderr, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--sentences", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--out-vectors", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    import numpy as np
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    with open(args.sentences, encoding="utf-8") as f:
        sentences = f.read().split("\n")
    if sentences and sentences[-1] == "":
        sentences.pop()
    if not sentences:
        sys.exit(f"{args.sentences}: no sentences")

    model = SentenceTransformer(args.model_dir, device="cpu")
    model.eval()
    log(f"{len(sentences)} sentences, threads={args.threads} batch_size={args.batch_size} "
        f"max_seq_length={model.max_seq_length}")

    def encode(batch):
        with torch.inference_mode():
            return model.encode(batch, batch_size=args.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)

    # Warm-up: a batch of the first sentences and one of the longest (the largest shapes).
    encode(sentences[: args.batch_size] + sorted(sentences, key=len)[-args.batch_size:])
    best, vectors = float("inf"), None
    for run in range(RUNS):
        t0 = time.perf_counter()
        vectors = encode(sentences)
        seconds = time.perf_counter() - t0
        log(f"run {run + 1}: {seconds:.3f}s ({len(sentences) / seconds:,.1f} sentences/s)")
        best = min(best, seconds)

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    np.save(args.out_vectors, vectors)
    result = {
        "name": "sentence-transformers",
        "version": sentence_transformers.__version__,
        "torch": torch.__version__,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "sentences": len(sentences),
        "seconds": round(best, 4),
        "sentences_per_second": round(len(sentences) / best, 2),
        "max_seq_length": int(model.max_seq_length),
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.out)
    log(f"wrote {args.out} and {args.out_vectors} {vectors.shape}")


if __name__ == "__main__":
    main()
