#!/usr/bin/env bash
# Plants one violation per rule in a scratch tree and checks that the lint fails on each.
set -u
lint=${1:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
plant() {  # plant PATH LINE
  rm -rf "$tmp/tree"
  mkdir -p "$tmp/tree/protocol/src" "$tmp/tree/protocol/include" "$tmp/tree/server/core" "$tmp/tree/server/store" "$tmp/tree/server/net"
  mkdir -p "$tmp/tree/$(dirname "$1")"
  printf '%s\n' "$2" > "$tmp/tree/$1"
  if "$lint" "$tmp/tree" >/dev/null; then
    echo "NOT CAUGHT: $1: $2"
    fails=1
  fi
}
plant server/core/a.cpp '#include <boost/asio.hpp>'
plant protocol/src/a.cpp '#include <sqlite3.h>'
plant server/core/a.hpp '#include <openssl/ssl.h>'
plant server/core/a.cpp '#include <thread>'
plant protocol/src/a.cpp 'auto t = std::chrono::system_clock::now();'
plant server/core/a.cpp '#include "relais/store/sqlite_store.hpp"'
plant server/net/a.cpp '#include "relais/store/sqlite_store.hpp"'
rm -rf "$tmp/tree"; mkdir -p "$tmp/tree/server/core"; echo '#include <vector>' > "$tmp/tree/server/core/ok.cpp"
if ! "$lint" "$tmp/tree" >/dev/null; then echo "clean tree flagged"; fails=1; fi
[ $fails -eq 0 ] && echo "lint self-test: ok"
exit $fails
