#!/usr/bin/env bash
# Side-by-side benchmark: relaisd and the minimal pair relays of ../shared/peers, driven by
# relais-bench with the same modes and settings in one run, on 127.0.0.1 with ephemeral
# ports. Prints Markdown tables: the comparison (throughput, CPU per message, latency at two
# rates, memory per idle connection), idle memory growth, and relaisd alone: the queue storm
# and the helpline evening. Every JSON line stays in OUT/results.jsonl.
#
#   tests/bench/relay/run_side_by_side.sh [--build DIR] [--out DIR] [--duration S] [--conns LIST]
#                                         [--pairs N] [--quick] [--no-build] [--only NAME[,NAME...]]
#
# --build DIR   CMake build folder (default build-bench; configured RelWithDebInfo if new)
# --out DIR     where logs and results.jsonl go (default DIR/side-by-side)
# --duration S  measured seconds of each throughput and latency run (default 10)
# --conns LIST  idle connection counts, comma-separated (default 1000,10000,19000)
# --pairs N     pairs of the throughput and latency runs (default 100; relaisd: one account each)
# --evening S   seconds of arrivals of the helpline evening (default 60)
# --quick       2-second runs, 20 pairs, 1,000 idle connections, a 1,000-waiting storm and a
#               10-second evening: a smoke of the whole script (about 3 minutes)
# --only LIST   run only these: beast,beast-tls,wspp,node,raw,relaisd,relaisd-plain,storm,evening
#               (relaisd-plain: relaisd's plain loopback listener, as behind a TLS-ending proxy)
# Environment: RELAIS_BUILD_LOCK (a file to flock around builds, default /tmp/relais-build.lock
# when it exists; give RELAIS_BUILD_LOCK=none when the caller holds it already), RELAIS_THREADS
# (relaisd network threads, default 1: the other core runs the generator, as the peers run one
# thread).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
peers_src=$(cd "$root/../shared/peers" 2>/dev/null && pwd || true)
build="$root/build-bench"
out=""
duration=10
conns=1000,10000,19000
pairs=100
evening_s=60
quick=no
build_first=yes
only="beast,beast-tls,wspp,node,raw,relaisd,relaisd-plain,storm,evening"
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --evening) evening_s=$2; shift 2 ;;
    --quick) quick=yes; duration=2; conns=1000; pairs=20; evening_s=10; shift ;;
    --no-build) build_first=no; shift ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run_side_by_side: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out="$build/side-by-side"
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"
threads=${RELAIS_THREADS:-1}
lock=${RELAIS_BUILD_LOCK:-/tmp/relais-build.lock}
locked() { if [ "$lock" != none ] && [ -e "$lock" ]; then flock "$lock" "$@"; else "$@"; fi; }
wanted() { [[ ",$only," == *",$1,"* ]]; }
log() { echo "== $(date +%T) $*" >&2; }

