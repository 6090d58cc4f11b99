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
  openmpi-bin libopenmpi-dev)  # mpirun -np N nnopt sweep|verify-batch; ctest cli_mpi_*
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
