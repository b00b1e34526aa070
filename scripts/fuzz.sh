#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser and file format (libFuzzer through cargo-fuzz, on
# the stable toolchain with `--sanitizer none`). The targets are the functions of
# crates/fuzz (lakehouse_fuzz::TARGETS); fuzz/ holds their cargo-fuzz binaries and
# fuzz/corpus/<target>/ their seeds (made by `make-seeds`, plus every crash input kept as a
# regression test, which crates/fuzz/tests/seeds.rs replays in every test run).
#
#   scripts/fuzz.sh [--minutes M] [--targets a,b,...] [--jobs J] [--out FILE]
#
# Each target runs M minutes (default 1), J at a time (default 2), on a working copy of its
# seeds in /var/tmp/lakehouse-fuzz-work (the committed corpus is not flooded), in libFuzzer's
# fork mode so a crash does not end the run. Crashes, timeouts and OOMs land in
# fuzz/artifacts/<target>/. A JSON summary (targets, seconds, executions, corpus sizes,
# crashes, OOMs, timeouts, slow inputs) goes to stdout and, with --out, to FILE; the exit
# code is 1 if anything crashed, ran out of memory or timed out.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=1
targets=""
jobs=2
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
export CARGO_TARGET_DIR=${LAKEHOUSE_FUZZ_TARGET:-/var/tmp/lakehouse-fuzz-target}
export AWS_EC2_METADATA_DISABLED=true
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz >&2
fi
chosen=$targets
if [ -z "$targets" ]; then
  targets=$(cargo fuzz list --fuzz-dir fuzz | tr '\n' ',')
fi
IFS=',' read -r -a list <<< "${targets%,}"
echo "fuzz.sh: building ${#list[@]} targets (instrumented, release; the first build takes a while)" >&2
if [ -z "$chosen" ]; then
  cargo fuzz build -s none --fuzz-dir fuzz >&2
else
  for t in "${list[@]}"; do cargo fuzz build -s none --fuzz-dir fuzz "$t" >&2; done
fi
work=${LAKEHOUSE_FUZZ_WORK:-/var/tmp/lakehouse-fuzz-work}
seconds=$((minutes * 60))

run_one() {
  local t=$1
  mkdir -p "$work/$t" "fuzz/artifacts/$t"
  cp -n fuzz/corpus/"$t"/* "$work/$t/" 2>/dev/null || true
  local before
  before=$(ls "$work/$t" | wc -l)
  local log="$work/$t.log"
  # findings of this run only: artifacts of earlier runs stay in fuzz/artifacts/<target>/
  local started="$work/$t.started"
  touch "$started"
  local status=0
  # fork mode: a crash, timeout or OOM is saved and the run goes on for its whole budget
  cargo fuzz run -s none --fuzz-dir fuzz "$t" "$work/$t" -- \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="fuzz/artifacts/$t/" > "$log" 2>&1 || status=$?
  local runs
  # fork mode's parent counts the executions of its jobs on "#<executions>: cov: ..." lines
  # (its own final stats say 0)
  runs=$(grep -oE '^#[0-9]+:' "$log" | tr -d '#:' | tail -1)
  if [ -z "$runs" ]; then
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  fi
  # libFuzzer names what it keeps by kind: crash-, oom-, timeout-, leak- (findings) and
  # slow-unit- (an input slower than 10 s: reported, not a failure)
  local crashes ooms timeouts slow
  crashes=$(find "fuzz/artifacts/$t" -newer "$started" \( -name 'crash-*' -o -name 'leak-*' \) | wc -l)
  ooms=$(find "fuzz/artifacts/$t" -newer "$started" -name 'oom-*' | wc -l)
  timeouts=$(find "fuzz/artifacts/$t" -newer "$started" -name 'timeout-*' | wc -l)
  slow=$(find "fuzz/artifacts/$t" -newer "$started" -name 'slow-unit-*' | wc -l)
  printf '{"target": "%s", "seconds": %s, "executions": %s, "corpus_before": %s, "corpus_after": %s, "crashes": %s, "ooms": %s, "timeouts": %s, "slow_units": %s, "exit": %s}\n' \
    "$t" "$seconds" "${runs:-0}" "$before" "$(ls "$work/$t" | wc -l)" "$crashes" "$ooms" "$timeouts" "$slow" "$status" > "$work/$t.json"
  echo "fuzz.sh: $t: ${runs:-0} executions, $crashes crashes, $ooms OOMs, $timeouts timeouts, $slow slow inputs (exit $status)" >&2
}

running=0
for t in "${list[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

summary=$(python3 - "$work" "${list[@]}" <<'PY'
import json, sys
work, names = sys.argv[1], sys.argv[2:]
rows = [json.load(open(f"{work}/{n}.json")) for n in names]
print(json.dumps({"bench": "fuzz", "engine": "libFuzzer (cargo-fuzz, --sanitizer none, stable, fork mode)",
                  "targets": rows, "total_executions": sum(r["executions"] for r in rows),
                  "crashes": sum(r["crashes"] for r in rows),
                  "ooms": sum(r["ooms"] for r in rows),
                  "timeouts": sum(r["timeouts"] for r in rows),
                  "slow_units": sum(r["slow_units"] for r in rows)}, indent=2))
PY
)
echo "$summary"
if [ -n "$out" ]; then
  echo "$summary" > "$out"
fi
if echo "$summary" | grep -qE '"(crashes|ooms|timeouts)": [1-9]'; then
  exit 1
fi
