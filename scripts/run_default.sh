#!/usr/bin/env bash
# The default job: installs what is needed, builds, then attacks the bundled
# 1x20 MNIST network on the first MNIST test digit (a 7) at eps 0.1 with the
# exact MIP (CBC) and the complementarity NLP (Ipopt). Results go to ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
mkdir -p out
NNOPT=build/apps/nnopt
COMMON=(--model models/mnist_mlp_1x20.onnx --image data/mnist_test_0.pgm --label 7
        --mean 0.1307 --std 0.3081 --eps 0.1)
"$NNOPT" attack "${COMMON[@]}" --method mip --json out/default_mip.json --save-image out/default_mip_adv.png
echo
"$NNOPT" attack "${COMMON[@]}" --method nlp --json out/default_nlp.json --save-image out/default_nlp_adv.png
echo
echo "JSON results: out/default_mip.json out/default_nlp.json; adversarial images: out/default_*_adv.png"
