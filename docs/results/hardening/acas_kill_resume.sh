#!/usr/bin/env bash
# ACAS Xu (72 instances of ../shared/bench/acasxu) through verify-batch three
# ways, compared on the result rows (network, property, result; times differ):
#   ref:  one uninterrupted run;
#   kill: SIGTERM after >= K1 rows on disk, --resume, SIGINT after >= K2 rows,
#         --resume to completion.
# Usage: acas_kill_resume.sh NNOPT OUTDIR [K1 K2]   (run from the project root)
set -euo pipefail
NNOPT=$1 OUT=$2 K1=${3:-15} K2=${4:-45}
B=../shared/bench/acasxu
mkdir -p "$OUT"
rm -f "$OUT"/ref.csv "$OUT"/kill.csv
cmd() { # OUT.csv: the verify-batch command (always --resume) in CMD
  CMD=("$NNOPT" verify-batch --reference "$B/reference.csv" --dir "$B" --out "$1" --resume)
}
run() { cmd "$1"; "${CMD[@]}"; }
rows() { { tail -n +2 "$1" 2> /dev/null || true; } | grep -c . || true; }

start=$(date +%s.%N)
run "$OUT/ref.csv" > "$OUT/ref.out" 2> "$OUT/ref.err"
echo "ref: $(rows "$OUT/ref.csv") rows in $(echo "$(date +%s.%N) - $start" | bc) s"

n=0
for step in "TERM $K1" "INT $K2"; do
  set -- $step
  sig=$1 at=$2
  n=$((n + 1))
  cmd "$OUT/kill.csv"
  "${CMD[@]}" > "$OUT/kill$n.out" 2> "$OUT/kill$n.err" &  # $! is nnopt itself
  pid=$!
  while [ "$(rows "$OUT/kill.csv")" -lt "$at" ] && kill -0 $pid 2> /dev/null; do sleep 0.02; done
  kill -s "$sig" $pid
  set +e
  wait $pid
  code=$?
  set -e
  echo "kill $n: SIG$sig once >= $at rows were on disk: exit code $code, $(rows "$OUT/kill.csv") rows on disk; stderr: $(tail -1 "$OUT/kill$n.err")"
done
run "$OUT/kill.csv" > "$OUT/kill_final.out" 2> "$OUT/kill_final.err"
echo "resume: $(head -1 "$OUT/kill_final.err")"
echo "resume: $(tail -1 "$OUT/kill_final.out")"

key() { tail -n +2 "$1" | cut -d, -f1-3 | sort; }
key "$OUT/ref.csv" > "$OUT/ref.rows"
key "$OUT/kill.csv" > "$OUT/kill.rows"
dups=$(tail -n +2 "$OUT/kill.csv" | cut -d, -f1-2 | sort | uniq -d | wc -l)
echo "rows: ref $(wc -l < "$OUT/ref.rows"), killed+resumed $(wc -l < "$OUT/kill.rows"), duplicate keys $dups"
if diff "$OUT/ref.rows" "$OUT/kill.rows" > "$OUT/diff.txt"; then
  echo "result rows (network, property, result): IDENTICAL"
else
  echo "result rows DIFFER:"; cat "$OUT/diff.txt"; exit 1
fi
