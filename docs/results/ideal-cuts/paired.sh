#!/usr/bin/env bash
# paired: CBC margin MIP at eps 0.1 without / with root ideal cuts (<= 60 terms, 5 passes)
cd /work/main
B=/work/peer/nnopt_s16_cuts
for net in "$@"; do
  for mode in off cuts; do
    if [ $mode = cuts ]; then export NNOPT_CUTS=0 NNOPT_CUTS_MAXTERMS=60 NNOPT_PASSC=5; else unset NNOPT_CUTS NNOPT_CUTS_MAXTERMS NNOPT_PASSC; fi
    out=$($B attack --model models/sweep/$net.onnx --dataset ../shared/bench/eran_mnist/mnist_test.csv --index 0 --eps 0.1 --mean 0.1307 --std 0.3081 --method mip --time-limit 300 --threads 1 --json /work/bench16/cuts_${net}_$mode.json -q 2>&1)
    python3 -c "
import json;d=json.load(open('/work/bench16/cuts_${net}_$mode.json'));r=d['results'][0] if 'results' in d else d
print('$net','$mode',r.get('verdict'),r.get('margin'),r.get('lower_bound',r.get('bound')),r.get('time_s'),r.get('iterations'))" 2>&1 | tail -1
  done
done
