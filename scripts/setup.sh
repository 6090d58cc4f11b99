#!/usr/bin/env bash
# Installs the Debian 12 build dependencies (idempotent: only missing packages
# are installed) and builds nnopt into ./build. Usage: scripts/setup.sh [Release|Debug]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_TYPE="${1:-Release}"

PACKAGES=(g++ cmake ninja-build pkg-config
  coinor-libcbc-dev coinor-libclp-dev coinor-libipopt-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  libeigen3-dev libcli11-dev nlohmann-json3-dev libfmt-dev libboost-dev
  libpng-dev zlib1g-dev libgtest-dev libcairo2-dev
  libopenblas0-serial  # MUMPS (under Ipopt) spends most of its time in dgemm
  openmpi-bin libopenmpi-dev  # mpirun -np N nnopt sweep|verify-batch; ctest cli_mpi_*
  chromium)  # ctest cli_robustness_report renders report.html headless
# Not installed here: clang + libclang-rt-14-dev (libFuzzer), needed only by
# scripts/fuzz.sh, which installs them itself when missing.

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
ninja -C build

# The Python package (pyproject.toml, scikit-build-core): .venv with Python 3.11,
# the test dependencies and nnopt itself. pip skips what is installed already;
# --no-build-isolation with the persistent build dir build-py/ makes a re-run
# incremental (a few seconds) instead of a fresh ~1.5 min library build.
# torch is pinned to the CPU wheel on disk: a plain `torch` would pull CUDA.
PYTHON="${NNOPT_PYTHON_EXE:-python3.11}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check numpy onnx onnxruntime onnxscript pytest \
  torch==2.13.0 "scikit-build-core>=0.10" "pybind11>=2.12"
CMAKE_BUILD_PARALLEL_LEVEL="${NNOPT_JOBS:-2}" .venv/bin/pip install -q --disable-pip-version-check \
  --no-build-isolation .
