#!/usr/bin/env bash
# probe2.sh OUTDIR THREADS TIMEOUT "bins(name=path)" "provers" onnx:vnnlib ...  (alternates binaries/provers per instance)
out=$1; th=$2; to=$3; bins=$4; provers=$5; shift 5
mkdir -p $out
for inst in "$@"; do
  onnx=${inst%%:*}; vn=${inst#*:}
  tag=$(basename $onnx .onnx)_$(basename $vn .vnnlib)
  for b in $bins; do bn=${b%%=*}; bp=${b#*=}
  for pv in $provers; do
    j=$out/${tag}_${bn}_${pv}.json
    [[ -s $j ]] && continue
    $bp verify --onnx $onnx --vnnlib $vn --timeout $to --prover $pv --threads $th --json $j -q
    python3 -c "import json;d=json.load(open('$j'));print('$tag $bn $pv',d['result'],round(d['time_s'],2),d['decided_by'],d['nodes'],d['portfolio_wins'],d['disjuncts_refuted'],'/',d['disjuncts'], d.get('exact_prover',''))"
  done; done
done
