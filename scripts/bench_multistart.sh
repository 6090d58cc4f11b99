#!/usr/bin/env bash
# Issue 3 benchmark (not a test, not run by CI): prints, over the 30 sweep
# networks (models/sweep) at eps 0.1 on the first MNIST test digit,
#   1. single-start NLP time per network for the default Scholtes continuation
#      and the one-solve product form, with and without --nlp-input-chunk 98,
#      median over networks (the seed's CONOPT median is 0.227 s);
#   2. time to the first replayed attack with 64 Sobol starts on 2 threads
#      (--early-stop), and the index of the start that found it;
#   3. starts per second with all 64 starts run (no early stop) on 1x20, 3x30, 5x30;
#   4. from docs/results/sweep-eps0.1/results.jsonl: per NLP/MPEC form, on how many
#      networks it reaches the MIP optimum within 1e-4 (proven optima only) and its
#      median time.
# Every figure is a wall time on the machine as it is: run it on an idle machine
# and compare ratios within one run.
#
#   scripts/bench_multistart.sh [OUT_DIR]     (default /tmp/nnopt_bench_multistart)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-/tmp/nnopt_bench_multistart}"
mkdir -p "$OUT/bin"
[ -f build/build.ninja ] || scripts/setup.sh >/dev/null || exit 1
ninja -C build nnopt >/dev/null || { echo "bench_multistart: build failed" >&2; exit 1; }
cp build/apps/nnopt "$OUT/bin/"
NNOPT="$OUT/bin/nnopt"
PY=/usr/bin/python3
echo "bench_multistart: $(git log -1 --format='%h' 2>/dev/null), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

COMMON=(--image data/mnist_test_0.pgm --label 7 --eps 0.1 --mean 0.1307 --std 0.3081 --quiet)
: > "$OUT/runs.jsonl"
run() {  # tag model args...
  local tag="$1" model="$2"
  shift 2
  "$NNOPT" attack --model "$model" "${COMMON[@]}" "$@" --json "$OUT/one.json" >/dev/null 2>&1 ||
    { echo "bench_multistart: $tag on $model failed" >&2; return; }
  $PY - "$OUT/one.json" "$tag" "$model" >> "$OUT/runs.jsonl" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
keep = {k: j.get(k) for k in ("margin", "verdict", "time_s", "iterations", "solves", "variables",
                               "first_attack_start", "starts_run", "starts_per_s")}
keep.update(tag=sys.argv[2], model=sys.argv[3].split("/")[-1])
print(json.dumps(keep))
PY
}

for m in models/sweep/mlp_*.onnx; do
  run scholtes "$m" --method nlp
  run product "$m" --method nlp --nlp-form product
  run scholtes-chunk98 "$m" --method nlp --nlp-input-chunk 98
  run product-chunk98 "$m" --method nlp --nlp-form product --nlp-input-chunk 98
  run ms64-early "$m" --method nlp --starts 64 --threads 2 --early-stop
done
for m in models/sweep/mlp_1x20.onnx models/sweep/mlp_3x30.onnx models/sweep/mlp_5x30.onnx; do
  run ms64-all "$m" --method nlp --starts 64 --threads 2
done

$PY - "$OUT/runs.jsonl" docs/results/sweep-eps0.1/results.jsonl <<'PY'
import json, statistics as st, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
def by(tag): return [r for r in runs if r["tag"] == tag]
print("\n1. single-start NLP, 30 networks (wall s): median / mean / max; iterations median")
for tag in ("scholtes", "product", "scholtes-chunk98", "product-chunk98"):
    rs = by(tag)
    if not rs: continue
    t = [r["time_s"] for r in rs]
    print(f"   {tag:<17} n={len(rs):2d}  median {st.median(t):.3f}  mean {st.mean(t):.3f}  "
          f"max {max(t):.3f}  (<= 0.25 s on {sum(x <= 0.25 for x in t)}/{len(t)})  "
          f"iters {st.median([r['iterations'] for r in rs]):.0f}  "
          f"attacks {sum(r['verdict'] == 'attack_found' for r in rs)}")
rs = by("ms64-early")
if rs:
    t = [r["time_s"] for r in rs]
    print("\n2. 64 Sobol starts, 2 threads, --early-stop: time to the first replayed attack")
    print(f"   n={len(rs)}  median {st.median(t):.3f} s  max {max(t):.3f} s  "
          f"< 5 s on {sum(x < 5 for x in t)}/{len(t)}  attacks {sum(r['verdict'] == 'attack_found' for r in rs)}/{len(rs)}")
    print("   first attack at start index: " +
          ", ".join(f"{r['model'][4:-5]}:{r['first_attack_start']}" for r in rs))
print("\n3. starts per second, all 64 starts, 2 threads")
for r in by("ms64-all"):
    print(f"   {r['model']:<16} {r['starts_per_s']:.2f} starts/s  ({r['starts_run']} starts in "
          f"{r['time_s']:.1f} s, best margin {r['margin']:.5f})")
sweep = [json.loads(l) for l in open(sys.argv[2])]
mip = {r["network"]: r for r in sweep if r["method"] == "mip"}
proven = {k: v for k, v in mip.items() if v["status"] == "optimal"}
print(f"\n4. sweep forms vs the MIP optimum (|margin - MIP| <= 1e-4 on the {len(proven)} proven "
      f"networks of {len(mip)}); median time over all networks")
for m in sorted({r["method"] for r in sweep} - {"mip"}):
    rs = [r for r in sweep if r["method"] == m]
    reach = sum(1 for r in rs if r["network"] in proven and
                abs(r["margin"] - proven[r["network"]]["margin"]) <= 1e-4)
    fr = sum(1 for r in rs if r["verdict"] != "attack_found" and r["network"] in mip and
             mip[r["network"]]["margin"] < 0)
    print(f"   {m:<18} reaches MIP optimum {reach:2d}/{len(proven)}  median {st.median([r['time_s'] for r in rs]):.2f} s"
          f"  false no-attack {fr}")
PY
