#!/usr/bin/env bash
# Installs everything Relais needs to build, run and test, from Debian's packages and npm.
# Idempotent: a second run only checks. Used by `scripts/run.sh`, `scripts/test.sh` and `.ci/run`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build and run.
build_packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libssl-dev openssl libsodium-dev nlohmann-json3-dev
  libsqlite3-dev sqlite3 libtomlplusplus-dev libcli11-dev
  libcctz-dev tzdata
  nodejs npm
)
# Tests: unit and integration frameworks, the TLS scanner, fault injection, clock jumps,
# the fuzzer runtime, the independent crypto implementation, the browser, config checkers.
test_packages=(
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  testssl.sh fiu-utils libfiu-dev faketime
  python3-x3dh python3-doubleratchet python3-nacl
  chromium fonts-liberation
  nginx-light curl shellcheck systemd
)

want=("${build_packages[@]}")
if [ "${1:-}" != "--run-only" ]; then
  want+=("${test_packages[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # nodejs/npm may come from another source on some machines: accept working commands.
    case "$p" in
      nodejs) command -v node >/dev/null && continue ;;
      npm) command -v npm >/dev/null && continue ;;
    esac
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Web clients: exact versions from the committed lock file.
if [ -f "$here/client-web/package-lock.json" ]; then
  stamp="$here/client-web/node_modules/.relais-lock-stamp"
  if [ ! -f "$stamp" ] || ! cmp -s "$here/client-web/package-lock.json" "$stamp"; then
    echo "install-deps: npm ci in client-web" >&2
    (cd "$here/client-web" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$here/client-web/package-lock.json" "$stamp"
  fi
fi
