#!/usr/bin/env bash
# nnopt robustness end to end on the committed fixtures, then its report.html
# in a real browser: headless Chromium loads the page from disk (no network),
# the DOM it built holds the chart, the band, the table and the panels, the
# console logged no error, and a screenshot is written.
#
# Usage: robustness_report.sh NNOPT REPO_ROOT WORKDIR
# Exit 77 (ctest: skipped, shown as such) when chromium is not installed
# (scripts/setup.sh installs it).
set -euo pipefail
nnopt=$1 root=$2 work=$3
fail() { echo "robustness_report.sh: FAIL: $*" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium not installed (scripts/setup.sh installs it)"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
out="$work/out"
"$nnopt" robustness --model "$root/models/mnist_mlp_1x10.onnx" --dataset "$root/tests/fixtures/digits.csv" \
  --limit 8 --eps 0.01,0.03,0.05 --mean 0.1307 --std 0.3081 --time-limit 20 --out "$out" \
  > "$work/run.out" 2> "$work/run.err" || fail "nnopt robustness failed: $(tail -2 "$work/run.err")"
for f in results.jsonl summary.json summary.csv report.html; do
  [ -s "$out/$f" ] || fail "$f missing"
done
[ "$(grep -c . "$out/results.jsonl")" = 24 ] || fail "expected 24 rows (8 images x 3 eps)"
[ "$(wc -l < "$out/summary.csv")" = 4 ] || fail "summary.csv: expected a header and 3 rows"
! grep -q "<script" "$out/report.html" || fail "report.html has a script"
! grep -Eq "(src|href)=\"https?:" "$out/report.html" || fail "report.html refers to the network"

# A fresh profile, no network, console messages on stderr.
flags=(--headless --disable-gpu --no-sandbox --no-first-run --user-data-dir="$work/profile"
  --proxy-server=127.0.0.1:9 --enable-logging=stderr --v=0)
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$out/report.html" > "$work/dom.html" \
  2> "$work/chromium.err" || fail "chromium --dump-dom failed: $(tail -3 "$work/chromium.err")"
for id in accuracy-chart unknown-band summary-table margin-histogram image-table command; do
  grep -q "id=\"$id\"" "$work/dom.html" || fail "rendered page has no #$id"
done
rows=$(grep -o "<tr>" "$work/dom.html" | wc -l)
[ "$rows" -ge 12 ] || fail "rendered tables have only $rows rows"
if grep -q '"verdict":"attacked"' "$out/results.jsonl"; then
  grep -q 'src="data:image/png;base64,' "$work/dom.html" || fail "no panel in the gallery"
fi
# The page has no scripts: any console message (an error, a CSP or
# resource complaint) or a failed load is a failure.
if grep -E ":CONSOLE|Failed to load resource|net::ERR_" "$work/chromium.err"; then
  fail "the page logged errors"
fi
timeout 120 "$browser" "${flags[@]}" --hide-scrollbars --window-size=1200,1800 \
  --screenshot="$work/report.png" "file://$out/report.html" 2>> "$work/chromium.err" ||
  fail "chromium --screenshot failed"
[ "$(head -c 4 "$work/report.png" | od -An -c | tr -d ' ')" = "211PNG" ] || fail "screenshot is not a PNG"
[ "$(stat -c %s "$work/report.png")" -gt 20000 ] || fail "screenshot is (nearly) empty"
echo "OK: report.html rendered by $($browser --version 2>/dev/null | head -1); screenshot $work/report.png"
