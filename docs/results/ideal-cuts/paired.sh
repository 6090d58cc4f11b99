#!/usr/bin/env bash
# paired: CBC margin MIP at eps 0.1 without / with root ideal cuts (5 passes).
# As measured (paired.log): binary /work/peer/nnopt_s16_cuts, an experiment build whose env
# switches (NNOPT_CUTS=0 root only, NNOPT_CUTS_MAXTERMS=60, NNOPT_PASSC=5) are not in the
# committed code. The committed equivalent is `attack --mip-cuts` (root only, 5 passes, rows
# of at most 64 terms); this script now runs that (NNOPT=path/to/nnopt, default build/apps/nnopt).
cd "$(dirname "$0")/../../.."
B=${NNOPT:-build/apps/nnopt}
for net in "$@"; do
  for mode in off cuts; do
    extra=(); [ $mode = cuts ] && extra=(--mip-cuts)
    out=$($B attack --model models/sweep/$net.onnx --dataset ../shared/bench/eran_mnist/mnist_test.csv --index 0 --eps 0.1 --mean 0.1307 --std 0.3081 --method mip --time-limit 300 --threads 1 "${extra[@]}" --json /tmp/cuts_${net}_$mode.json -q 2>&1)
    python3 -c "
import json;d=json.load(open('/tmp/cuts_${net}_$mode.json'));r=d['results'][0] if 'results' in d else d
print('$net','$mode',r.get('verdict'),r.get('margin'),r.get('lower_bound',r.get('bound')),r.get('time_s'),r.get('iterations'))" 2>&1 | tail -1
  done
done