# ---------------------------------------------------------------- processes and cleanup
# Every process this script starts is remembered and stopped on every exit path: the end, an
# error (set -e), Ctrl-C or TERM. Benchmarks and servers run in the background and are waited
# for, so that a signal is handled at once rather than when the running benchmark ends.
server_pid=""
bench_pid=""
work=$(mktemp -d)
stop_pid() {
  local pid=$1
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_server() {
  if [ -n "$server_pid" ]; then stop_pid "$server_pid"; server_pid=""; fi
}
cleanup() {
  if [ -n "$bench_pid" ]; then stop_pid "$bench_pid"; bench_pid=""; fi
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)

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
# Seconds one benchmark process may run before it is killed (each has its own --timeout for
# setup phases and stalls; this bounds the whole script whatever happens).
if [ "$quick" = yes ]; then run_cap=200 bench_timeout=60; else run_cap=400 bench_timeout=120; fi

# run_bench NAME MODE ARGS...: appends the JSON line (with "relay": NAME) to results.jsonl;
# a failed run is kept with "failed": true (and its figures when it printed its line).
run_bench() {
  local name=$1 mode=$2; shift 2
  local line rc=0 json="$work/bench.json"
  case $mode in
    throughput) set -- "$@" --pairs "$pairs" --size 300 --window 32 --duration "$duration" --warmup 1 ;;
    latency) set -- "$@" --pairs "$pairs" --size 300 --duration "$duration" --warmup 1 ;;
    # Four source addresses: 19,000 connections and the TIME_WAIT of earlier runs stay far
    # from the 28,232 ephemeral ports of one address.
    idle) set -- "$@" --hold 3 --connect-rate 2000 --srcips 4 ;;
  esac
  log "$name: $mode $*"
  : >"$json"
  timeout -k 10 "$run_cap" "$bench" --mode "$mode" --server-pid "$server_pid" --label "$name" --timeout "$bench_timeout" "$@" \
    >"$json" 2>>"$out/$name.bench.log" &
  bench_pid=$!
  wait "$bench_pid" || rc=$?
  bench_pid=""
  line=$(head -n 1 "$json")
  if [ "$rc" != 0 ]; then
    log "$name: $mode FAILED (status $rc): $(tail -n 2 "$out/$name.bench.log" | tr '\n' ' ')"
    if [ -z "$line" ]; then
      # No JSON line: keep what tells the run apart in the tables (its rate or connections).
      local a prev="" extra=""
      for a in "$@"; do
        case $prev in --rate) extra+=",\"rate\":$a" ;; --conns) extra+=",\"conns\":$a" ;; esac
        prev=$a
      done
      line="{\"mode\":\"$mode\"$extra}"
    fi
  fi
  echo "$line" | /usr/bin/python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
j["relay"] = sys.argv[1]
if sys.argv[2] != "0":
    j["failed"] = True
print(json.dumps(j))' "$name" "$rc" >>"$results"
}

# start_peer NAME COMMAND...: starts a pair relay on a fresh port (sets $port, $server_pid).
start_peer() {
  local name=$1; shift
  port=$(free_port)
  "$@" "$port" >"$out/$name.server.log" 2>&1 &
  server_pid=$!
  wait_for "$out/$name.server.log" "listening" >/dev/null
}

