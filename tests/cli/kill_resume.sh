#!/usr/bin/env bash
# Batch runs survive kills: start `nnopt verify-batch`, `nnopt sweep` or
# `nnopt robustness` on small committed fixture networks, kill it mid-run with SIGINT, SIGTERM and
# SIGKILL (after which a torn last line is appended, as a kill during a write
# would leave), resume each time, and compare the final result file with an
# uninterrupted run's: the same rows (verdicts, not times), no duplicates,
# every line whole. With MPIRUN set (e.g. "mpirun -np 2 --oversubscribe"),
# the runs after the reference go through it instead (the MPI test).
#
# Usage: kill_resume.sh NNOPT verify|sweep|robustness REPO_ROOT WORKDIR [kill|mpi]
set -euo pipefail
nnopt=$1 mode=$2 root=$3 work=$4 what=${5:-kill}
rm -rf "$work"
mkdir -p "$work"
fail() { echo "kill_resume.sh: FAIL: $*" >&2; exit 1; }
launcher=()  # mpirun ... for the MPI runs

if [ "$mode" = verify ]; then
  DIGITS="0 1 2 4 5 6" EPSILONS="0.02 0.04 0.06" NETS="mnist_mlp_2x20.onnx mnist_mlp_3x10.onnx" \
    "$root/tests/cli/make_props.sh" "$work/p" "$root/tests/fixtures/digits.csv" "$root/models"
  # MIP decides every instance (slow enough to be killed mid-run, deterministic).
  cmdline() { # OUT [--resume]: the command in CMD
    CMD=("${launcher[@]}" "$nnopt" verify-batch --instances "$work/p/instances.csv" --dir "$work/p" --out "$1" \
      --threads 1 --prover mip --no-nlp --pgd-restarts 1 --pgd-steps 0 "${@:2}")
  }
  resultFile() { echo "$1"; }
  # network,property,result of every data row, sorted
  rows() { tail -n +2 "$1" | cut -d, -f1-3 | sort; }
  keys() { tail -n +2 "$1" | cut -d, -f1-2 | sort; }
  torn="mnist_mlp_2x20.onnx,props/d9_e0.0"
elif [ "$mode" = robustness ]; then
  # 20 digits x 5 eps, every eps solved on its own; long PGD runs make each
  # image slow enough to be killed mid-run, and every row is decided (the
  # verdicts do not depend on timing).
  cmdline() { # OUTDIR [--resume]: the command in CMD
    CMD=("${launcher[@]}" "$nnopt" robustness --model "$root/models/mnist_mlp_2x20.onnx"
      --dataset "$root/tests/fixtures/digits.csv" --eps 0.01,0.02,0.03,0.05,0.1 --mean 0.1307 --std 0.3081
      --time-limit 60 --no-infer --pgd-restarts 100 --pgd-steps 200 --out "$1" "${@:2}")
  }
  resultFile() { echo "$1/results.jsonl"; }
  # image,eps,verdict of every row (keys are written in alphabetical order)
  rows() { sed -n 's/.*"eps":\([^,]*\),.*"index":\([0-9]*\),.*"verdict":"\([a-z]*\)".*/\2,\1,\3/p' "$1" | sort; }
  keys() { rows "$1" | cut -d, -f1-2; }
  torn='{"adv_class":-1,"classes_bound":3,"cla'
else
  nets=()
  for n in 1x10 1x20 1x30 1x40 2x10 2x20 2x30 3x10 3x20 4x10; do
    nets+=("$root/models/sweep/mlp_$n.onnx")
  done
  cmdline() { # OUTDIR [--resume]: the command in CMD
    CMD=("${launcher[@]}" "$nnopt" sweep --models "${nets[@]}" --dataset "$root/tests/fixtures/digits.csv" --index 0 \
      --eps 0.03 --mean 0.1307 --std 0.3081 --methods mip,nlp --time-limit 60 --threads 1 \
      --out "$1" "${@:2}")
  }
  resultFile() { echo "$1/results.jsonl"; }
  field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }
  rows() { paste -d, <(field network < "$1") <(field method < "$1") <(field verdict < "$1") | sort; }
  keys() { paste -d, <(field network < "$1") <(field method < "$1") | sort; }
  torn='{"network":"mlp_1x10.onnx","method":"mi'
fi
cmd() { cmdline "$@"; "${CMD[@]}"; }
count() { [ -f "$1" ] && grep -c . "$1" || echo 0; }

# 1. The uninterrupted reference (one process).
ref="$work/ref"
cmd "$ref" > /dev/null 2>&1 || fail "reference run failed"
ref_file=$(resultFile "$ref")
rows "$ref_file" > "$work/ref.rows"
n_ref=$(grep -c . "$work/ref.rows")
[ "$n_ref" -ge 20 ] || fail "reference has only $n_ref rows"

