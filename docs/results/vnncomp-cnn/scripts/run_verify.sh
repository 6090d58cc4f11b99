#!/bin/bash
# usage: run_verify.sh SETDIR "ROWS" OUTCSV CEDIR   (ROWS = reference.csv line numbers, header = 1)
# NNOPT = binary (default /work/peer/nnopt_sparse, commit 31c98af; the first run used
# /work/peer/nnopt_h2 = the dense build b87584a)
set -u
SET=$1; ROWS=$2; OUT=$3; CE=$4
NNOPT=${NNOPT:-/work/peer/nnopt_sparse}
mkdir -p "$CE" "$CE/../res"
cd "$SET"
for r in $ROWS; do
  line=$(sed -n ${r}p reference.csv)
  IFS=, read net prop ref tool bt nagree tmo <<< "$line"
  t=$(python3 -c "print(min(float('$tmo'),60))")
  ns=$(basename "$net" .onnx); ps=$(basename "$prop" .vnnlib)
  res="$CE/../res/${ns}_${ps}.txt"; js="$CE/../res/${ns}_${ps}.json"
  rm -f "$res"
  /usr/bin/time -f '%e %M' -o /tmp/vt.$$ "$NNOPT" verify --onnx "$net" --vnnlib "$prop" --timeout $t --threads 1 --result "$res" --json "$js" -q > /dev/null 2> "$CE/../res/${ns}_${ps}.err"
  rc=$?
  read wall mem < <(tail -1 /tmp/vt.$$)
  ours=$(head -1 "$res" 2>/dev/null || echo none)
  [ "$ours" = sat ] && cp "$res" "$CE/${ns}_${ps}.counterexample"
  echo "$net,$prop,$ref,$ours,$wall,$mem,$t,$rc" >> "$OUT"
done
