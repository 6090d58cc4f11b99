#!/usr/bin/env bash
# Core-engine benchmark: builds nnopt and nnopt_bench, then prints the figures of
# the "core engine" issue (docs/results/core-engine.md). Not a test; not run by CI.
#
#   scripts/bench_core.sh [all|bench|forms|classify] [REPS]
#
#   bench     build/bench/nnopt_bench REPS times under /usr/bin/time -v: forward pass
#             vs torch reference logits, ONNX load + forward of a 784-256x6-10 MLP
#             (one written by the bench with libonnx, and one exported by Debian's
#             python3-torch into /tmp when /usr/bin/python3 has torch), default NLP and
#             MIP on the 1x20 net at eps 0.1, peak RSS. The first run also prints the
#             bench's own MIP-vs-every-form table (library API).
#   forms     the CLI table: MIP and every NLP/MPEC form on mnist_mlp_{1x20,2x20} at
#             eps 0.05 and 0.1, each run REPS times (median time_s), peak RSS of each
#             run, and the check MIP optimum <= NLP margin + 1e-6.
#   classify  nnopt classify on the ERAN 3x50 and mnistfc 256x2 networks vs
#             ../shared/tools/onnx_tool.py acc.
# REPS defaults to 3. The machine is shared: report medians.
set -uo pipefail
cd "$(dirname "$0")/.."
WHAT="${1:-all}"
REPS="${2:-3}"
NNOPT=build/apps/nnopt
BENCH=build/bench/nnopt_bench
SHARED=../shared/bench
OUT=/tmp/nnopt_bench_core
mkdir -p "$OUT"

