#!/usr/bin/env bash
# One process vs `mpirun -np 2` on the same instance list (ACAS Xu, 72
# instances of ../shared/bench/acasxu), alternating, REPEAT
# times each: wall time of each run, and the result rows (network, property,
# result) compared with the first one-process run.
# Usage: mpi_compare.sh NNOPT OUTDIR [REPEAT [VERIFY-BATCH OPTIONS...]]
#   (run from the project root; e.g. "--threads 1" for one thread per instance)
set -euo pipefail
NNOPT=$1 OUT=$2 REPEAT=${3:-2}
shift 3 || shift $#
EXTRA=("$@")
B=../shared/bench/acasxu
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$OUT"
rows() { tail -n +2 "$1" | cut -d, -f1-3 | sort; }
one=() mpi=()
for k in $(seq 1 "$REPEAT"); do
  for mode in one mpi; do
    f="$OUT/${mode}_$k.csv"
    rm -f "$f"
    launch=()
    [ $mode = mpi ] && launch=(mpirun -np 2)
    t0=$(date +%s.%N)
    /usr/bin/time -f %U -o "$OUT/${mode}_$k.cpu" "${launch[@]}" "$NNOPT" verify-batch \
      --reference "$B/reference.csv" --dir "$B" --out "$f" "${EXTRA[@]}" \
      > "$OUT/${mode}_$k.out" 2> "$OUT/${mode}_$k.err"
    t=$(echo "$(date +%s.%N) - $t0" | bc)
    printf '%s run %d: %.1f s wall, %.1f s user CPU (all processes), %d rows, %s\n' "$mode" "$k" \
      "$t" "$(tail -1 "$OUT/${mode}_$k.cpu")" "$(rows "$f" | wc -l)" "$(tail -1 "$OUT/${mode}_$k.out")"
    [ $mode = one ] && one+=("$t") || mpi+=("$t")
    rows "$f" > "$OUT/${mode}_$k.rows"
    if [ "$mode $k" != "one 1" ]; then
      if diff -q "$OUT/one_1.rows" "$OUT/${mode}_$k.rows" > /dev/null; then
        echo "  rows identical to one run 1"
      else
        echo "  rows DIFFER from one run 1:"; diff "$OUT/one_1.rows" "$OUT/${mode}_$k.rows" | sed 's/^/    /'
      fi
    fi
  done
done
so=$(printf '%s\n' "${one[@]}" | paste -sd+ | bc) sm=$(printf '%s\n' "${mpi[@]}" | paste -sd+ | bc)
printf 'mean wall: one process %.1f s, mpirun -np 2 %.1f s, ratio %.2f\n' \
  "$(echo "$so / $REPEAT" | bc -l)" "$(echo "$sm / $REPEAT" | bc -l)" "$(echo "$sm / $so" | bc -l)"
