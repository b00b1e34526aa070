#!/usr/bin/env bash
# The crash harness: `lakehouse` writers (journal appends and compaction, memory upserts,
# dataset ingests, corpus builds, `lakehouse serve` under HTTP writers) killed with SIGKILL at
# random moments; after each kill the store is reopened and every acknowledged write must be
# there once. See scripts/crash/crash_test.py for the workloads and checks.
#
#   scripts/crash-test.sh [--trials N] [--store local|s3|URL] [--seed S] [--out FILE]
#
# Default: 20 trials on a local folder. --store s3 starts the S3 test server (moto) on
# 127.0.0.1. The JSON summary goes to stdout and, with --out, to FILE; the exit code is 1 if
# anything acknowledged was lost or duplicated. LAKEHOUSE_BIN names the binary (default: the
# debug build, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/lakehouse-target}
export AWS_EC2_METADATA_DISABLED=true
venv=${LAKEHOUSE_VENV:-/var/tmp/lakehouse-venv}
scripts/setup-venv.sh

out=""
store="local"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --store) store="$2"; args+=("$1" "$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

bin=${LAKEHOUSE_BIN:-$CARGO_TARGET_DIR/debug/lakehouse}
if [ -z "${LAKEHOUSE_BIN:-}" ]; then
  cargo build --quiet --all-features -p lakehouse-cli >&2
fi
if [ "$store" = "s3" ]; then
  eval "$(scripts/s3-test-server.sh start)"
fi

status=0
summary=$("$venv/bin/python" scripts/crash/crash_test.py --bin "$bin" "${args[@]}") || status=$?
echo "$summary"
if [ -n "$out" ]; then
  mkdir -p "$(dirname "$out")"
  echo "$summary" > "$out"
fi
exit $status
