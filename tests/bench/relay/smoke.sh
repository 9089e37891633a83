#!/usr/bin/env bash
# Smoke test of relais-bench (ctest bench.relay.*): runs one mode for about a second against a
# server started here on a free loopback port, and checks that the run succeeded and printed
# its JSON line with the mode's main figure. No thresholds: benchmarks are not timed tests.
#   smoke.sh pair   MODE RELAIS_BENCH BEAST_RELAY
#   smoke.sh relais MODE RELAIS_BENCH RELAISD        (MODE queue-storm, evening, evening-auto: relais only)
#   smoke.sh relais-plain MODE RELAIS_BENCH RELAISD  (relaisd's plain loopback listener, ws://)
# Exit 77 (ctest skip) when relaisd does not serve conversations yet (throughput, latency).
set -euo pipefail
protocol=$1 mode=$2 bench=$3 server=$4
plain=no
if [ "$protocol" = relais-plain ]; then protocol=relais plain=yes; fi
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Waits up to 20 s for a line matching $2 in file $1; prints it.
wait_line() {
  for _ in $(seq 200); do
    if line=$(grep -m1 -E "$2" "$1" 2>/dev/null); then echo "$line"; return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "smoke: the server did not print '$2'; its output:" >&2
  cat "$1" >&2
  return 1
}

case $mode in
  throughput) args=(--pairs 4 --warmup 0.2 --duration 1 --window 8) key=msgs_per_s ;;
  latency) args=(--pairs 4 --warmup 0.2 --duration 1 --rate 400 --drain 0.5) key=p99_us ;;
  idle) args=(--conns 100 --hold 0.3 --connect-rate 1000) key=bytes_per_conn ;;
  queue-storm) args=(--beneficiaries 200 --duration 3) key=position_frames_per_take ;;
  # 4 s of arrivals at 5/s, 3 workers x 2, conversations of ~2 s with a message every ~0.3 s,
  # half of the beneficiaries dropping for 0.3 s: every path (wait, take or automatic
  # assignment, X3DH, chat, drop, sync, resend, end, the close with people still waiting).
  evening|evening-auto)
    args=(--duration 4 --arrival-rate 5 --capacity 2 --conversation-s 2 --think-s 0.3
          --reconnect-fraction 0.5 --offline-s 0.3)
    if [ "$mode" = evening-auto ]; then args+=(--assign auto); fi
    key=delivery_p50_us ;;
  *) echo "smoke: unknown mode $mode" >&2; exit 2 ;;
esac

if [ "$protocol" = pair ]; then
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$server" "$port" 1 >"$work/server.log" 2>&1 &
  server_pid=$!
  wait_line "$work/server.log" "listening" >/dev/null
  target=(--protocol pair --port "$port")
else
  # relaisd: temporary data folder, port 0, one network thread, durable store.
  "$bench" --make-org-key "$work/org.key" >"$work/org.toml"
  printf 'bench-smoke-password\n' >"$work/password"
  # The relay's tables; the per-connection and per-address rate limits are raised because
  # every bench client comes from 127.0.0.1 and sends as fast as its window allows.
  relay_tables=$(printf '[limits]\nmessages_per_second = 100000\nmessages_burst = 100000\nlogins_per_minute_per_address = 100000\nqueue_joins_per_minute_per_address = 100000\nauthentications_per_minute_per_address = 1000000\n\n[permanence]\nqueue_max = 100000\n\n[auth]\ntotp_required = false\n\n[org]\n%s\n' "$(cat "$work/org.toml")")
  # The server gives waiting beneficiaries to workers with spare capacity by itself.
  if [ "$mode" = evening-auto ]; then relay_tables=${relay_tables/\[permanence\]/[permanence]
auto_assign = true}; fi
  write_config() {
    cat >"$work/relais.toml" <<EOF
[server]
listen = "127.0.0.1:0"
plain_listen = "127.0.0.1:0"
data_dir = "$work/data"
threads = 1

[store]
synchronous = "full"

$1
EOF
  }
  write_config "$relay_tables"
  relay=yes
  workers=1
  case $mode in
    # One account per pair: an account's devices all follow its conversations.
    throughput|latency) workers=4 ;;
    queue-storm) workers=2 ;;
    evening|evening-auto) workers=3 ;;
  esac
  for w in $(seq "$workers"); do
    if ! "$server" --config "$work/relais.toml" user add "bench-w$w" --display-name "bench-w$w" \
         <"$work/password" >"$work/useradd.log" 2>&1; then
      relay=no
      write_config ""
      break
    fi
  done
  if [ "$relay" = no ] && [ "$mode" != idle ]; then
    echo "smoke: relaisd cannot create worker accounts yet ($(head -c 300 "$work/useradd.log")); skipped" >&2
    exit 77
  fi
  "$server" --config "$work/relais.toml" >"$work/server.log" 2>"$work/server.err" &
  server_pid=$!
  line=$(wait_line "$work/server.log" "listening on https://")
  port=${line##*:}
  port=${port%%[^0-9]*}
  target=(--protocol relais --port "$port" --ca "$work/data/tls/cert.pem" --workers "$workers"
          --password-file "$work/password" --org-key "$work/org.key")
  if [ "$plain" = yes ]; then
    line=$(wait_line "$work/server.log" "plain HTTP for the reverse proxy")
    port=${line##*:}
    port=${port%%[^0-9]*}
    target=(--protocol relais --plain --port "$port" --workers "$workers"
            --password-file "$work/password" --org-key "$work/org.key")
  fi
fi

bench_mode=${mode%-auto}
out=$("$bench" --mode "$bench_mode" "${target[@]}" "${args[@]}" --server-pid "$server_pid" --timeout 30)
echo "$out"
/usr/bin/python3 - "$key" "$out" <<'EOF'
import json, sys
key, line = sys.argv[1], sys.argv[2]
j = json.loads(line)
if key not in j or not isinstance(j[key], (int, float)):
    sys.exit(f"smoke: no numeric {key} in the JSON line")
if key in ("msgs_per_s", "p99_us", "delivery_p50_us") and j[key] <= 0:
    sys.exit(f"smoke: {key} is {j[key]}")
EOF
