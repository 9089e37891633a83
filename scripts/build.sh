#!/usr/bin/env bash
# Configures and builds Relais into build/ (release with debug info) and the web clients.
# Usage: scripts/build.sh [extra cmake -D options]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RELAIS_BUILD_DIR:-$here/build}
jobs=${RELAIS_JOBS:-$(nproc)}

werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRELAIS_WARNINGS_AS_ERRORS=$werror "$@" >/dev/null
cmake --build "$build" -j "$jobs"

if [ -f "$here/client-web/package.json" ] && grep -q '"build"' "$here/client-web/package.json"; then
  (cd "$here/client-web" && npm run --silent build)
fi
