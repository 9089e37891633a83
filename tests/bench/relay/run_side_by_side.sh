#!/usr/bin/env bash
# Side-by-side benchmark: relaisd and the minimal pair relays of ../shared/peers, driven by
# relais-bench with the same modes and settings in one run, on 127.0.0.1 with ephemeral
# ports. Prints one Markdown table (and keeps every JSON line in OUT/results.jsonl).
#
#   tests/bench/relay/run_side_by_side.sh [--build DIR] [--out DIR] [--duration S] [--conns N]
#                                         [--quick] [--no-build] [--only NAME[,NAME...]]
#
# --build DIR   CMake build folder (default build-bench; configured RelWithDebInfo if new)
# --out DIR     where logs and results.jsonl go (default DIR/side-by-side)
# --duration S  measured seconds of each throughput and latency run (default 10)
# --conns N     idle connections (default 10000)
# --quick       2-second runs and 1,000 idle connections (a smoke of the whole script)
# --only LIST   run only these relays: beast,beast-tls,wspp,node,raw,relaisd
# Environment: RELAIS_BUILD_LOCK (a file to flock around builds, default /tmp/relais-build.lock
# when it exists), RELAIS_THREADS (relaisd network threads, default 1: the other core runs the
# generator, as the peers run one thread).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
peers_src=$(cd "$root/../shared/peers" 2>/dev/null && pwd || true)
build="$root/build-bench"
out=""
duration=10
conns=10000
build_first=yes
only="beast,beast-tls,wspp,node,raw,relaisd"
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --quick) duration=2; conns=1000; shift ;;
    --no-build) build_first=no; shift ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run_side_by_side: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out="$build/side-by-side"
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"
threads=${RELAIS_THREADS:-1}
lock=${RELAIS_BUILD_LOCK:-/tmp/relais-build.lock}
locked() { if [ -e "$lock" ]; then flock "$lock" "$@"; else "$@"; fi; }
wanted() { [[ ",$only," == *",$1,"* ]]; }
log() { echo "== $*" >&2; }

# ---------------------------------------------------------------- processes and cleanup
server_pid=""
work=$(mktemp -d)
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_for FILE REGEX: up to 30 s for the server to print a line; prints it.
wait_for() {
  for _ in $(seq 300); do
    if line=$(grep -m1 -E "$2" "$1" 2>/dev/null); then echo "$line"; return 0; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "run_side_by_side: server did not start; its output:" >&2; cat "$1" >&2; return 1
}

# ---------------------------------------------------------------- build
bench="$build/tests/bench/relay/relais-bench"
relaisd="$build/server/app/relaisd"
if [ "$build_first" = yes ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRELAIS_BUILD_BENCH=ON >/dev/null
  fi
  log "build relais-bench and relaisd ($build)"
  locked cmake --build "$build" --target relais-bench relaisd >&2
  if [ -n "$peers_src" ]; then
    log "build the peers ($peers_src -> $build/peers)"
    # -k: wspp_relay needs libwebsocketpp-dev, which may be missing; the others still build.
    locked make -s -k -C "$peers_src" BIN="$build/peers" >&2 || log "some peers did not build (see above)"
  fi
fi
[ -x "$bench" ] || { echo "run_side_by_side: $bench missing (build first)" >&2; exit 1; }

node_dir=""
if wanted node && [ -n "$peers_src" ] && command -v node >/dev/null; then
  # npm install in a copy placed in the build folder (the peers folder is read-only), from the
  # local npm cache only: no network.
  node_dir="$build/peers-node"
  mkdir -p "$node_dir"
  cp "$peers_src/ws_relay.js" "$peers_src/package.json" "$node_dir/"
  if [ ! -d "$node_dir/node_modules/ws" ] &&
     ! (cd "$node_dir" && npm install --offline --no-audit --no-fund >"$out/npm.log" 2>&1); then
    log "Node ws relay skipped: 'npm install --offline' failed (no ws in the npm cache; see $out/npm.log)"
    node_dir=""
  fi
fi

# A self-signed ECDSA P-256 certificate for beast_relay --tls (relaisd makes its own).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/peer.key" -out "$work/peer.crt" >/dev/null 2>&1

# ---------------------------------------------------------------- one run
# run_bench NAME MODE ARGS...: appends the JSON line (with "relay": NAME) to results.jsonl.
run_bench() {
  local name=$1 mode=$2; shift 2
  local line
  case $mode in
    throughput) set -- "$@" --pairs 100 --size 300 --window 32 --duration "$duration" --warmup 1 ;;
    latency) set -- "$@" --pairs 100 --size 300 --rate 5000 --duration "$duration" --warmup 1 ;;
    idle) set -- "$@" --conns "$conns" --hold 3 --connect-rate 2000 ;;
  esac
  log "$name: $mode"
  if line=$("$bench" --mode "$mode" --server-pid "$server_pid" --label "$name" --timeout 120 "$@" \
            2>>"$out/$name.bench.log"); then
    echo "$line" | /usr/bin/python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); j["relay"]=sys.argv[1]; print(json.dumps(j))' "$name" >>"$results"
  else
    log "$name: $mode FAILED: $(tail -n 2 "$out/$name.bench.log" | tr '\n' ' ')"
    echo "{\"relay\":\"$name\",\"mode\":\"$mode\",\"failed\":true}" >>"$results"
  fi
}

