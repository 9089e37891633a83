#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs the whole ctest suite (unit,
# integration, web, TLS scan), the protocol fuzzer for a bounded time, then the unit and
# integration tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# The last line is ctest's summary. Exit status is non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${RELAIS_JOBS:-$(nproc)}
fuzz_seconds=${RELAIS_FUZZ_SECONDS:-60}
start=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - start )) s)"; }

step "install dependencies"
"$here/scripts/install-deps.sh"

step "build (release with debug info)"
RELAIS_BUILD_DIR="$here/build" "$here/scripts/build.sh" -DRELAIS_BUILD_TESTS=ON -DRELAIS_BUILD_BENCH=ON

step "tests"
ctest --test-dir "$here/build" --output-on-failure -j "$jobs" --timeout 600

if [ -x "$here/tests/fuzz/run_fuzzers.sh" ]; then
  step "fuzz (${fuzz_seconds} s per target)"
  "$here/tests/fuzz/run_fuzzers.sh" "$here/build-fuzz" "$fuzz_seconds"
fi

step "build with ASan + UBSan"
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S "$here" -B "$here/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRELAIS_ENABLE_ASAN=ON \
  -DRELAIS_ENABLE_UBSAN=ON -DRELAIS_BUILD_BENCH=OFF -DRELAIS_WARNINGS_AS_ERRORS=$werror >/dev/null
cmake --build "$here/build-asan" -j "$jobs"

# The web tests do not involve C++, and the deploy checks inspect the release binary (its
# shared libraries, the installed layout): both ran above.
step "unit and integration tests under ASan + UBSan"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$here/build-asan" --output-on-failure -j "$jobs" --timeout 900 -L 'unit|integration' -LE 'slow' -E '^(unit[.]web[.]|lint[.]deploy[.])'
