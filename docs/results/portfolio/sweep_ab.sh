#!/usr/bin/env bash
# sweep_ab.sh TL OUT net...: per network, alternating: base `sweep --methods mip`, new `--methods exact`,
# new `--methods portfolio`, new `--methods mip`; one sweep invocation per (binary, method, network).
tl=$1; out=$2; shift 2
BASE=${BASE:?baseline binary}; NEW=${NEW:-build/apps/nnopt}
D=../shared/bench/eran_mnist/mnist_test.csv; M=models/sweep
mkdir -p $out
for net in "$@"; do
  for run in base:mip new:exact new:portfolio new:mip; do
    b=${run%%:*}; m=${run#*:}; bin=$BASE; [[ $b == new ]] && bin=$NEW
    o=$out/${net}_${b}_$m; [[ -s $o/results.jsonl ]] && continue; rm -rf $o
    $bin sweep --models $M/$net.onnx --dataset $D --index 0 --eps 0.1 --mean 0.1307 --std 0.3081 \
      --methods $m --time-limit $tl --threads 1 --out $o -q >/dev/null 2>&1
    python3 -c "
import json;r=[json.loads(l) for l in open('$o/results.jsonl')][-1]
print('$net $b $m', r['verdict'], '%.5f'%r['margin'] if r['margin'] is not None else None, '%.3f'%r['time_s'], r['status'], r.get('decided_by'))"
  done
done