# start_peer NAME COMMAND...: starts a pair relay on a fresh port (sets $port, $server_pid).
start_peer() {
  local name=$1; shift
  port=$(free_port)
  "$@" "$port" >"$out/$name.server.log" 2>&1 &
  server_pid=$!
  wait_for "$out/$name.server.log" "listening" >/dev/null
}

# peer NAME BENCH_ARGS -- COMMAND...: each mode on a fresh server process.
peer() {
  local name=$1; shift
  local args=()
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  shift
  for mode in throughput latency idle; do
    start_peer "$name" "$@"
    run_bench "$name" "$mode" --protocol pair --port "$port" "${args[@]}"
    stop_server
  done
}


if [ -n "$peers_src" ]; then
  if wanted beast; then peer beast_relay -- "$build/peers/beast_relay"; fi
  # beast_relay takes its options after the port: a small wrapper puts the port first.
  if wanted beast-tls; then
    cat >"$work/beast_tls.sh" <<EOF
#!/bin/sh
exec "$build/peers/beast_relay" "\$1" 1 --tls "$work/peer.crt" "$work/peer.key"
EOF
    chmod +x "$work/beast_tls.sh"
    peer beast_relay_tls --tls --ca "$work/peer.crt" -- "$work/beast_tls.sh"
  fi
  if wanted wspp; then
    if [ -x "$build/peers/wspp_relay" ]; then
      peer wspp_relay -- "$build/peers/wspp_relay"
    else
      log "websocketpp relay skipped: not built (libwebsocketpp-dev is not installed)"
    fi
  fi
  if wanted node && [ -n "$node_dir" ]; then peer node_ws -- node "$node_dir/ws_relay.js"; fi
  if wanted raw; then peer raw_relay --transport raw -- "$build/peers/raw_relay"; fi
else
  log "../shared/peers not found: only relaisd is measured"
fi

