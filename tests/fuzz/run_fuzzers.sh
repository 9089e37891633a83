#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 under ASan + UBSan and runs each for a bounded
# time. Exits non-zero on any finding (the crashing input is kept in BUILD_DIR/fuzz-artifacts).
#
# Usage: tests/fuzz/run_fuzzers.sh [BUILD_DIR] [SECONDS]
#   BUILD_DIR  default: build-fuzz at the repository root (a separate, clang-only build)
#   SECONDS    default: 60, per fuzzer (-max_total_time)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(realpath -m "${1:-$root/build-fuzz}")
seconds=${2:-60}

CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRELAIS_BUILD_FUZZERS=ON -DRELAIS_ENABLE_ASAN=ON -DRELAIS_ENABLE_UBSAN=ON \
  -DRELAIS_BUILD_BENCH=OFF -DRELAIS_WARNINGS_AS_ERRORS=ON >/dev/null

# Builds share two cores on the development machines: take the shared lock when there is one.
if command -v flock >/dev/null; then
  flock /tmp/relais-build.lock cmake --build "$build" --target relais_protocol_fuzz
else
  cmake --build "$build" --target relais_protocol_fuzz
fi

artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
status=0

run() {
  local name=$1 seeds=$2 dict=$3
  local work="$build/fuzz-corpus/$name"
  mkdir -p "$work"
  echo "== $name: ${seconds}s (seeds: $seeds)"
  # UBSan aborts on the first report (-fno-sanitize-recover in relais_options), so any
  # finding ends the run with a non-zero status and an artifact.
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
       UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "$build/tests/fuzz/$name" -max_total_time="$seconds" -max_len=16384 -timeout=10 \
         -rss_limit_mb=2048 -dict="$dict" -artifact_prefix="$artifacts/$name-" \
         -print_final_stats=1 "$work" "$seeds"; then
    echo "== $name: FINDING (see $artifacts)" >&2
    status=1
  fi
}

run relais_protocol_fuzz "$build/tests/fuzz/corpus/protocol" "$build/tests/fuzz/protocol.dict"
exit $status
