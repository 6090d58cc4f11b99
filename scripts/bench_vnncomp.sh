#!/usr/bin/env bash
# VNN-COMP benchmarks: runs `nnopt verify-batch` on each benchmark folder with
# the competition timeouts (from its reference.csv, or instances.csv when the
# folder has one), scores the results against reference.csv and checks every
# sat counterexample with the independent checker.
#
# Usage: scripts/bench_vnncomp.sh [options] [BENCHMARK ...]
#   BENCHMARK        folder names under --bench (default: acasxu mnistfc)
#   --bench DIR      benchmark root (default: ../shared/bench next to the project)
#   --out DIR        output root (default: /tmp/nnopt_vnncomp); per benchmark:
#                    results.csv, progress.log, score.txt, ce/*.counterexample, ce_check.txt
#   --timeout-scale X  multiply every timeout (default 1)
#   --limit N        at most N instances per benchmark (a quick subset)
#   --resume         keep results.csv and skip the instances already in it
#   --nnopt PATH     the nnopt binary (default: build/apps/nnopt)
#   -- ARGS...       passed on to verify-batch (e.g. --threads 2 --prover mip)
# Long runs: nohup scripts/bench_vnncomp.sh --out /tmp/v > /tmp/v.log 2>&1 &
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/../shared/bench"
OUT=/tmp/nnopt_vnncomp
SCALE=1
LIMIT=0
RESUME=0
NNOPT="$ROOT/build/apps/nnopt"
EXTRA=()
NAMES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) BENCH=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --timeout-scale) SCALE=$2; shift 2 ;;
    --limit) LIMIT=$2; shift 2 ;;
    --resume) RESUME=1; shift ;;
    --nnopt) NNOPT=$2; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "bench_vnncomp.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) NAMES+=("$1"); shift ;;
  esac
done
[ ${#NAMES[@]} -gt 0 ] || NAMES=(acasxu mnistfc)
if [ ! -x "$NNOPT" ]; then
  echo "bench_vnncomp.sh: $NNOPT not found; build first (ninja -C build)" >&2
  exit 2
fi
CHECK="$BENCH/../tools/check_counterexamples.py"
# --bench outside ../shared (e.g. the full VNN-COMP sets): the checker of ../shared/tools
[ -f "$CHECK" ] || CHECK="$ROOT/../shared/tools/check_counterexamples.py"

for name in "${NAMES[@]}"; do
  dir="$BENCH/$name"
  if [ ! -f "$dir/reference.csv" ]; then
    echo "bench_vnncomp.sh: $dir/reference.csv not found" >&2
    exit 2
  fi
  out="$OUT/$name"
  mkdir -p "$out/ce"
  if [ $RESUME = 0 ]; then
    rm -f "$out/results.csv" "$out/progress.log" "$out"/ce/*.counterexample
  fi
  list=(--reference "$dir/reference.csv")
  [ -f "$dir/instances.csv" ] && list=(--instances "$dir/instances.csv")
  args=("${list[@]}" --dir "$dir" --out "$out/results.csv" --ce-dir "$out/ce"
        --timeout-scale "$SCALE" --resume)
  [ "$LIMIT" != 0 ] && args+=(--limit "$LIMIT")
  echo "== $name: $(date '+%F %T') timeout scale $SCALE ${EXTRA[*]:-}"
  "$NNOPT" verify-batch "${args[@]}" "${EXTRA[@]}" 2> >(tee -a "$out/progress.log" >&2)
  "$NNOPT" score --results "$out/results.csv" --reference "$dir/reference.csv" |
    tee "$out/score.txt"
  shopt -s nullglob
  ces=("$out"/ce/*.counterexample)
  shopt -u nullglob
  if [ ${#ces[@]} -gt 0 ] && [ -f "$CHECK" ]; then
    python3 "$CHECK" "$dir" "$dir" "${ces[@]}" | tee "$out/ce_check.txt" | tail -1
  else
    echo "no counterexamples to check" | tee "$out/ce_check.txt"
  fi
done
