#!/usr/bin/env bash
# The project's test command (README "Quickstart"; .ci/run calls it).
# Installs what the tests need (the Python venv with the S3 test server and the protocol
# clients, the MiniLM model folder, Debian's Chromium for the console's browser test), starts
# the S3 test server on 127.0.0.1, and runs every test of the workspace. S3, MiniLM and browser
# tests fail, never skip, if the server cannot start or the model or browser is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/lakehouse-target}

# MiniLM tests load the model from here (the default location, unless already set).
LAKEHOUSE_MINILM_DIR=$(scripts/fetch-model.sh)
export LAKEHOUSE_MINILM_DIR
scripts/setup-browser.sh
eval "$(scripts/s3-test-server.sh start)"
trap 'scripts/s3-test-server.sh stop' EXIT

# Doc examples first, so the run ends with the main suite's summary.
cargo test --workspace --all-features --doc
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --no-fail-fast
else
  cargo test --workspace --all-features --no-fail-fast
fi

# The crash harness, a short run (the full one: scripts/crash-test.sh --trials 200 [--store s3]):
# writers killed with SIGKILL at random moments, every acknowledged write checked after each kill.
scripts/crash-test.sh --trials 20 --seed "${LAKEHOUSE_CRASH_SEED:-$RANDOM}"
scripts/crash-test.sh --trials 10 --store s3 --seed "${LAKEHOUSE_CRASH_SEED:-$RANDOM}"
