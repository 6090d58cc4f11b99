#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs
# each for a bounded time on a copy of its seed corpus (fuzz/corpus/<t>/).
# Prints executions and time per target; a crash leaves the input in
# build-fuzz/fuzz-out/<t>/ (copy it to tests/fixtures/fuzz-regressions/<t>/
# once fixed: ctest replays that folder).
#
#   scripts/fuzz.sh [TARGET...]          (default: onnx vnnlib images)
#   FUZZ_TIME=60    seconds per target (-max_total_time)
#   FUZZ_JOBS=2     build parallelism
#   FUZZ_ARGS="..." extra libFuzzer flags
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TIME="${FUZZ_TIME:-60}"
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(onnx vnnlib images)
B=build-fuzz

# clang + libFuzzer (Debian 12: clang, libclang-rt-14-dev) are not build
# dependencies of nnopt: installed here when missing (as root or via sudo).
probe() {
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    clang++ -x c++ -fsanitize=fuzzer - -o /tmp/nnopt_fuzz_probe.$$ 2>/dev/null
}
if ! probe; then
  missing=()
  for p in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "fuzz.sh: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! probe; then
    echo "fuzz.sh: clang++ with libFuzzer is missing (Debian 12: apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
  fi
fi
rm -f /tmp/nnopt_fuzz_probe.$$

cmake -S . -B "$B" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DNNOPT_FUZZ=ON -DNNOPT_BUILD_TESTS=OFF >/dev/null
ninja -C "$B" -j "${FUZZ_JOBS:-2}" "${TARGETS[@]/#/fuzz_}"

status=0
printf '%-8s %12s %8s %8s %6s %7s %12s %8s  %s\n' target executions seconds exec/s cov ft corpus peak_MB result
for t in "${TARGETS[@]}"; do
  out="$B/fuzz-out/$t"
  corpus="$B/fuzz-corpus/$t"
  mkdir -p "$out" "$corpus"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  log="$out/fuzz.log"
  t0=$SECONDS
  touch "$out/.start"  # artifacts of earlier runs stay, only this run's are reported
  set +e
  (cd "$out" && ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
    "$ROOT/$B/fuzz/fuzz_$t" -max_total_time="$TIME" -rss_limit_mb=2048 -timeout=20 \
      -print_final_stats=1 ${FUZZ_ARGS:-} "$ROOT/$corpus" >"$ROOT/$log" 2>&1)
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  secs=$((SECONDS - t0))  # wall time of the run (a crash ends it early)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  # Coverage of the last status line: "#N DONE cov: C ft: F corp: K/SIZE ..."
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(echo "$last" | grep -o 'cov: [0-9]*' | awk '{print $2}' || true)
  ft=$(echo "$last" | grep -o 'ft: [0-9]*' | awk '{print $2}' || true)
  corp=$(echo "$last" | grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' | awk '{print $2}' || true)
  peak=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  result=ok
  if ((rc != 0)); then
    result="FAILED (exit $rc): $(find "$out" -maxdepth 1 -newer "$out/.start" -name '*-*' -printf '%f ' |
      grep -oE '(crash|leak|timeout|oom|slow-unit)-[0-9a-f]+' | tr '\n' ' ')see $log"
    status=1
  fi
  printf '%-8s %12s %8s %8s %6s %7s %12s %8s  %s\n' "$t" "$execs" "$secs" "$rate" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$peak" "$result"
done
exit $status
