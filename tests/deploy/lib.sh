# shellcheck shell=bash
# Shared helpers for the tests/deploy scripts (sourced, not run). Bash only.
# Every helper writes below $work, a temp folder removed on exit, and never touches the host's
# /etc, /var or /usr.

set -euo pipefail

# fail MESSAGE: one line on stderr, exit 1.
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# make_work: creates $work and removes it (and stops $relaisd_pid / $nginx_pid) on exit.
make_work() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/relais-deploy-test.XXXXXX")
  relaisd_pid=""
  nginx_pid=""
  trap cleanup EXIT
}

cleanup() {
  local status=$?
  if [ -n "${nginx_pid:-}" ] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  if [ -n "${relaisd_pid:-}" ] && kill -0 "$relaisd_pid" 2>/dev/null; then
    kill -KILL "$relaisd_pid" 2>/dev/null || true
    wait "$relaisd_pid" 2>/dev/null || true
  fi
  if [ $status -ne 0 ] && [ -n "${work:-}" ]; then
    # Show what the processes said: the failure is usually there.
    for f in "$work"/*.log "$work"/*.out "$work"/*.err; do
      [ -s "$f" ] || continue
      echo "--- $f" >&2
      tail -n 30 "$f" >&2
    done
  fi
  [ -n "${work:-}" ] && rm -rf "$work"
  return $status
}

# make_cert DIR NAME: a throwaway self-signed ECDSA P-256 certificate for NAME in DIR/NAME.crt
# and DIR/NAME.key (what an operator's certificate looks like to nginx and relaisd).
make_cert() {
  local dir=$1 name=$2
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$name" -addext "subjectAltName=DNS:$name" \
    -keyout "$dir/$name.key" -out "$dir/$name.crt" 2>/dev/null ||
    fail "openssl could not create a test certificate"
}

# free_ports N: N distinct TCP ports free on 127.0.0.1 right now, on one line (for nginx, which
# cannot listen on port 0 and report the port; relaisd uses port 0 itself). All N are held
# open together while chosen, so they differ.
free_ports() {
  /usr/bin/python3 -c '
import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))' "$1"
}

# start_relaisd BINARY ARGS...: starts relaisd in the background with stdout in
# $work/relaisd.out and stderr in $work/relaisd.err, waits (20 s at most) for its
# "listening on" line, and sets $relaisd_pid, $relaisd_port and $relaisd_plain_port (from the
# logfmt line `event=listening ... port=N plain_port=M` on stderr, since stdout shows public_url
# when it is set).
start_relaisd() {
  local binary=$1
  shift
  "$binary" "$@" >"$work/relaisd.out" 2>"$work/relaisd.err" &
  relaisd_pid=$!
  local deadline=$((SECONDS + 20))
  until grep -q "listening on" "$work/relaisd.out" 2>/dev/null; do
    kill -0 "$relaisd_pid" 2>/dev/null || {
      local status=0
      wait "$relaisd_pid" || status=$?
      relaisd_pid=""
      fail "relaisd exited with status $status before listening: $(tail -n 3 "$work/relaisd.err")"
    }
    [ $SECONDS -lt $deadline ] || fail "relaisd did not print 'listening on' within 20 s"
    sleep 0.05
  done
  relaisd_port=$(sed -n 's/.*event=listening .* port=\([0-9][0-9]*\).*/\1/p' "$work/relaisd.err" | head -n 1)
  [ -n "$relaisd_port" ] || fail "no 'event=listening ... port=N' log line from relaisd"
  # The plain loopback listener's port ([server] plain_listen), 0 when it is off.
  # shellcheck disable=SC2034  # read by the scripts that source this file
  relaisd_plain_port=$(sed -n 's/.*event=listening .* plain_port=\([0-9][0-9]*\).*/\1/p' "$work/relaisd.err" | head -n 1)
}

# stop_relaisd: SIGTERM, then expects exit status 0 within 20 s.
stop_relaisd() {
  kill -TERM "$relaisd_pid"
  local deadline=$((SECONDS + 20))
  while kill -0 "$relaisd_pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "relaisd still running 20 s after SIGTERM"
    sleep 0.05
  done
  local status=0
  wait "$relaisd_pid" || status=$?
  relaisd_pid=""
  [ $status -eq 0 ] || fail "relaisd exited with status $status after SIGTERM (expected 0)"
  grep -q "event=stopped" "$work/relaisd.err" || fail "relaisd did not log event=stopped"
}

