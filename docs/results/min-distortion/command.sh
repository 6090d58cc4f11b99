#!/usr/bin/env bash
# Issue 5 experiments (results in README.md next to this script):
#  1. the seed tutorial's minimal-perturbation attack on the first MNIST test digit (a 7):
#     logit[2] >= logit[7] + 0.1, minimal L1 (and L-inf, L2) change, for the 784-20-10 MLP and
#     the tutorial's ConvNet, by MIP (CBC) and NLP (Ipopt); JSON + panel PNG per run;
#  2. ERAN's convSmallRELU__Point: accuracy on ../shared/bench/eran_mnist/mnist_test.csv and an
#     eps 0.02 L-inf margin attack on its first 10 images by MIP (120 s) and NLP.
# Usage: docs/results/min-distortion/command.sh [part...]   (parts: tutorial convsmall; default both)
set -euo pipefail
cd "$(dirname "$0")/../../.."
NNOPT="${NNOPT:-build/apps/nnopt}"
OUT=docs/results/min-distortion
CSV=../shared/bench/eran_mnist/mnist_test.csv
parts=("${@:-tutorial convsmall}")
parts=(${parts[*]})

tutorial() {
  for net in mnist_mlp_1x20 mnist_convnet; do
    for norm in l1 linf l2; do
      for method in mip nlp; do
        [ "$norm" = l2 ] && [ "$method" = mip ] && continue  # CBC has no quadratic objective
        tag="${net}_${norm}_${method}"
        "$NNOPT" attack --model "models/$net.onnx" --dataset "$CSV" --index 0 \
          --mean 0.1307 --std 0.3081 --objective min-distortion --norm "$norm" --target 2 --gap 0.1 \
          --method "$method" --time-limit 600 --json "$OUT/$tag.json" --save-panel "$OUT/$tag.png" \
          | tee "$OUT/$tag.txt"
      done
    done
  done
}

convsmall() {
  local net=../shared/bench/eran_mnist/convSmallRELU__Point.onnx  # normalisation inside the graph
  "$NNOPT" classify --model "$net" --dataset "$CSV" | tee "$OUT/convsmall_accuracy.txt"
  : > "$OUT/convsmall_eps0.02.jsonl"
  for i in $(seq 0 9); do
    for method in mip nlp; do
      "$NNOPT" attack --model "$net" --dataset "$CSV" --index "$i" --eps 0.02 --method "$method" \
        --time-limit 120 --quiet --json "$OUT/tmp.json"
      python3 - "$OUT/tmp.json" "$OUT/convsmall_eps0.02.jsonl" "$i" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j.pop("adversarial", None)
with open(sys.argv[2], "a") as f:
    f.write(json.dumps(j) + "\n")
print(f"image {sys.argv[3]} label {j['true_label']} {j['method']:<12} {j['verdict']:<16} "
      f"margin {j['margin']} bound {j.get('bound')} time {j['time_s']:.2f} s")
PY
    done
  done | tee "$OUT/convsmall_eps0.02.txt"
  rm -f "$OUT/tmp.json"
}

for p in "${parts[@]}"; do "$p"; done
