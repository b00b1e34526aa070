#!/usr/bin/env bash
# The README's quickstart: build the `lakehouse` binary, put the MiniLM model in place, ingest
# the bundled real-data samples as datasets, build a corpus from each, and run a matrix search
# and a SQL query over them. Safe to run again (ingests overwrite, corpus builds are
# incremental). Data goes to $LAKEHOUSE_STORE (default ./lakehouse-data).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/lakehouse-target}
export LAKEHOUSE_STORE=${LAKEHOUSE_STORE:-./lakehouse-data}
data=crates/table/tests/data

LAKEHOUSE_MINILM_DIR=$(scripts/fetch-model.sh)
export LAKEHOUSE_MINILM_DIR
echo "building lakehouse (release; the first build takes a while)" >&2
cargo build --release --quiet -p lakehouse-cli
lakehouse() { "$CARGO_TARGET_DIR/release/lakehouse" "$@"; }

step() { printf '\n== %s\n' "$*"; }
step "ingest the samples (Chicago permits and contracts, SF permits, SEC companies)"
lakehouse dataset ingest permits "$data/chicago_permits_sample.csv" --mode overwrite
lakehouse dataset ingest contracts "$data/chicago_contracts_sample.csv" --mode overwrite
lakehouse dataset ingest sf_permits "$data/sf_permits_sample.csv" --mode overwrite
lakehouse dataset ingest companies "$data/sec_company_tickers_sample.json" --mode overwrite

step "build a corpus from each (MiniLM vectors + BM25, in the store)"
lakehouse corpus build permits --from permits --text work_description --id permit --meta work_type,permit_type
lakehouse corpus build contracts --from contracts --text "{purchase_order_description} ({vendor_name})" \
  --id "{purchase_order_contract_number}-{revision_number}" --meta department
lakehouse corpus build sf_permits --from sf_permits --text description --id record_id --meta permit_type_definition
lakehouse corpus build companies --from companies --text title --id ticker

step "one query over all four corpora, fused"
lakehouse search "replace the roof" --corpora permits,contracts,sf_permits,companies --k 5

step "SQL over the same data"
lakehouse sql "SELECT work_type, count(*) AS n FROM permits WHERE work_type IS NOT NULL GROUP BY work_type ORDER BY n DESC LIMIT 5"

cat <<EOT

Data lives in $LAKEHOUSE_STORE (tables/ = Delta tables, corpora/ = indexes).
Try next:
  $CARGO_TARGET_DIR/release/lakehouse search "oil company" --corpora companies --mode vector
  $CARGO_TARGET_DIR/release/lakehouse search "roof" --corpora permits --filter work_type=Reroofing
  $CARGO_TARGET_DIR/release/lakehouse corpus tune permits --target-recall 0.95
  $CARGO_TARGET_DIR/release/lakehouse --help
EOT
