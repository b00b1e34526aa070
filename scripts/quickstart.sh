#!/usr/bin/env bash
# The README's quickstart: put the MiniLM model in place, build the `lakehouse` binary, and run
# `lakehouse demo` — the bundled real-data samples ingested as datasets, a corpus built from
# each, a matrix search and SQL over them, memory UPSERT/REVISE/RETIRE/HISTORY, and one task
# run twice through the agent (the second run uses the playbook the first sealed). Safe to run
# again. Data goes to $LAKEHOUSE_STORE (default ./lakehouse-data).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/lakehouse-target}
export LAKEHOUSE_STORE=${LAKEHOUSE_STORE:-./lakehouse-data}

LAKEHOUSE_MINILM_DIR=$(scripts/fetch-model.sh)
export LAKEHOUSE_MINILM_DIR
echo "building lakehouse (release; the first build takes a while)" >&2
cargo build --release --quiet -p lakehouse-cli
"$CARGO_TARGET_DIR/release/lakehouse" demo

cat <<EOT

The binary is $CARGO_TARGET_DIR/release/lakehouse (\`cargo install --path crates/cli\` puts it on
your PATH); \`lakehouse --help\` lists every command.
EOT
