#!/usr/bin/env bash
# nnopt robustness on bad input: exit code 2 and one line on stderr naming
# the cause, and no results written.
# Usage: robustness_errors.sh NNOPT REPO_ROOT WORKDIR
set -uo pipefail
nnopt=$1 root=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
model="$root/models/mnist_mlp_1x10.onnx" digits="$root/tests/fixtures/digits.csv"
{ printf '12'; for _ in $(seq 784); do printf ',0'; done; echo; } > "$work/bad_label.csv"
failures=0
# expect WANTED_TEXT ARGS...: exit 2, a single stderr line holding WANTED_TEXT
expect() {
  local want=$1
  shift
  "$nnopt" robustness "$@" > "$work/out" 2> "$work/err"
  local code=$? lines
  lines=$(grep -c . "$work/err")
  if [ $code != 2 ] || [ "$lines" != 1 ] || ! grep -qF -- "$want" "$work/err"; then
    echo "FAIL: robustness $* -> exit $code, $lines lines: $(cat "$work/err")"
    failures=$((failures + 1))
  else
    echo "ok: $(cat "$work/err")"
  fi
}
base=(--model "$model" --dataset "$digits" --out "$work/o")
expect "'abc' is not a number" "${base[@]}" --eps 0.01,abc
expect "finite number >= 0" "${base[@]}" --eps 0.01,-0.1
expect "--eps" --model "$model" --dataset "$digits" --out "$work/o"
expect "25 out of range" "${base[@]}" --eps 0.01 --indices 1,25
expect "not an image index" "${base[@]}" --eps 0.01 --indices 1,x
expect "missing.onnx" --model "$work/missing.onnx" --dataset "$digits" --out "$work/o" --eps 0.01
expect "missing.csv" --model "$model" --dataset "$work/missing.csv" --out "$work/o" --eps 0.01
expect "label 12 out of range" --model "$model" --dataset "$work/bad_label.csv" --out "$work/o" --eps 0.01
expect "--norm must be linf" "${base[@]}" --eps 0.01 --norm l2
expect "--method must be" "${base[@]}" --eps 0.01 --method gurobi
expect "--time-limit" "${base[@]}" --eps 0.01 --time-limit 0
expect "--mean and --std" "${base[@]}" --eps 0.01 --mean 0.1
[ ! -e "$work/o/results.jsonl" ] || { echo "FAIL: results written on bad input"; failures=$((failures + 1)); }
[ $failures = 0 ] || { echo "$failures failures"; exit 1; }
echo "OK: every bad input refused with one line and exit code 2"
