#!/usr/bin/env bash
# Installs what is needed, builds, and runs the test suites:
#  1. the Release build in build/ (scripts/setup.sh);
#  2. pytest tests/python with the package installed in .venv by setup.sh;
#  3. the C++ suite under AddressSanitizer + UndefinedBehaviorSanitizer:
#     CMakePresets.json preset `asan` (-O1 -g, assertions on) in build-asan/,
#     with its test preset's ASAN/UBSAN/LSAN_OPTIONS (leak check on, LSan
#     suppressions for third-party libraries only: tests/sanitizer/lsan.supp).
# All passes always run; the exit code is non-zero when either failed.
#
# Measured on 2 idle cores from clean build dirs (docs/results/hardening.md):
# Release build 3m16s + tests 52 s, ASan build 5m54s + tests 2m50s.
#
#   NNOPT_ASAN=0          skip the sanitizer pass (e.g. a quick local run)
#   NNOPT_JOBS=N          build and test parallelism (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${NNOPT_JOBS:-2}"
ASAN="${NNOPT_ASAN:-1}"
scripts/setup.sh

status=0
echo "== Release tests (build/)"
(cd build && ctest --output-on-failure -j"$JOBS" --timeout 600) || status=1

echo "== Python tests (.venv, pytest tests/python)"
.venv/bin/python -m pytest -q tests/python || status=1

if [ "$ASAN" != 0 ]; then
  echo "== ASan + UBSan tests (build-asan/, preset asan)"
  cmake --preset asan >/dev/null
  ninja -C build-asan -j"$JOBS"
  ctest --preset asan -j"$JOBS" || status=1
fi
exit $status
