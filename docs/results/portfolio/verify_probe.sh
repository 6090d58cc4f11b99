#!/usr/bin/env bash
# verify_probe.sh BIN TIMEOUT OUTDIR "provers" net:prop ...
bin=$1; to=$2; out=$3; provers=$4; shift 4
B=../shared/bench/mnistfc
mkdir -p $out
for inst in "$@"; do
  net=${inst%%:*}; prop=${inst#*:}
  for pv in $provers; do
    j=$out/${net}_${prop}_${pv}.json
    [[ -s $j ]] && continue
    $bin verify --onnx $B/mnist-net_$net.onnx --vnnlib $B/$prop.vnnlib --timeout $to --prover $pv --json $j -q
    python3 -c "import json,sys;d=json.load(open('$j'));print('$net $prop $pv',d['result'],round(d['time_s'],2),d['decided_by'],d['nodes'],d['portfolio_wins'])"
  done
done
