#!/usr/bin/env bash
# The one-way rule of DESIGN.md, enforced: protocol/ and server/core/ are sans-I/O (no Asio,
# Beast, SQLite, OpenSSL, sockets, threads or wall clock), and nothing below app/ includes
# a layer above it. Prints each offending line and fails if there is one.
set -u
root=${1:?usage: check_layering.sh SOURCE_DIR}
cd "$root" || exit 2
status=0

check() {  # check DESCRIPTION PATTERN PATHS...
  local what=$1 pattern=$2
  shift 2
  local hits
  hits=$(grep -RnE --include='*.hpp' --include='*.cpp' --include='*.h' "$pattern" "$@" 2>/dev/null || true)
  if [ -n "$hits" ]; then
    echo "layering violation: $what"
    echo "$hits"
    status=1
  fi
}

sans_io=(protocol/include protocol/src server/core)
check "sans-I/O code includes Asio/Beast" '#include\s*[<"]boost/(asio|beast)' "${sans_io[@]}"
check "sans-I/O code includes SQLite" '#include\s*[<"]sqlite3' "${sans_io[@]}"
check "sans-I/O code includes OpenSSL" '#include\s*[<"]openssl/' "${sans_io[@]}"
# <mutex> is allowed: core never starts a thread or waits, but the permanence (one queue
# shared by every session's strand, off the message path) guards its state with a mutex held
# only for in-memory decisions, never across a store call or a push.
check "sans-I/O code includes sockets or threads" '#include\s*[<"](sys/socket\.h|netinet/|thread>|condition_variable>|future>|unistd\.h|fstream>)' "${sans_io[@]}"
check "sans-I/O code reads the wall clock or sleeps" '(system_clock::now|steady_clock::now|std::time\(|gettimeofday|clock_gettime|sleep_for|sleep_until|usleep)' "${sans_io[@]}"
check "core includes store, net or app" '#include\s*"relais/(store|net|app|client)/' server/core
check "protocol includes server code" '#include\s*"relais/(core|store|net|app|client)/' protocol
check "store includes net or app" '#include\s*"relais/(net|app)/' server/store
check "net includes store or app" '#include\s*"relais/(store|app)/' server/net
check "auth includes net, store or app" '#include\s*"relais/(store|net|app|client)/' server/auth

if [ $status -eq 0 ]; then echo "layering: ok"; fi
exit $status