# ---------------------------------------------------------------- relaisd
if wanted relaisd; then
  rdir="$work/relaisd"
  mkdir -p "$rdir"
  "$bench" --make-org-key "$rdir/org.key" >"$rdir/org.toml"
  head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$rdir/password"
  workers=10
  write_config() {
    cat >"$rdir/relais.toml" <<EOF
[server]
listen = "127.0.0.1:0"
data_dir = "$rdir/data"
threads = $threads
max_connections = 19000

[store]
synchronous = "full"

[log]
level = "warn"
$1
EOF
  }
  # Rate limits raised: every bench client comes from 127.0.0.1 and sends as fast as its
  # window allows (the defaults protect a real server from one abusive address).
  write_config "$(printf '\n[limits]\nmessages_per_second = 100000\nmessages_burst = 100000\nlogins_per_minute_per_address = 100000\nqueue_joins_per_minute_per_address = 100000\nauthentications_per_minute_per_address = 1000000\n\n[auth]\ntotp_required = false\n\n[org]\n%s\n' "$(cat "$rdir/org.toml")")"
  relay=yes
  for w in $(seq "$workers"); do
    if ! "$relaisd" --config "$rdir/relais.toml" user add "bench-w$w" --display-name "bench-w$w" \
         <"$rdir/password" >"$out/relaisd.useradd.log" 2>&1; then
      relay=no
      log "relaisd cannot create worker accounts ($(head -c 200 "$out/relaisd.useradd.log" | tr '\n' ' ')):" \
          "only the idle mode runs"
      write_config ""
      break
    fi
  done
  start_relaisd() {
    "$relaisd" --config "$rdir/relais.toml" >"$out/relaisd.server.log" 2>"$out/relaisd.server.err" &
    server_pid=$!
    local line
    line=$(wait_for "$out/relaisd.server.log" "listening on https://")
    port=${line##*:}
    port=${port%%[^0-9]*}
  }
  common=(--protocol relais --ca "$rdir/data/tls/cert.pem" --workers "$workers"
          --password-file "$rdir/password" --org-key "$rdir/org.key")
  if [ "$relay" = yes ]; then
    start_relaisd; run_bench relaisd_e2e throughput --port "$port" "${common[@]}"; stop_server
    start_relaisd; run_bench relaisd_precomputed throughput --port "$port" "${common[@]}" --precomputed; stop_server
    start_relaisd; run_bench relaisd_e2e latency --port "$port" "${common[@]}"; stop_server
  fi
  start_relaisd; run_bench relaisd idle --port "$port" --protocol relais --ca "$rdir/data/tls/cert.pem"; stop_server
fi

# ---------------------------------------------------------------- table
/usr/bin/python3 - "$results" <<'EOF'
import json, sys
rows = {}
order = []
for line in open(sys.argv[1]):
    j = json.loads(line)
    name = j["relay"]
    # relaisd's idle run holds beneficiaries; its figure goes on both relaisd rows.
    names = ["relaisd_e2e", "relaisd_precomputed"] if name == "relaisd" else [name]
    for n in names:
        if n not in rows:
            rows[n] = {}
            order.append(n)
        rows[n][j["mode"]] = j

def fmt(v, digits=0):
    return "-" if v is None else f"{v:,.{digits}f}"

def get(r, mode, key):
    j = r.get(mode)
    if j is None or j.get("failed"):
        return None
    return j.get(key)

transport = {"beast_relay": "ws", "beast_relay_tls": "wss", "wspp_relay": "ws", "node_ws": "ws",
             "raw_relay": "tcp", "relaisd_e2e": "wss, E2E, durable", "relaisd_precomputed": "wss, pre-made, durable"}
ws_peers = [n for n in order if n in ("beast_relay", "wspp_relay", "node_ws")]
best = [get(rows[n], "throughput", "server_us_per_msg") for n in ws_peers]
best = min([b for b in best if b], default=None)
print("| relay | transport | msgs/s | server CPU µs/msg | × best ws peer | p50 / p99 µs at 5,000 msg/s | memory per idle connection |")
print("|---|---|---|---|---|---|---|")
for n in order:
    r = rows[n]
    cpu = get(r, "throughput", "server_us_per_msg")
    ratio = f"{cpu / best:.2f}" if cpu and best else "-"
    p50, p99 = get(r, "latency", "p50_us"), get(r, "latency", "p99_us")
    lat = "-" if p50 is None else f"{fmt(p50)} / {fmt(p99)}"
    mem = get(r, "idle", "bytes_per_conn")
    mem = "-" if mem is None else f"{mem / 1024:.1f} KiB"
    failed = [m for m, j in r.items() if j.get("failed")]
    note = f" (failed: {', '.join(failed)})" if failed else ""
    print(f"| {n}{note} | {transport.get(n, '')} | {fmt(get(r, 'throughput', 'msgs_per_s'))} | {fmt(cpu, 1)} | {ratio} | {lat} | {mem} |")
EOF
echo "(JSON lines: $results)" >&2
