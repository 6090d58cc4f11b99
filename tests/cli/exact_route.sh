#!/usr/bin/env bash
# The exact stage where a proof is wanted (issue 13): `attack --method auto`
# escalates to the portfolio above the size rule (--portfolio-min-unstable) and
# to CBC below it, or to the one --exact names, and its JSON says which and why;
# `sweep --methods exact` records the method it chose per network (decided_by),
# next to mip with the same verdict; bad values fail with one line, exit 2.
# Usage: exact_route.sh NNOPT REPO_ROOT WORKDIR
set -uo pipefail
nnopt=$1 root=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
model="$root/models/mnist_mlp_2x20.onnx" digits="$root/tests/fixtures/digits.csv"
norm=(--mean 0.1307 --std 0.3081)
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# field FILE KEY: the first "KEY": value of a JSON file, quotes dropped.
field() { grep -o "\"$2\": *\"\?[^\",}]*" "$1" | head -1 | sed 's/.*: *"\?//'; }

# eps 0.01 on the first digit: robust, so the screen finds nothing and auto escalates.
attack() {  # attack NAME ARGS...: --method auto, JSON to $work/NAME.json
  local name=$1; shift
  "$nnopt" attack --model "$model" --dataset "$digits" --index 0 "${norm[@]}" --eps 0.01 \
    --method auto --starts 2 --time-limit 60 --json "$work/$name.json" -q "$@" \
    > "$work/$name.out" 2>&1 || fail "$name: exit $?: $(cat "$work/$name.out")"
}
attack rule_low --portfolio-min-unstable 0
attack rule_high --portfolio-min-unstable 100000
attack forced --exact mip --portfolio-min-unstable 0
for n in rule_low rule_high forced; do
  [ "$(field "$work/$n.json" verdict)" = robust ] || fail "$n: verdict $(field "$work/$n.json" verdict)"
done
[ "$(field "$work/rule_low.json" exact_method)" = portfolio ] || fail "rule_low: not the portfolio"
[ "$(field "$work/rule_low.json" decided_by)" = portfolio ] || fail "rule_low: decided_by"
grep -q '"exact_why": *"portfolio: [0-9]* unstable ReLUs (>= 0)' "$work/rule_low.json" ||
  fail "rule_low: exact_why"
[ "$(field "$work/rule_high.json" exact_method)" = mip ] || fail "rule_high: not the mip"
grep -q '"exact_why": *"mip: [0-9]* unstable ReLUs (< 100000' "$work/rule_high.json" ||
  fail "rule_high: exact_why"
[ "$(field "$work/forced.json" exact_method)" = mip ] || fail "forced: --exact mip ignored"

# The sweep's exact column: the portfolio at threshold 0, with mip's verdict.
"$nnopt" sweep --models "$model" --dataset "$digits" --index 0 "${norm[@]}" --eps 0.05 \
  --methods mip,exact --portfolio-min-unstable 0 --time-limit 60 --threads 1 \
  --out "$work/sweep" -q > "$work/sweep.out" 2>&1 || fail "sweep: exit $?: $(cat "$work/sweep.out")"
grep -q '"method":"exact".*"decided_by":"portfolio"\|"decided_by":"portfolio".*"method":"exact"' \
  "$work/sweep/results.jsonl" || fail "sweep: exact did not record the portfolio"
v_mip=$(grep '"method":"mip"' "$work/sweep/results.jsonl" | grep -o '"verdict":"[a-z_]*"')
v_ex=$(grep '"method":"exact"' "$work/sweep/results.jsonl" | grep -o '"verdict":"[a-z_]*"')
[ -n "$v_mip" ] && [ "$v_mip" = "$v_ex" ] || fail "sweep: verdicts differ ($v_mip vs $v_ex)"
grep -q "exact Method" "$work/sweep/table.md" || fail "sweep: no exact Method column"

# Bad values: one line, exit 2.
bad() {  # bad FRAGMENT ARGS...
  local frag=$1; shift
  "$nnopt" "$@" > "$work/bad.out" 2>&1
  local rc=$?
  [ $rc = 2 ] || fail "$*: exit $rc, expected 2"
  grep -q -- "$frag" "$work/bad.out" || fail "$*: no '$frag' in: $(cat "$work/bad.out")"
}
bad "--exact must be auto, mip or portfolio" attack --model "$model" --dataset "$digits" \
  --index 0 --eps 0.01 --method auto --exact bab
bad "--portfolio-min-unstable must be >= 0" attack --model "$model" --dataset "$digits" \
  --index 0 --eps 0.01 --method auto --portfolio-min-unstable -1
bad "--portfolio-min-unstable must be >= 0" sweep --models "$model" --dataset "$digits" \
  --eps 0.05 --methods exact --portfolio-min-unstable -3 --out "$work/bad_sweep"
bad "takes no form" sweep --models "$model" --dataset "$digits" --eps 0.05 --methods exact:fb \
  --out "$work/bad_sweep2"

[ $failures = 0 ] && echo "exact_route: all checks passed"
exit $((failures > 0))
