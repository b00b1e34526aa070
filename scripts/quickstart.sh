#!/usr/bin/env bash
# The README's quickstart: put the MiniLM model in place, build the `lakehouse` binary, and run
# `lakehouse demo` — the bundled real-data samples ingested as datasets, a corpus built from
# each, a matrix search and SQL over them, memory UPSERT/REVISE/RETIRE/HISTORY, and one task
# run twice through the agent (the second run uses the playbook the first sealed). Safe to run
# again. Data goes to $LAKEHOUSE_STORE (default ./lakehouse-data).
#
#   LAKEHOUSE_PROFILE   cargo profile for the binary (default `quick`: the release build with
#                       the SQL/Delta stack optimised less, so the first build is much shorter;
#                       `release` for the fully optimised one the benchmarks use)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/lakehouse-target}
export LAKEHOUSE_STORE=${LAKEHOUSE_STORE:-./lakehouse-data}
profile=${LAKEHOUSE_PROFILE:-quick}
profile_dir=$profile
[ "$profile" = dev ] && profile_dir=debug
binary="$CARGO_TARGET_DIR/$profile_dir/lakehouse"

started=$(date +%s)
since() { local s=$(($(date +%s) - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

echo "[1/3] the MiniLM model (scripts/fetch-model.sh)" >&2
LAKEHOUSE_MINILM_DIR=$(scripts/fetch-model.sh)
export LAKEHOUSE_MINILM_DIR

# Units cargo will report for the binary: every package it depends on plus their build scripts.
# Used only for the percentage; a wrong guess shows as a percentage that stops short of 100.
units() {
  local host
  host=$(rustc -vV | sed -n 's/^host: //p')
  cargo metadata --format-version 1 --filter-platform "$host" 2>/dev/null | python3 -c '
import json, sys
m = json.load(sys.stdin)
nodes = {n["id"]: n for n in m["resolve"]["nodes"]}
pkgs = {p["id"]: p for p in m["packages"]}
root = next(p["id"] for p in m["packages"] if p["name"] == "lakehouse-cli")
seen, todo = set(), [root]
while todo:
    i = todo.pop()
    if i in seen:
        continue
    seen.add(i)
    for d in nodes[i]["deps"]:
        if any(k["kind"] in (None, "build") for k in d["dep_kinds"]):
            todo.append(d["pkg"])
scripts = sum(1 for i in seen for t in pkgs[i]["targets"] if "custom-build" in t["kind"])
print(len(seen) + scripts)
' || echo 0
}

echo "[2/3] building lakehouse (profile $profile) into $CARGO_TARGET_DIR" >&2
if [ ! -x "$binary" ]; then
  echo "      the first build compiles ~550 crates: about 20 minutes on a 2-core machine" >&2
  echo "      (DataFusion and Delta Lake are most of it); later builds take seconds" >&2
fi
total=$(units)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo build --quiet --profile "$profile" -p lakehouse-cli --message-format=json-render-diagnostics \
  >"$log" &
cargo_pid=$!
build_started=$(date +%s)
while kill -0 "$cargo_pid" 2>/dev/null; do
  sleep 15
  kill -0 "$cargo_pid" 2>/dev/null || break
  done_units=$(grep -c '"reason":"compiler-artifact"' "$log" || true)
  last=$(grep '"reason":"compiler-artifact"' "$log" | tail -n 1 |
    sed -n 's/.*"target":{[^}]*"name":"\([^"]*\)".*/\1/p')
  if [ "${total:-0}" -gt 0 ]; then
    pct=$((100 * done_units / total))
    [ "$pct" -gt 99 ] && pct=99
    echo "      $(since "$build_started") so far: $done_units of ~$total crates ($pct%), last: ${last:-…}" >&2
  else
    echo "      $(since "$build_started") so far: $done_units crates, last: ${last:-…}" >&2
  fi
done
if ! wait "$cargo_pid"; then
  echo "quickstart: the build failed (messages above)" >&2
  exit 1
fi
echo "      built in $(since "$build_started")" >&2

echo "[3/3] lakehouse demo (store: $LAKEHOUSE_STORE)" >&2
"$binary" demo

cat <<EOT

Done in $(since "$started"). The binary is $binary
(\`cargo install --path crates/cli\` puts the release build on your PATH); \`lakehouse --help\`
lists every command.
EOT