if [ ! -f build/build.ninja ]; then scripts/setup.sh >/dev/null || exit 1; fi
ninja -C build nnopt nnopt_bench >/dev/null || { echo "bench_core: build failed" >&2; exit 1; }
# Others may relink build/ while this runs: time a snapshot of the two binaries.
mkdir -p "$OUT/bin"
cp build/apps/nnopt build/bench/nnopt_bench "$OUT/bin/"
NNOPT="$OUT/bin/nnopt"
BENCH="$OUT/bin/nnopt_bench"
echo "bench_core: $(git log -1 --format='%h %s' 2>/dev/null | cut -c1-60), $(git status --short -- src apps 2>/dev/null | wc -l) files modified under src/ apps/; binaries snapshot in $OUT/bin; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# Peak RSS (MB) from a /usr/bin/time -v log.
maxrss() { awk -F: '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }

run_bench() {
  local extra=()
  local torch_onnx=/tmp/nnopt_torch_mlp256x6.onnx
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 - "$torch_onnx" <<'EOF'
import sys, torch
torch.manual_seed(0)
w = [784] + [256] * 6 + [10]
layers = [torch.nn.Flatten()]
for i in range(len(w) - 1):
    layers.append(torch.nn.Linear(w[i], w[i + 1]))
    if i + 2 < len(w):
        layers.append(torch.nn.ReLU())
m = torch.nn.Sequential(*layers).eval()
torch.onnx.export(m, torch.zeros(1, 1, 28, 28), sys.argv[1], input_names=['input'],
                  output_names=['logits'], opset_version=13,
                  dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
EOF
    echo "torch export: $torch_onnx ($(stat -c %s "$torch_onnx") bytes, torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))"
    extra=(--onnx "$torch_onnx")
  else
    echo "torch export: /usr/bin/python3 has no torch (apt-get install python3-torch); only the bench-made 256x6 file is timed"
  fi
  [ -f "$SHARED/mnistfc/mnist-net_256x2.onnx" ] && extra+=(--onnx "$SHARED/mnistfc/mnist-net_256x2.onnx")
  for ((r = 1; r <= REPS; r++)); do
    local skip=(--skip-forms)
    ((r == 1)) && skip=()
    echo "== nnopt_bench run $r/$REPS: $BENCH --repo . ${extra[*]} ${skip[*]}"
    /usr/bin/time -v "$BENCH" --repo . "${extra[@]}" "${skip[@]}" 2>"$OUT/bench_time_$r.txt"
    echo "   exit $?, /usr/bin/time max RSS $(maxrss "$OUT/bench_time_$r.txt") MB"
  done
}

run_forms() {
  local common=(--image data/mnist_test_0.pgm --label 7 --mean 0.1307 --std 0.3081)
  local forms=("mip" "nlp --nlp-form scholtes" "nlp --nlp-form product" "nlp --nlp-form inequality"
               "mpec --mpec-form fb" "mpec --mpec-form cm" "mpec --mpec-form penalty"
               "mpec --mpec-form product" "mpec --mpec-form product-ineq" "mpec --mpec-form scholtes")
  : >"$OUT/forms.jsonl"
  for net in 1x20 2x20; do
    for eps in 0.05 0.1; do
      for f in "${forms[@]}"; do
        local tag="${net}_${eps}_${f// /_}"
        for ((r = 1; r <= REPS; r++)); do
          # shellcheck disable=SC2086
          rm -f "$OUT/$tag.$r.json"
          /usr/bin/time -v "$NNOPT" attack --model "models/mnist_mlp_$net.onnx" "${common[@]}" \
            --eps "$eps" --method $f --json "$OUT/$tag.$r.json" -q 2>"$OUT/$tag.$r.time"
          local rc=$?
          if [ ! -f "$OUT/$tag.$r.json" ]; then
            echo "bench_core: $net eps $eps $f run $r: exit $rc, no JSON: $(head -1 "$OUT/$tag.$r.time")" >&2
            continue
          fi
          jq -c --arg net "$net" --arg form "$f" --argjson rep "$r" --argjson rc "$rc" \
            --arg rss "$(maxrss "$OUT/$tag.$r.time")" \
            '{net: $net, eps, form: $form, rep: $rep, rc: $rc, rss_mb: ($rss | tonumber), method,
              margin, bound, time_s, status, verdict, variables, binaries, constraints, solves,
              complementarity_violation}' "$OUT/$tag.$r.json" >>"$OUT/forms.jsonl"
        done
      done
    done
  done
  python3 - "$OUT/forms.jsonl" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
groups = {}
for r in rows:
    groups.setdefault((r['net'], r['eps'], r['form']), []).append(r)
print('| net | eps | `--method` | margin | bound | median time_s (min-max) | status | verdict | vars | bin | cons | solves | max RSS MB | MIP <= margin + 1e-6 |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
bad = 0
for (net, eps, form), rs in groups.items():
    mip = groups.get((net, eps, 'mip'), [{'status': 'missing', 'margin': float('nan')}])
    mip_opt = all(m['status'] == 'optimal' for m in mip)
    mip_margin = mip[0]['margin']
    margins = {round(r['margin'], 9) for r in rs}
    t = [r['time_s'] for r in rs]
    r0 = rs[0]
    if form == 'mip':
        check = 'optimal' if mip_opt else 'NOT OPTIMAL'
    else:
        ok = mip_opt and all(mip_margin <= r['margin'] + 1e-6 for r in rs)
        bad += not ok
        check = 'yes' if ok else 'NO'
    bound = '' if r0['bound'] is None else '%.5f' % r0['bound']
    note = '' if len(margins) == 1 else ' (varies: %s)' % sorted(margins)
    print('| %s | %s | %s | %.5f%s | %s | %.3f (%.3f-%.3f) | %s | %s | %d | %d | %d | %d | %.0f | %s |' % (
        net, eps, form, r0['margin'], note, bound, statistics.median(t), min(t), max(t),
        r0['status'], r0['verdict'], r0['variables'], r0['binaries'], r0['constraints'],
        r0['solves'], max(r['rss_mb'] for r in rs), check))
print('\nruns: %d, exit codes: %s, forms violating MIP <= margin + 1e-6: %d' % (
    len(rows), sorted({r['rc'] for r in rows}), bad))
EOF
}

run_classify() {
  local csv=$SHARED/eran_mnist/mnist_test.csv
  for m in $SHARED/eran_mnist/mnist_relu_3_50.onnx $SHARED/mnistfc/mnist-net_256x2.onnx; do
    echo "\$ $NNOPT classify --model $m --dataset $csv"
    "$NNOPT" classify --model "$m" --dataset "$csv"
    echo "  exit $?"
    echo "\$ python3 ../shared/tools/onnx_tool.py acc $m $csv 100 0 1"
    python3 ../shared/tools/onnx_tool.py acc "$m" "$csv" 100 0 1
  done
}

case "$WHAT" in
  bench) run_bench ;;
  forms) run_forms ;;
  classify) run_classify ;;
  all) run_bench; echo; run_forms; echo; run_classify ;;
  *) echo "usage: scripts/bench_core.sh [all|bench|forms|classify] [REPS]" >&2; exit 2 ;;
esac
