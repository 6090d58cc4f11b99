#!/usr/bin/env bash
# vb_ab.sh TIMEOUT OUT prop...: verify-batch over one MNIST-FC 256x2 instance at a time,
# alternating base (default prover), new (default prover), new --prover portfolio.
to=$1; out=$2; shift 2
F=../shared/bench/mnistfc
mkdir -p $out
for prop in "$@"; do
  echo "mnist-net_256x2.onnx,$prop.vnnlib,$to" > $out/$prop.csv
  for run in base:auto new:auto new:portfolio; do
    b=${run%%:*}; pv=${run#*:}; bin=${BASE:?baseline binary}; [[ $b == new ]] && bin=${NEW:-build/apps/nnopt}
    o=$out/${prop}_${b}_$pv.csv; [[ -s $o ]] && continue
    $bin verify-batch --instances $out/$prop.csv --dir $F --out $o --prover $pv >/dev/null 2>&1
    echo "$prop $b $pv $(tail -1 $o)"
  done
done