run="$work/run"
if [ "$what" = kill ]; then
  # 2. Kill it three times mid-run, resuming each time.
  for sig in INT TERM KILL; do
    before=$(count "$(resultFile "$run")")
    cmdline "$run" --resume
    "${CMD[@]}" > "$work/$sig.out" 2> "$work/$sig.err" &  # $! is nnopt itself
    pid=$!
    for _ in $(seq 1 1200); do  # until 3 more rows are on disk (60 s at most)
      [ "$(count "$(resultFile "$run")")" -ge $((before + 3)) ] && break
      kill -0 $pid 2> /dev/null || break
      sleep 0.05
    done
    kill -0 $pid 2> /dev/null || fail "the run ended before SIG$sig could be sent"
    if [ $sig = INT ]; then
      # A second run on the same results while the first one goes on is refused
      # (it would append the same rows again). The first run is stopped
      # meanwhile (it keeps its lock), so it cannot finish first; the signal
      # is sent while it is stopped and delivered when it continues.
      kill -s STOP $pid
      set +e
      timeout 60 "${CMD[@]}" > "$work/second.out" 2> "$work/second.err"
      code=$?
      set -e
      [ $code = 2 ] && grep -q "another nnopt" "$work/second.err" || {
        kill -s CONT $pid
        fail "a concurrent second run was not refused (exit $code: $(tail -2 "$work/second.err"))"
      }
      echo "concurrent second run refused: $(tail -1 "$work/second.err")"
      kill -s $sig $pid
      kill -s CONT $pid
    else
      kill -s $sig $pid
    fi
    set +e
    wait $pid
    code=$?
    set -e
    case $sig in INT) want=130 ;; TERM) want=143 ;; KILL) want=137 ;; esac
    [ $code = $want ] || fail "SIG$sig: exit code $code, expected $want ($(cat "$work/$sig.err" | tail -2))"
    f=$(resultFile "$run")
    [ -z "$(tail -c 1 "$f")" ] || fail "SIG$sig left a partial last line in $f"
    echo "SIG$sig: exit $code with $(count "$f") lines on disk (had $before)"
    # A kill -9 during a write would leave a torn line: add one.
    [ $sig = KILL ] && printf '%s' "$torn" >> "$f"
  done
  cmd "$run" --resume > "$work/final.out" 2> "$work/final.err" || fail "final resume failed"
  if [ "$mode" = verify ]; then
    grep -q "dropped a partial last line" "$work/final.err" || fail "torn line not reported"
  else
    grep -q "dropped a partial last line" "$work/final.out" || fail "torn line not reported"
  fi
else
  # 2'. The same list through mpirun.
  [ -n "${MPIRUN:-}" ] || fail "set MPIRUN for the mpi test"
  read -r -a launcher <<< "$MPIRUN"
  # SIGTERM to mpirun mid-run (it passes it on to the ranks), then resume.
  waitRows() { # PID N: until N rows are on disk
    for _ in $(seq 1 1200); do
      [ "$(count "$(resultFile "$run")")" -ge "$2" ] && return 0
      kill -0 "$1" 2> /dev/null || return 1
      sleep 0.05
    done
  }
  cmdline "$run" --resume
  "${CMD[@]}" > "$work/mpi_term.out" 2> "$work/mpi_term.err" &
  pid=$!
  waitRows $pid 4 || fail "the mpirun run ended before SIGTERM could be sent"
  kill -s TERM $pid
  set +e
  wait $pid
  code=$?
  set -e
  [ $code != 0 ] || fail "mpirun exited with 0 after SIGTERM"
  f=$(resultFile "$run")
  [ -z "$(tail -c 1 "$f")" ] || fail "SIGTERM to mpirun left a partial last line in $f"
  echo "SIGTERM to mpirun: exit $code with $(count "$f") lines on disk"
  cmd "$run" --resume > "$work/mpi.out" 2> "$work/mpi.err" ||
    fail "mpirun run failed: $(tail -3 "$work/mpi.err")"
fi

# 3. Same rows as the reference, none twice, every line whole.
f=$(resultFile "$run")
[ -z "$(tail -c 1 "$f")" ] || fail "partial last line in $f"
rows "$f" > "$work/run.rows"
dups=$(keys "$f" | uniq -d)
[ -z "$dups" ] || fail "duplicate rows: $dups"
diff "$work/ref.rows" "$work/run.rows" > "$work/diff.txt" || fail "rows differ from the reference: $(cat "$work/diff.txt")"
echo "OK: $n_ref rows identical to the uninterrupted run ($mode, $what)"
