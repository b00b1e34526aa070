#!/usr/bin/env python3
"""Time DuckDB turning a CSV file into Parquet; print one line of JSON.

Usage: duckdb_ingest.py <csv_file> [--runs 3] [--threads 2]

Every run uses a fresh in-memory connection with `SET threads=<threads>` and times (wall clock)
COPY (SELECT * FROM read_csv_auto('<file>')) TO '<tmpdir>/out.parquet' (FORMAT PARQUET).
"""
import argparse
import json
import os
import sys
import tempfile
import time

import duckdb


def sql_str(s: str) -> str:
    """Quote a string as a SQL literal."""
    return "'" + s.replace("'", "''") + "'"


def one_run(csv_file: str, threads: int, tmpdir: str) -> tuple[float, int]:
    out = os.path.join(tmpdir, "out.parquet")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SET threads={int(threads)}")
        start = time.perf_counter()
        con.execute(
            f"COPY (SELECT * FROM read_csv_auto({sql_str(csv_file)})) TO {sql_str(out)} (FORMAT PARQUET)"
        )
        seconds = time.perf_counter() - start
        # Count the rows from the Parquet output (outside the timed part).
        rows = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(out)})").fetchone()[0]
    finally:
        con.close()
    os.remove(out)
    return seconds, rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv_file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.runs < 1 or args.threads < 1:
        ap.error("--runs and --threads must be at least 1")
    if not os.path.isfile(args.csv_file):
        print(f"duckdb_ingest: no such file: {args.csv_file}", file=sys.stderr)
        return 1

    size = os.path.getsize(args.csv_file)
    runs, rows = [], None
    with tempfile.TemporaryDirectory(prefix="duckdb_ingest_") as tmpdir:
        for _ in range(args.runs):
            seconds, n = one_run(args.csv_file, args.threads, tmpdir)
            runs.append(seconds)
            rows = n
    best = min(runs)
    print(json.dumps({
        "tool": "duckdb",
        "version": duckdb.__version__,
        "file": args.csv_file,
        "bytes": size,
        "rows": rows,
        "runs_seconds": runs,
        "best_seconds": best,
        "rows_per_s": rows / best,
        "mb_per_s": size / 1e6 / best,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
