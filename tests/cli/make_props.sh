#!/usr/bin/env bash
# Writes L-inf robustness properties (VNN-LIB) for the committed MNIST fixture
# networks and an instances.csv: make_props.sh OUTDIR DIGITS_CSV NETS_DIR
#   OUTDIR/props/d<k>_e<eps>.vnnlib  (image k of DIGITS_CSV, the box in the
#   normalised input space (x - 0.1307) / 0.3081 the networks expect, unsafe:
#   some other logit >= the label's)
#   OUTDIR/instances.csv            rows onnx,vnnlib,timeout over NETS x props
# Environment: DIGITS (default "0 1 2 3"), EPSILONS ("0.01 0.03"),
# NETS ("mnist_mlp_1x10.onnx mnist_mlp_2x20.onnx"), TIMEOUT (30).
set -euo pipefail
out=$1 csv=$2 nets_dir=$3
DIGITS=${DIGITS:-"0 1 2 3"}
EPSILONS=${EPSILONS:-"0.01 0.03"}
NETS=${NETS:-"mnist_mlp_1x10.onnx mnist_mlp_2x20.onnx"}
TIMEOUT=${TIMEOUT:-30}
mkdir -p "$out/props"
: > "$out/instances.csv"
for net in $NETS; do
  [ -f "$nets_dir/$net" ] || { echo "make_props.sh: $nets_dir/$net not found" >&2; exit 2; }
  ln -sf "$(cd "$nets_dir" && pwd)/$net" "$out/$net"
done
for k in $DIGITS; do
  for e in $EPSILONS; do
    f="props/d${k}_e${e}.vnnlib"
    awk -F, -v row=$((k + 1)) -v eps="$e" 'NR == row {
      label = $1
      for (i = 0; i < 784; i++) printf "(declare-const X_%d Real)\n", i
      for (j = 0; j < 10; j++) printf "(declare-const Y_%d Real)\n", j
      for (i = 0; i < 784; i++) {
        p = $(i + 2) / 255.0
        lo = p - eps; if (lo < 0) lo = 0
        hi = p + eps; if (hi > 1) hi = 1
        printf "(assert (>= X_%d %.17g))\n(assert (<= X_%d %.17g))\n", i, (lo - 0.1307) / 0.3081, i, (hi - 0.1307) / 0.3081
      }
      printf "(assert (or\n"
      for (j = 0; j < 10; j++) if (j != label) printf "  (and (>= Y_%d Y_%d))\n", j, label
      printf "))\n"
    }' "$csv" > "$out/$f"
    for net in $NETS; do echo "$net,$f,$TIMEOUT" >> "$out/instances.csv"; done
  done
done
