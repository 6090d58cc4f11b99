#!/bin/bash
# usage: run_ab.sh OUTDIR  -- every instance of run 2 (24: oval21 + marabou-cifar10),
# baseline and new binary alternating per instance, 60 s, --threads 1, one at a time.
set -u
OUT=$1
B=${BASE:-/work/peer/nnopt_cnn_base}   # main ebf5fd8
N=${NEW:-/work/peer/nnopt_cnn_new}     # cnnverify
R2=/work/main/docs/results/vnncomp-cnn/run2_31c98af
mkdir -p "$OUT/res" "$OUT/ce"
CSV=$OUT/verify_ab.csv
[ -f "$CSV" ] || echo "set,network,property,reference,binary,ours,wall_s,maxrss_kb,rc" > "$CSV"
for set in oval21 marabou-cifar10; do
  f=$R2/verify_${set%%-*}.csv; [ "$set" = marabou-cifar10 ] && f=$R2/verify_marabou.csv
  tail -n +2 "$f" | while IFS=, read net prop ref rest; do
    for which in base new; do
      bin=$B; [ $which = new ] && bin=$N
      ns=$(basename "$net" .onnx); ps=$(basename "$prop" .vnnlib)
      stem="$OUT/res/${which}_${ns}_${ps}"
      rm -f "$stem.txt"
      ( cd /work/vnncomp/benchmarks/$set && nice /usr/bin/time -f '%e %M' -o "$stem.time" "$bin" verify --onnx "$net" --vnnlib "$prop" --timeout 60 --threads 1 --result "$stem.txt" --json "$stem.json" -q > /dev/null 2> "$stem.err" ); rc=$?
      read wall mem < <(tail -1 "$stem.time")
      ours=$(head -1 "$stem.txt" 2>/dev/null || echo none)
      [ "$ours" = sat ] && cp "$stem.txt" "$OUT/ce/${which}_${ns}_${ps}.counterexample"
      echo "$set,$net,$prop,$ref,$which,$ours,$wall,$mem,$rc" >> "$CSV"
    done
  done
done
echo finished >> "$OUT/done"
