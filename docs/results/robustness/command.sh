#!/usr/bin/env bash
# The robustness benchmarks of docs/results/robustness/README.md (issue 14).
# Run from the repository root after scripts/setup.sh; ../shared/bench/eran_mnist
# holds ERAN's network and its 100 MNIST test images (pixels / 255, no normalisation).
set -euo pipefail
B=../shared/bench/eran_mnist
out=${OUT:-out/robustness}

# ERAN mnist_relu_3_50: 100 images, 5 budgets, 60 s per (image, eps).
build/apps/nnopt robustness --model $B/mnist_relu_3_50.onnx --dataset $B/mnist_test.csv --limit 100 \
  --eps 0.004,0.008,0.012,0.02,0.03 --time-limit 60 --out $out/mnist_relu_3_50
# Every attack re-checked by an independent forward pass (onnxruntime, float32).
.venv/bin/python docs/results/robustness/check_attacks.py $out/mnist_relu_3_50/results.jsonl \
  $B/mnist_relu_3_50.onnx $B/mnist_test.csv

# The same through two MPI ranks (same rows, wall time compared).
mpirun -np 2 build/apps/nnopt robustness --model $B/mnist_relu_3_50.onnx --dataset $B/mnist_test.csv \
  --limit 100 --eps 0.004,0.008,0.012,0.02,0.03 --time-limit 60 --out $out/mnist_relu_3_50_mpi2

# The seed's 1x20 MLP and tutorial ConvNet (trained with the seed's normalisation).
for m in mnist_mlp_1x20 mnist_convnet; do
  build/apps/nnopt robustness --model models/$m.onnx --dataset $B/mnist_test.csv --limit 100 \
    --eps 0.01,0.03,0.05,0.1 --mean 0.1307 --std 0.3081 --time-limit 60 --out $out/$m
done

# --radius (2026-12-06): per image an interval [certified_lo, attacked_hi] of the minimal
# adversarial L-inf distance, first 20 images, 30 s per probe; then every attack re-checked
# (the radius lines' upper bounds too).
build/apps/nnopt robustness --model $B/mnist_relu_3_50.onnx --dataset $B/mnist_test.csv --limit 20 \
  --eps 0.01,0.02,0.03 --time-limit 30 --radius --out $out/mnist_relu_3_50_radius
.venv/bin/python docs/results/robustness/check_attacks.py $out/mnist_relu_3_50_radius/results.jsonl \
  $B/mnist_relu_3_50.onnx $B/mnist_test.csv
