#!/usr/bin/env bash
# rob.sh: robustness exact route, base binary: auto (verify: ReLU B&B) vs portfolio (per class) vs mip, alternating per model
B=${BASE:?baseline binary}; D=../shared/bench/eran_mnist/mnist_test.csv
for model in eran; do
  for m in auto portfolio mip; do
    out=rob/${model}_$m; rm -rf $out
    /usr/bin/time -f "%e s wall" $B robustness --model ../shared/bench/eran_mnist/mnist_relu_3_50.onnx --dataset $D --limit 8 --eps 0.03,0.05 --time-limit 20 --method $m --out $out --no-infer -q 2>&1 | tail -1
    python3 - $out $m <<'PY'
import json,sys
rows=[json.loads(l) for l in open(sys.argv[1]+'/results.jsonl') if l.strip()]
rows=[r for r in rows if 'verdict' in r]
from collections import Counter
c=Counter(r['verdict'] for r in rows); d=Counter(r.get('decided_by') for r in rows)
t=sum(r.get('time_s',0) for r in rows)
print(sys.argv[2], dict(c), dict(d), 'solve time sum %.1f'%t)
PY
  done
done
