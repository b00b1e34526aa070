#!/usr/bin/env bash
# Same-run comparison of two `lakehouse` binaries (e.g. before and after a build-profile
# change) on `bench ann`, `bench embed` and `bench matrix`: the binaries take turns, bench by
# bench, REPEATS times, and the medians and spreads of our figures go to
# bench-results/build-profiles.json with the ratio new/old. Peers run inside each bench as usual
# (scripts/setup-bench-venv.sh), so every run is also a full bench run.
#
#   scripts/bench/compare-binaries.sh OLD_BINARY NEW_BINARY [REPEATS] [BENCHES]
#   REPEATS defaults to 5; BENCHES to "ann embed matrix".
#   LAKEHOUSE_COMPARE_OUT   the report (default bench-results/build-profiles.json)
set -euo pipefail
cd "$(dirname "$0")/../.."
old=$1
new=$2
repeats=${3:-5}
benches=${4:-ann embed matrix}
work=${LAKEHOUSE_COMPARE_DIR:-/var/tmp/lakehouse-compare}
export AWS_EC2_METADATA_DISABLED=true
mkdir -p "$work"

for bin in "$old" "$new"; do
  [ -x "$bin" ] || { echo "compare-binaries: $bin is not an executable" >&2; exit 2; }
done

for r in $(seq 1 "$repeats"); do
  for bench in $benches; do
    for side in old new; do
      bin=$old
      [ "$side" = new ] && bin=$new
      out="$work/$side/$r"
      mkdir -p "$out"
      echo "compare-binaries: round $r/$repeats, bench $bench, $side binary" >&2
      "$bin" bench "$bench" --out "$out" >"$out/$bench.log" 2>&1 ||
        { echo "compare-binaries: $bin bench $bench failed; log: $out/$bench.log" >&2; exit 1; }
    done
  done
done

python3 - "$work" "$repeats" "$old" "$new" "$benches" \
  "${LAKEHOUSE_COMPARE_OUT:-bench-results/build-profiles.json}" <<'EOF'
import json, os, statistics, sys

work, repeats, old, new, benches, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].split(), sys.argv[6]
# (bench, label, path into the bench's JSON, higher is better)
metrics = [
    ("ann", "sq8 QPS at recall@10 >= 0.95", ["ours_best_at_target", "at_target", "qps"], True),
    ("ann", "sq8 build seconds", ["ours_best_at_target", "build_seconds"], False),
    ("embed", "sentences/s", ["ours", "sentences_per_second"], True),
    ("matrix", "search only, matrix p50 ms", ["search_only", "matrix", "p50_ms"], False),
    ("matrix", "end to end, matrix p50 ms", ["end_to_end", "matrix", "p50_ms"], False),
]

def value(side, r, bench, path):
    with open(os.path.join(work, side, str(r), bench + ".json")) as f:
        v = json.load(f)
    for p in path:
        v = v[p]
    return float(v)

def summary(xs):
    return {"runs": xs, "median": statistics.median(xs), "min": min(xs), "max": max(xs),
            "spread_pct": 100 * (max(xs) - min(xs)) / statistics.median(xs)}

report = {"benchmark": "the same benches on two binaries, taking turns", "repeats": repeats,
          "old_binary": old, "new_binary": new,
          "old_size_bytes": os.path.getsize(old), "new_size_bytes": os.path.getsize(new),
          "metrics": []}
for bench, label, path, higher in metrics:
    if bench not in benches:
        continue
    o = summary([value("old", r, bench, path) for r in range(1, repeats + 1)])
    n = summary([value("new", r, bench, path) for r in range(1, repeats + 1)])
    ratio = n["median"] / o["median"]
    better = ratio if higher else 1 / ratio
    report["metrics"].append({"bench": bench, "metric": label, "higher_is_better": higher,
                              "old": o, "new": n, "ratio_new_over_old": ratio,
                              "new_speed_over_old": better,
                              "within_spread": abs(ratio - 1) * 100 <= max(o["spread_pct"], n["spread_pct"])})
os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
with open(out, "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
for m in report["metrics"]:
    print(f'{m["bench"]:7} {m["metric"]:32} old {m["old"]["median"]:10.3f}  new {m["new"]["median"]:10.3f}'
          f'  new speed/old {m["new_speed_over_old"]:.3f}  spread {m["old"]["spread_pct"]:.1f}%/{m["new"]["spread_pct"]:.1f}%')
EOF
