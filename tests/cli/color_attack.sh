#!/usr/bin/env bash
# Colour input end to end on the 3x8x8 fixture CNN (scripts/train_color_fixture.py):
# nnopt attack on an RGB PNG with per-channel --mean/--std writes the JSON (mean/std
# as arrays) and a colour panel (5 tiles: original, adversarial, perturbation R, G, B);
# the colour CSV rows classify correctly; bad per-channel counts and a gray image for
# the colour network fail with one line and exit code 2.
# Usage: color_attack.sh NNOPT REPO_ROOT WORKDIR
set -uo pipefail
nnopt=$1 root=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
model="$root/models/color_cnn_3x8x8.onnx"
png="$root/tests/fixtures/color_8x8.png" csv="$root/tests/fixtures/color_8x8.csv"
norm=(--mean 0.6409,0.5229,0.4023 --std 0.169,0.1733,0.1731)
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$nnopt" attack --model "$model" --image "$png" "${norm[@]}" --eps 0.1 --method nlp \
  --json "$work/attack.json" --save-panel "$work/panel.png" --save-image "$work/adv.png" \
  > "$work/out" 2> "$work/err" || fail "attack exit $?: $(cat "$work/err")"
cat "$work/out"
grep -q "color_cnn_3x8x8.onnx (" "$work/out" || fail "no attack header"
grep -q "verdict" "$work/out" || fail "no verdict line"
grep -q "panel written to" "$work/out" || fail "no panel"
# The panel: a PNG, 8-bit RGB (colour type 2), 20 + 5*224 + 4*34 + 90 = 1366 pixels wide
# (a gray panel has 3 tiles: 850).
head -c 8 "$work/panel.png" | od -c | grep -q 'P   N   G' || fail "panel is not a PNG"
width=$(od -An -tu1 -j16 -N4 "$work/panel.png" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
ctype=$(od -An -tu1 -j25 -N1 "$work/panel.png" | tr -d ' ')
[ "$width" = 1366 ] || fail "panel width $width, expected 1366 (five tiles)"
[ "$ctype" = 2 ] || [ "$ctype" = 6 ] || fail "panel colour type $ctype, expected RGB"
# --save-image: RGB, 10x10 blocks of the 8x8 image.
width=$(od -An -tu1 -j16 -N4 "$work/adv.png" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
ctype=$(od -An -tu1 -j25 -N1 "$work/adv.png" | tr -d ' ')
[ "$width" = 80 ] && [ "$ctype" = 2 ] || fail "adversarial image ${width}px wide, colour type $ctype"
python3 - "$work/attack.json" <<'PY' || fail "attack JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["mean"] == [0.6409, 0.5229, 0.4023] and j["std"] == [0.169, 0.1733, 0.1731], j
assert j["true_label"] == 3, j["true_label"]  # the clean prediction of held-out case 0 (label 3)
assert len(j["logits_clean"]) == 4, j["logits_clean"]
PY

"$nnopt" classify --model "$model" --dataset "$csv" "${norm[@]}" > "$work/cls" 2>&1 || fail "classify: $(cat "$work/cls")"
cat "$work/cls"
grep -q "8 images, 8 labelled, accuracy 100.00%" "$work/cls" || fail "colour CSV accuracy"

# expect WANTED_TEXT ARGS...: exit 2, a single stderr line holding WANTED_TEXT
expect() {
  local want=$1
  shift
  "$nnopt" "$@" > "$work/out" 2> "$work/err"
  local code=$? lines
  lines=$(grep -c . "$work/err")
  if [ $code != 2 ] || [ "$lines" != 1 ] || ! grep -qF -- "$want" "$work/err"; then
    fail "$* -> exit $code, $lines lines: $(cat "$work/err")"
  else
    echo "ok: $(cat "$work/err")"
  fi
}
expect "--mean has 2 values but the network input is 3x8x8" \
  attack --model "$model" --image "$png" --mean 0.5,0.5 --std 0.2 --eps 0.1 --method nlp
expect "--std has 4 values" \
  bounds --model "$model" --image "$png" --mean 0.5 --std 0.2,0.2,0.2,0.2 --eps 0.1
expect "--mean has 3 values but the network input is 1x28x28" \
  attack --model "$root/models/mnist_mlp_1x10.onnx" --image "$root/data/mnist_test_0.pgm" \
  --mean 0.1,0.2,0.3 --std 0.3 --eps 0.1
expect "gray image (1 channel, 28x28) but the network expects 3 channels" \
  attack --model "$model" --image "$root/data/mnist_test_0.pgm" "${norm[@]}" --eps 0.1
[ $failures = 0 ] || { echo "$failures failures"; exit 1; }