# peer NAME BENCH_ARGS -- COMMAND...: each run on a fresh server process.
peer() {
  local name=$1; shift
  local args=()
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  shift
  start_peer "$name" "$@"
  run_bench "$name" throughput --protocol pair --port "$port" "${args[@]}"
  stop_server
  for rate in 5000 20000; do
    start_peer "$name" "$@"
    run_bench "$name" latency --protocol pair --port "$port" --rate "$rate" "${args[@]}"
    stop_server
  done
  for n in ${conns//,/ }; do
    start_peer "$name" "$@"
    run_bench "$name" idle --protocol pair --port "$port" --conns "$n" "${args[@]}"
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
if wanted relaisd || wanted relaisd-plain || wanted storm || wanted evening; then
  rdir="$work/relaisd"
  mkdir -p "$rdir"
  "$bench" --make-org-key "$rdir/org.key" >"$rdir/org.toml"
  head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$rdir/password"
  # One account per pair: every device of an account follows all the account's conversations,
  # so shared accounts would make relaisd send each message to several connections (README).
  if [ "$quick" = yes ]; then evening_workers=10; else evening_workers=20; fi
  workers=$(( pairs > evening_workers ? pairs : evening_workers ))
  # write_config TABLES: the data folder (store, certificate, accounts) is kept from one start
  # to the next; only the configuration changes.
  write_config() {
    cat >"$rdir/relais.toml" <<EOF
[server]
listen = "127.0.0.1:0"
plain_listen = "127.0.0.1:0"
data_dir = "$rdir/data"
threads = $threads
max_connections = 19500

[store]
synchronous = "full"

[log]
level = "warn"
$1
EOF
  }
  # Rate limits raised: every bench client comes from 127.0.0.x and sends as fast as its
  # window allows (the defaults protect a real server from one abusive address); queue_max
  # holds the storm's 10,000; a longer auth timeout because a hundred worker logins queue for
  # Argon2id during the setup on a busy machine. $1: more [permanence] keys.
  tables() {
    printf '\n[limits]\nauth_timeout_seconds = 60\nmessages_per_second = 100000\nmessages_burst = 100000\nlogins_per_minute_per_address = 100000\nqueue_joins_per_minute_per_address = 100000\nauthentications_per_minute_per_address = 1000000\n\n[permanence]\nqueue_max = 100000\n%s\n\n[auth]\ntotp_required = false\n\n[org]\n%s\n' \
      "$1" "$(cat "$rdir/org.toml")"
  }
  write_config "$(tables "")"
  relay=yes
  log "relaisd: $workers worker accounts"
  # add_accounts FIRST LAST PARALLEL: bench-wFIRST..bench-wLAST, PARALLEL at a time (Argon2id).
  add_accounts() {
    seq "$1" "$2" | xargs -P "$3" -I{} sh -c \
      '"$1" --config "$2" user add "bench-w$3" --display-name "bench-w$3" <"$4" >>"$5" 2>&1' \
      sh "$relaisd" "$rdir/relais.toml" {} "$rdir/password" "$out/relaisd.useradd.log"
  }
  # The first account alone creates the store: two processes creating a new store at once
  # were once refused with "database is locked".
  if ! add_accounts 1 1 1 || ! add_accounts 2 "$workers" 2; then
    relay=no
    log "relaisd cannot create worker accounts ($(head -c 200 "$out/relaisd.useradd.log" | tr '\n' ' ')):" \
        "only the idle mode runs"
    write_config ""
  fi
  # Every run starts from this store (the accounts and nothing else): what a run leaves (open
  # conversations, a queue of thousands, shift states) must not weigh on the next one.
  if [ -d "$rdir/data" ]; then cp -a "$rdir/data" "$rdir/data.template"; fi
  start_relaisd() {
    rm -rf "$rdir/data"
    if [ -d "$rdir/data.template" ]; then cp -a "$rdir/data.template" "$rdir/data"; fi
    "$relaisd" --config "$rdir/relais.toml" >"$out/relaisd.server.log" 2>"$out/relaisd.server.err" &
    server_pid=$!
    local line
    line=$(wait_for "$out/relaisd.server.log" "listening on https://")
    port=${line##*:}
    port=${port%%[^0-9]*}
    line=$(wait_for "$out/relaisd.server.log" "plain HTTP for the reverse proxy")
    plain_port=${line##*:}
    plain_port=${plain_port%%[^0-9]*}
  }
  common=(--protocol relais --ca "$rdir/data/tls/cert.pem" --password-file "$rdir/password" --org-key "$rdir/org.key")
  if [ "$relay" = yes ] && wanted relaisd; then
    start_relaisd; run_bench relaisd_e2e throughput --port "$port" "${common[@]}" --workers "$pairs"; stop_server
    start_relaisd
    run_bench relaisd_precomputed throughput --port "$port" "${common[@]}" --workers "$pairs" --precomputed
    stop_server
    for rate in 5000 20000; do
      start_relaisd
      run_bench relaisd_e2e latency --port "$port" "${common[@]}" --workers "$pairs" --rate "$rate"
      stop_server
    done
  fi
  if wanted relaisd; then
    for n in ${conns//,/ }; do
      start_relaisd
      run_bench relaisd idle --port "$port" --protocol relais --ca "$rdir/data/tls/cert.pem" --conns "$n"
      stop_server
    done
  fi
  # The same runs over the plain loopback listener: relaisd without its TLS work, as behind a
  # reverse proxy that ends TLS (the issue's "without TLS" figures).
  if [ "$relay" = yes ] && wanted relaisd-plain; then
    start_relaisd
    run_bench relaisd_plain_e2e throughput --port "$plain_port" --plain "${common[@]}" --workers "$pairs"
    stop_server
    start_relaisd
    run_bench relaisd_plain_precomputed throughput --port "$plain_port" --plain "${common[@]}" --workers "$pairs" \
      --precomputed
    stop_server
    for rate in 5000 20000; do
      start_relaisd
      run_bench relaisd_plain_e2e latency --port "$plain_port" --plain "${common[@]}" --workers "$pairs" --rate "$rate"
      stop_server
    done
  fi
  if wanted relaisd-plain; then
    for n in ${conns//,/ }; do
      start_relaisd
      run_bench relaisd_plain idle --port "$plain_port" --protocol relais --plain --conns "$n"
      stop_server
    done
  fi
  if [ "$relay" = yes ] && wanted storm; then
    # The permanence issue's scenario: 10,000 waiting, 5 workers taking one each a second.
    if [ "$quick" = yes ]; then storm=(--beneficiaries 1000 --duration 5); else storm=(--beneficiaries 10000 --duration 20); fi
    start_relaisd
    run_bench relaisd_storm queue-storm --port "$port" "${common[@]}" --workers 5 --srcips 4 "${storm[@]}"
    stop_server
  fi
  if [ "$relay" = yes ] && wanted evening; then
    # A busy evening: arrivals a little faster than the workers' capacity, so that a queue
    # forms; a fifth of the beneficiaries drop and resume. Once by queue.take, once by the
    # server's automatic assignment.
    if [ "$quick" = yes ]; then
      evening=(--arrival-rate 3 --capacity 2 --conversation-s 5 --think-s 1 --offline-s 1)
    else
      evening=(--arrival-rate 4 --capacity 3 --conversation-s 20 --think-s 3 --offline-s 2)
    fi
    evening+=(--duration "$evening_s" --workers "$evening_workers" --reconnect-fraction 0.2)
    start_relaisd
    run_bench relaisd_evening_take evening --port "$port" "${common[@]}" "${evening[@]}" --assign take
    stop_server
    write_config "$(tables "auto_assign = true")"
    start_relaisd
    run_bench relaisd_evening_auto evening --port "$port" "${common[@]}" "${evening[@]}" --assign auto
    stop_server
    write_config "$(tables "")"
  fi
fi

# ---------------------------------------------------------------- tables
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 - "$results" "$conns" "$load_start" "$load_end" "$(($(date +%s) - started))" <<'EOF'
import json, sys
results, conns, load_start, load_end, elapsed = sys.argv[1:6]
counts = [int(c) for c in conns.split(",") if c]
rows, order, extra = {}, [], []
for line in open(results):
    j = json.loads(line)
    name, mode = j["relay"], j.get("mode")
    if mode in ("queue-storm", "evening"):
        extra.append(j)
        continue
    key = mode
    if mode == "latency":
        key = f"latency@{int(j.get('rate', 0))}"
    elif mode == "idle":
        key = f"idle@{int(j.get('conns', 0))}"
    # relaisd's idle runs hold beneficiaries; their figures go on both rows of their listener.
    both = {"relaisd": ["relaisd_e2e", "relaisd_precomputed"],
            "relaisd_plain": ["relaisd_plain_e2e", "relaisd_plain_precomputed"]}
    for n in both.get(name, [name]):
        if n not in rows:
            rows[n] = {}
            order.append(n)
        rows[n][key] = j

def fmt(v, digits=0):
    return "-" if v is None else f"{v:,.{digits}f}"

def get(r, key, field):
    j = r.get(key)
    if j is None or j.get("failed"):
        return None
    return j.get(field)

def num(j, key, digits=0, div=1.0):
    v = j.get(key)
    return "-" if not isinstance(v, (int, float)) or isinstance(v, bool) else f"{v / div:,.{digits}f}"

transport = {"beast_relay": "ws", "beast_relay_tls": "wss", "wspp_relay": "ws", "node_ws": "ws",
             "raw_relay": "tcp", "relaisd_e2e": "wss, E2E, durable", "relaisd_precomputed": "wss, pre-made, durable",
             "relaisd_plain_e2e": "ws (plain listener), E2E, durable",
             "relaisd_plain_precomputed": "ws (plain listener), pre-made, durable"}
ws_peers = [n for n in order if n in ("beast_relay", "wspp_relay", "node_ws")]
best = min([b for b in (get(rows[n], "throughput", "server_us_per_msg") for n in ws_peers) if b], default=None)
tls_ref = get(rows.get("beast_relay_tls", {}), "throughput", "server_us_per_msg")
top = max(counts) if counts else None

def lat(r, rate):
    j = r.get(f"latency@{rate}")
    if j is None or j.get("failed"):
        return "-" if j is None else "failed"
    # Fewer messages of the window arrived before the end than were sent: it did not keep up
    # (the percentiles then cover only those that arrived).
    got, expected = j.get("samples", 0), j.get("expected", 0)
    if got + expected // 100 >= expected:
        return f"{fmt(j.get('p50_us'))} / {fmt(j.get('p99_us'))}"
    seen = f"{fmt(j.get('p50_us'))} / {fmt(j.get('p99_us'))}, " if got else ""
    return f"behind: {seen}{got:,} of {expected:,} arrived"

print("| relay | transport | msgs/s | server CPU µs/msg | × best ws peer | × beast TLS | p50 / p99 µs at 5,000 msg/s "
      "| p50 / p99 µs at 20,000 msg/s | memory per idle connection" + (f" ({top:,})" if top else "") + " |")
print("|---|---|---|---|---|---|---|---|---|")
for n in order:
    r = rows[n]
    cpu = get(r, "throughput", "server_us_per_msg")
    ratio = f"{cpu / best:.2f}" if cpu and best else "-"
    ratio_tls = f"{cpu / tls_ref:.2f}" if cpu and tls_ref else "-"
    mem = get(r, f"idle@{top}", "bytes_per_conn")
    mem = "-" if mem is None else f"{mem / 1024:.1f} KiB"
    failed = sorted(k for k, j in r.items() if j.get("failed"))
    note = f" (failed: {', '.join(failed)})" if failed else ""
    print(f"| {n}{note} | {transport.get(n, '')} | {fmt(get(r, 'throughput', 'msgs_per_s'))} | {fmt(cpu, 1)} | {ratio} "
          f"| {ratio_tls} | {lat(r, 5000)} | {lat(r, 20000)} | {mem} |")

# Idle memory: per connection, and the server's RSS before and after, at each count.
idle_names = [n for n in order if n not in ("relaisd_precomputed", "relaisd_plain_precomputed")
              and any(k.startswith("idle@") for k in rows[n])]
if idle_names:
    print()
    print("Idle connections (relaisd: authenticated beneficiaries): server memory per connection (RSS before → after)")
    print("| relay | " + " | ".join(f"{c:,}" for c in counts) + " |")
    print("|---|" + "---|" * len(counts))
    for n in idle_names:
        cells = []
        for c in counts:
            j = rows[n].get(f"idle@{c}")
            if j is None:
                cells.append("-")
            elif j.get("failed") or "bytes_per_conn" not in j:
                cells.append("failed")
            else:
                after = max(j["server_rss_after_kib"], j["server_rss_end_kib"])
                cells.append(f"{j['bytes_per_conn'] / 1024:.1f} KiB ({j['server_rss_before_kib'] / 1024:.0f} → "
                             f"{after / 1024:.0f} MiB)")
        shown = {"relaisd_e2e": "relaisd", "relaisd_plain_e2e": "relaisd (plain listener)"}.get(n, n)
        print(f"| {shown} | " + " | ".join(cells) + " |")

for j in extra:
    if j.get("mode") != "queue-storm":
        continue
    d = j.get("position_frames_per_beneficiary", {})
    print()
    print(f"Queue storm (relaisd): {num(j, 'beneficiaries')} waiting ({num(j, 'urgent')} urgent), "
          f"{num(j, 'workers')} workers taking one each a second for {num(j, 'duration')} s"
          + (" — FAILED (see its log)" if j.get("failed") else ""))
    print("| figure | value |")
    print("|---|---|")
    print(f"| joins/s; server CPU µs per join | {num(j, 'joins_per_s')}; {num(j, 'server_us_per_join')} |")
    print(f"| server CPU % while all wait and nobody moves | {num(j, 'quiet_server_cpu_pct', 1)} |")
    print(f"| takes answered (sent) | {num(j, 'takes')} ({num(j, 'takes_sent')}) |")
    print(f"| server CPU % of a core during the takes; µs per take | {num(j, 'server_cpu_pct', 1)}; "
          f"{num(j, 'server_us_per_take')} |")
    print(f"| queue.take → conversation.assigned p50 / p99 ms | {num(j, 'take_p50_ms', 1)} / {num(j, 'take_p99_ms', 1)} |")
    print(f"| queue.position frames per take; per waiting beneficiary per second | "
          f"{num(j, 'position_frames_per_take')}; {num(j, 'position_frames_per_waiting_per_s', 2)} |")
    print(f"| position frames per waiting beneficiary min / p50 / max | {d.get('min', '-')} / {d.get('p50', '-')} / "
          f"{d.get('max', '-')} |")
    print(f"| queue.snapshot frames per worker per second | {num(j, 'snapshot_frames_per_worker_per_s', 2)} |")

evenings = [j for j in extra if j.get("mode") == "evening"]
if evenings:
    j0 = evenings[0]
    print()
    print(f"Helpline evening (relaisd): {num(j0, 'arrival_rate', 1)} arrivals/s for {num(j0, 'duration')} s, "
          f"{num(j0, 'workers')} workers × {num(j0, 'capacity')} conversations, a message every ~{num(j0, 'think_s', 1)} s "
          f"each way, conversations ~{num(j0, 'conversation_s')} s, {num(j0, 'reconnect_fraction', 0, 0.01)} % drop "
          f"for {num(j0, 'offline_s', 1)} s and resume with sync")
    print("| assignment | arrivals / served / left at the close | wait p50 / p99 ms | delivery p50 / p99 ms "
          "| ack p50 / p99 ms | messages / recovered by sync | reconnects | lost / duplicated | server CPU % "
          "| µs per chat msg | RSS start → peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for j in evenings:
        print(f"| {j.get('assign', j['relay'])}{' (FAILED)' if j.get('failed') else ''} "
              f"| {num(j, 'arrivals')} / {num(j, 'served')} / {num(j, 'left_unserved')} "
              f"| {num(j, 'wait_p50_ms')} / {num(j, 'wait_p99_ms')} "
              f"| {num(j, 'delivery_p50_us', 2, 1000)} / {num(j, 'delivery_p99_us', 2, 1000)} "
              f"| {num(j, 'ack_p50_us', 2, 1000)} / {num(j, 'ack_p99_us', 2, 1000)} "
              f"| {num(j, 'messages')} / {num(j, 'recovered')} | {num(j, 'reconnects')} "
              f"| {num(j, 'lost')} / {num(j, 'duplicates')} | {num(j, 'server_cpu_pct', 1)} "
              f"| {num(j, 'server_us_per_chat_msg')} "
              f"| {num(j, 'server_rss_start_kib', 0, 1024)} → {num(j, 'server_rss_max_kib', 0, 1024)} |")

print()
print(f"Load average (1, 5, 15 min) at the start: {load_start}; at the end: {load_end}; "
      f"{int(elapsed) // 60} min {int(elapsed) % 60} s.")
EOF
echo "(JSON lines: $results)" >&2
