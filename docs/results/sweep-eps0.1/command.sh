#!/usr/bin/env bash
# The 30-network MIP-vs-NLP study (issue 3): eps 0.1, runner-up target, the first MNIST test
# digit (row 0 of ERAN's mnist_test.csv, a 7), 600 s per run. Resumable: rerun to continue.
# NLP column: nlp = the native walk (nlp:pwl, issue 11); nlp:scholtes = the Ipopt default before it.
# The nlp:pwl and auto rows were re-run on 2026-12-02 with the native local solver; the others
# are from the 2026-11-25 run.
set -euo pipefail
cd "$(dirname "$0")/../../.."
NNOPT="${NNOPT:-build/apps/nnopt}"
"$NNOPT" sweep --models models/sweep --dataset ../shared/bench/eran_mnist/mnist_test.csv --index 0 \
  --eps 0.1 --mean 0.1307 --std 0.3081 \
  --methods mip,nlp,nlp:scholtes,mpec:product,mpec:product-ineq,mpec:fb,mpec:cm,mpec:penalty,auto \
  --time-limit 600 --out docs/results/sweep-eps0.1 --resume "$@"
