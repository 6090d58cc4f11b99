#!/usr/bin/env bash
# Installs what is needed, builds, and runs the unit test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd build
ctest --output-on-failure -j2 --timeout 600
