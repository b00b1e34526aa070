#!/usr/bin/env bash
# Create (or update) the Python venv the embedding, ANN and memory peer benchmarks use (torch,
# sentence-transformers, hnswlib, faiss-cpu, mem0ai), outside the clone. Separate from the test venv
# (scripts/setup-venv.sh) because it is large: PyPI's torch pulls the CUDA libraries, several
# GB, though everything here runs on the CPU. hnswlib may build from source (needs g++).
#   LAKEHOUSE_BENCH_VENV   where it lives (default /var/tmp/lakehouse-bench-venv)
# Prints the venv's python path on stdout (only that); progress goes to stderr. Safe to run
# again: it only installs when scripts/requirements-bench.txt changed since the last run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${LAKEHOUSE_BENCH_VENV:-/var/tmp/lakehouse-bench-venv}
requirements="$here/requirements-bench.txt"
stamp="$venv/.lakehouse-requirements"

if [ ! -x "$venv/bin/python" ]; then
  echo "setup-bench-venv: creating $venv" >&2
  python3 -m venv "$venv" >&2
fi
if ! { [ -f "$stamp" ] && cmp -s "$stamp" "$requirements"; }; then
  echo "setup-bench-venv: installing $(grep -v '^#' "$requirements" | xargs) into $venv (large download)" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
  cp "$requirements" "$stamp"
fi
echo "$venv/bin/python"
