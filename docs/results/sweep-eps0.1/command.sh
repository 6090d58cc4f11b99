#!/usr/bin/env bash
# The 30-network MIP-vs-NLP study (issue 3): eps 0.1, runner-up target, the first MNIST test
# digit (row 0 of ERAN's mnist_test.csv, a 7), 600 s per run. Resumable: rerun to continue.
set -euo pipefail
cd "$(dirname "$0")/../../.."
NNOPT="${NNOPT:-build/apps/nnopt}"
"$NNOPT" sweep --models models/sweep --dataset ../shared/bench/eran_mnist/mnist_test.csv --index 0 \
  --eps 0.1 --mean 0.1307 --std 0.3081 \
  --methods mip,nlp,mpec:product,mpec:product-ineq,mpec:fb,mpec:cm,mpec:penalty,auto \
  --time-limit 600 --out docs/results/sweep-eps0.1 --resume "$@"
