#!/usr/bin/env bash
# Exact-route benchmark (issue 4): time to a PROVEN optimum of the margin
# logit[true] - logit[runner-up] at eps 0.1 on the sweep networks, for
#   interval : naive interval bounds + big-M + CBC
#   crown    : CROWN (alpha) bounds + big-M + CBC   (the default --method mip)
#   lp       : CROWN + Clp LP tightening + big-M + CBC
#   bab      : nnopt's ReLU-split branch and bound (--method bab)
#   portfolio: CROWN+CBC and the BaB racing on two threads (--method portfolio)
# One JSON per (network, method) in OUT; existing JSONs are skipped (resumable).
# Usage: scripts/bench_exact.sh OUT TIME_LIMIT "interval crown bab" net1 net2 ...
#   (nets are names under models/sweep without .onnx, e.g. mlp_2x40)
# Summarise with: python3 scripts/summarise_exact.py OUT
set -euo pipefail
cd "$(dirname "$0")/.."
NNOPT="${NNOPT:-build/apps/nnopt}"
DATA="${DATA:-../shared/bench/eran_mnist/mnist_test.csv}"
out="$1"; tl="$2"; methods="$3"; shift 3
mkdir -p "$out"
for net in "$@"; do
  for m in $methods; do
    j="$out/$net.$m.json"
    [[ -s "$j" ]] && continue
    case "$m" in
      interval|crown|lp) args=(--method mip --bounds "$m") ;;
      bab) args=(--method bab) ;;
      portfolio) args=(--method portfolio) ;;
      *) echo "unknown method $m" >&2; exit 2 ;;
    esac
    echo "$(date +%T) $net $m" >&2
    "$NNOPT" attack --model "models/sweep/$net.onnx" --dataset "$DATA" --index 0 --eps 0.1 \
      --mean 0.1307 --std 0.3081 "${args[@]}" --time-limit "$tl" --threads 1 \
      --json "$j.tmp" -q || { echo "$net $m failed" >&2; continue; }
    mv "$j.tmp" "$j"
  done
done
