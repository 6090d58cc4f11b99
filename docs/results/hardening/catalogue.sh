#!/usr/bin/env bash
# Regenerates the hostile-input tables of docs/results/hardening.md from the
# tests themselves (run from the project root after `ninja -C build`):
#   catalogue.md   the gtest catalogue (tests/hardening/test_hostile_inputs.cpp):
#                  case, input, exit code, peak RSS (wait4 ru_maxrss), message
#   bad_inputs.md  scripts/bad_inputs.sh: the CLI on broken files, peak RSS from
#                  /usr/bin/time -f %M
set -euo pipefail
OUT=docs/results/hardening
rows=$(mktemp)
NNOPT_HOSTILE_TABLE=$rows build/tests/hardening/test_hostile_inputs > /dev/null
{
  echo "| case | input | exit | peak RSS MB | stderr (the one line; \$TMP = the test's temp dir) |"
  echo "|---|---|---|---|---|"
  cat "$rows"
  echo
  awk -F'|' '$4+0 == 2 { n++; if ($5+0 > m) { m = $5+0; w = $2 } }
             END { printf "%d bad-input cases (the gtest passed: each exited 2 with exactly one stderr line); max peak RSS %d MB (%s)\n", n, m, w }' "$rows"
} > "$OUT/catalogue.md"
rm -f "$rows"
scripts/bad_inputs.sh > "$OUT/bad_inputs.md"
tail -1 "$OUT/catalogue.md"
tail -1 "$OUT/bad_inputs.md"