# ws_upgrade HOST PORT SNI HOST_HEADER ORIGIN [CAFILE]: opens TLS to HOST:PORT, sends a
# WebSocket upgrade for /ws and prints the HTTP status code of the answer (101 on success).
# Without CAFILE the certificate is not verified (relaisd's self-signed one).
ws_upgrade() {
  /usr/bin/python3 - "$@" <<'PY'
import socket, ssl, sys
host, port, sni, host_header, origin = sys.argv[1:6]
cafile = sys.argv[6] if len(sys.argv) > 6 else None
ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
ctx.set_alpn_protocols(["http/1.1"])
with socket.create_connection((host, int(port)), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname=sni) as s:
        req = ("GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               "Origin: %s\r\n\r\n") % (host_header, origin)
        s.sendall(req.encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode(errors="replace")
        print(line.split(" ")[1] if line.startswith("HTTP/1.1 ") else "none:" + line)
PY
}

# render_nginx SOURCE_CONF: writes $work/nginx/relais.conf (SOURCE_CONF with the operator's
# certificate paths replaced by a throwaway certificate for relais.example.org and the pinned
# upstream certificate by $upstream_cert, default the same throwaway one) and
# $work/nginx/nginx.conf, a minimal main config that includes it in http {} with the pid, logs
# and temp folders in $work. Fails if a path it must replace is not there (so the test cannot
# silently check something else than the example).
render_nginx() {
  local source=$1 dir="$work/nginx"
  mkdir -p "$dir/tmp"
  make_cert "$dir" relais.example.org
  local upstream=${upstream_cert:-$dir/relais.example.org.crt}
  sed -E \
    -e "s#^([[:space:]]*ssl_certificate[[:space:]]+)[^;]+;#\1$dir/relais.example.org.crt;#" \
    -e "s#^([[:space:]]*ssl_certificate_key[[:space:]]+)[^;]+;#\1$dir/relais.example.org.key;#" \
    -e "s#^([[:space:]]*proxy_ssl_trusted_certificate[[:space:]]+)[^;]+;#\1$upstream;#" \
    "$source" >"$dir/relais.conf"
  grep -Eq "^[[:space:]]*ssl_certificate[[:space:]]+$dir/" "$dir/relais.conf" || fail "no ssl_certificate in $source"
  grep -Eq "^[[:space:]]*ssl_certificate_key[[:space:]]+$dir/" "$dir/relais.conf" || fail "no ssl_certificate_key in $source"
  grep -Eq "^[[:space:]]*proxy_ssl_trusted_certificate[[:space:]]+$upstream;" "$dir/relais.conf" ||
    fail "no proxy_ssl_trusted_certificate in $source"
  local left
  left=$(grep -Ev "^[[:space:]]*#" "$dir/relais.conf" | grep -E "/etc/letsencrypt|/etc/nginx/relais-upstream" || true)
  [ -z "$left" ] || fail "a certificate path of $source was not replaced: $left"
  local user_line=""
  # As root nginx would run its workers as "nobody", who cannot enter $work; as another user the
  # directive is ignored with a warning, so only write it for root.
  [ "$(id -u)" -eq 0 ] && user_line="user root;"
  cat >"$dir/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 64; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/relais.conf;
}
CONF
}

# production_to_temp CONFIG OUT DATA_DIR WEB_ROOT: CONFIG (deploy/relais.production.toml) with
# its host paths moved into the temp folder. Fails if a host path is left, so a test can never
# write to the host's /var/lib/relais.
production_to_temp() {
  local config=$1 out=$2 data=$3 web=$4
  sed -E \
    -e "s#^data_dir = .*#data_dir = \"$data\"#" \
    -e "s#^web_root = .*#web_root = \"$web\"#" \
    "$config" >"$out"
  local left
  left=$(grep -Ev '^[[:space:]]*#' "$out" | grep -E '"/(var|usr|etc)/' || true)
  [ -z "$left" ] || fail "a host path of $config was not moved into the temp folder: $left"
  grep -q "^data_dir = \"$data\"" "$out" || fail "no data_dir key in $config"
  grep -q "^web_root = \"$web\"" "$out" || fail "no web_root key in $config"
}

# move_nginx_ports CONF HTTPS_PORT HTTP_PORT: rewrites the example's `listen 443`/`listen 80`
# lines (IPv4 and IPv6) to loopback and the given free ports. nginx -t binds the listening
# sockets too (it only tolerates "address in use"), so a test must not use ports 80/443: as
# another user than root they are refused. IPv6 lines go to [::1], or are dropped when this
# machine has no IPv6 loopback.
move_nginx_ports() {
  local conf=$1 https=$2 http=$3 v6=drop
  if /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    v6=keep
  fi
  if [ $v6 = keep ]; then
    sed -i -E -e "s#^([[:space:]]*)listen \[::\]:443 #\1listen [::1]:$https #" \
      -e "s#^([[:space:]]*)listen \[::\]:80;#\1listen [::1]:$http;#" "$conf"
  else
    sed -i -E "/^[[:space:]]*listen \[::\]:(443|80)[ ;]/d" "$conf"
  fi
  sed -i -E -e "s#^([[:space:]]*)listen 443 #\1listen 127.0.0.1:$https #" \
    -e "s#^([[:space:]]*)listen 80;#\1listen 127.0.0.1:$http;#" "$conf"
  [ "$(grep -c "listen 127.0.0.1:$https " "$conf")" = 2 ] || fail "expected two 'listen 443' lines in the example"
  [ "$(grep -c "listen 127.0.0.1:$http;" "$conf")" = 1 ] || fail "expected one 'listen 80' line in the example"
  local left
  left=$(grep -E "^[[:space:]]*listen " "$conf" | grep -vE "127\.0\.0\.1:|\[::1\]:" || true)
  [ -z "$left" ] || fail "listen lines the test cannot move: $left"
}
