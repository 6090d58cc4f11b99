#!/usr/bin/env bash
# Issue 15 benchmark: CROWN bounds of CNNs, time and peak memory, for two nnopt
# binaries side by side in one run (before/after a change), N runs each (the
# fastest of the runs is printed: the machine is shared, the minimum is the
# least disturbed figure).
#
# Usage: bench/bench_structured.sh OLD_NNOPT NEW_NNOPT [RUNS]
#   networks: ERAN convSmall (../shared/bench/eran_mnist, image 0, eps 0.02),
#   the tutorial ConvNet (models/, image 0, eps 0.1 with the seed's mean/std),
#   and the CNNs of bench/make_cnn_bench.py (MNIST 9,508-ReLU CNN, two
#   CIFAR-size CNNs, written to a temporary folder, eps 2/255).
# Prints one row per (network, binary): CROWN seconds (nnopt's own timer),
# process wall seconds and peak RSS (/usr/bin/time), unstable ReLUs; "refused"
# with nnopt's one-line error when the binary cannot load the network.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD="$1"
NEW="$2"
RUNS="${3:-3}"
SHARED="${NNOPT_SHARED:-../shared}"
PY="${NNOPT_PYTHON:-.venv/bin/python}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PY" bench/make_cnn_bench.py "$TMP" >/dev/null

cases=()
if [ -f "$SHARED/bench/eran_mnist/convSmallRELU__Point.onnx" ]; then
  cases+=("convSmall|$SHARED/bench/eran_mnist/convSmallRELU__Point.onnx|--dataset $SHARED/bench/eran_mnist/mnist_test.csv --index 0 --eps 0.02")
fi
cases+=("tutorial_convnet|models/mnist_convnet.onnx|--image data/mnist_test_0.pgm --eps 0.1 --mean 0.1307 --std 0.3081")
for n in mnist_cnn_9508 cifar_cnn_small cifar_cnn_wide; do
  cases+=("$n|$TMP/$n.onnx|--vnnlib $TMP/$n.vnnlib")
done

printf "%-18s %-4s %10s %9s %9s %9s\n" network bin crown_s wall_s rss_MB unstable
for c in "${cases[@]}"; do
  IFS='|' read -r name model args <<<"$c"
  for which in old new; do
    bin="$OLD"
    [ "$which" = new ] && bin="$NEW"
    best_c="" best_w="" best_m=""
    unstable="-"
    for ((r = 0; r < RUNS; r++)); do
      # shellcheck disable=SC2086
      if ! /usr/bin/time -f "%e %M" -o "$TMP/time" "$bin" bounds --model "$model" $args \
          --methods crown --json "$TMP/out.json" >/dev/null 2>"$TMP/err"; then
        printf "%-18s %-4s refused: %s\n" "$name" "$which" "$(grep -v '^Command exited' "$TMP/err" | tail -1 | cut -c1-150)"
        continue 2
      fi
      read -r wall rss <"$TMP/time"
      read -r cs us < <("$PY" -c "
import json; m = json.load(open('$TMP/out.json'))['boxes'][0]['methods'][0]
print(m['time_s'], m['total']['unstable'])")
      unstable="$us"
      if [ -z "$best_c" ] || awk "BEGIN{exit !($cs < $best_c)}"; then best_c="$cs"; fi
      if [ -z "$best_w" ] || awk "BEGIN{exit !($wall < $best_w)}"; then best_w="$wall"; fi
      if [ -z "$best_m" ] || [ "$rss" -lt "$best_m" ]; then best_m="$rss"; fi
    done
    printf "%-18s %-4s %10.4f %9.2f %9.1f %9s\n" "$name" "$which" "$best_c" "$best_w" \
      "$(awk "BEGIN{print $best_m / 1024}")" "$unstable"
  done
done
