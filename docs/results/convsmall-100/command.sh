#!/usr/bin/env bash
# Issue 13 target "convSmall at eps 0.02, first 100 images: every one decided within 120 s":
# ERAN's convSmallRELU__Point on the first 100 MNIST test images, L-inf eps 0.02 (pixel space,
# normalisation inside the graph), 120 s per image, the robustness command's default route.
# Usage: docs/results/convsmall-100/command.sh   (from anywhere; writes next to this script)
set -euo pipefail
cd "$(dirname "$0")/../../.."
NNOPT="${NNOPT:-build/apps/nnopt}"
OUT=docs/results/convsmall-100
"$NNOPT" robustness --model ../shared/bench/eran_mnist/convSmallRELU__Point.onnx \
  --dataset ../shared/bench/eran_mnist/mnist_test.csv --limit 100 --eps 0.02 --time-limit 120 \
  --out "$OUT/run" | tee "$OUT/run.txt"
cp "$OUT/run/results.jsonl" "$OUT/run/summary.csv" "$OUT/run/summary.json" "$OUT/"
