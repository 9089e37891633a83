#!/usr/bin/env bash
# The quick start: installs what is missing, builds, and runs relaisd on loopback with the
# embedded defaults (SQLite store and a self-signed certificate in ./data, port 8443).
# Extra arguments go to relaisd, e.g. scripts/run.sh --listen 127.0.0.1:9443
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/install-deps.sh" --run-only
RELAIS_BUILD_DIR=${RELAIS_BUILD_DIR:-$here/build} "$here/scripts/build.sh" -DRELAIS_BUILD_TESTS=OFF -DRELAIS_BUILD_BENCH=OFF
cd "$here"
exec "${RELAIS_BUILD_DIR:-$here/build}/server/app/relaisd" --data-dir "$here/data" "$@"
