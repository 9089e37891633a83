#!/usr/bin/env bash
# lint.deploy.nginx_proxy: deploy/nginx/relais.conf really proxies to relaisd. Runs relaisd
# with deploy/relais.production.toml (paths moved to a temp folder) and Debian's nginx with the
# example config, its ports moved to free loopback ports and its certificates replaced by a
# throwaway one for relais.example.org, then checks through nginx:
#  - HTTPS to /healthz answers 200 with relaisd's security headers, once each, and no nginx
#    version; TLS 1.2 alone still works (Mozilla intermediate);
#  - port 80 redirects to https with the path and query, and serves ACME challenges;
#  - another server name gets its TLS handshake refused;
#  - a WebSocket upgrade on /ws from the widget's site gets 101 from relaisd, and one from an
#    unlisted origin 403 (so Host and Origin reach relaisd unchanged);
#  - nginx verifies relaisd's self-signed certificate: with another certificate pinned in
#    proxy_ssl_trusted_certificate, the same request gets 502;
#  - the plain variant of deploy/README.md (relaisd's [server] plain_listen on loopback, nginx's
#    proxy_pass to http://): HTTPS and the WebSocket through nginx work the same.
# Usage: nginx_proxy_check.sh RELAISD SOURCE_DIR [NGINX]
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
relaisd=$(realpath "$1")
source_dir=$(realpath "$2")
nginx=${3:-/usr/sbin/nginx}
[ -x "$nginx" ] || fail "$nginx not found (Debian package nginx-light)"
[ -x "$relaisd" ] || fail "relaisd binary $relaisd not found"
name=relais.example.org

make_work
mkdir -p "$work/web" "$work/acme/.well-known/acme-challenge"
echo '<!doctype html><title>Relais test</title>' >"$work/web/index.html"
echo 'challenge-token' >"$work/acme/.well-known/acme-challenge/t0ken"

production_to_temp "$source_dir/deploy/relais.production.toml" "$work/relais.toml" "$work/data" "$work/web"
start_relaisd "$relaisd" --config "$work/relais.toml" --listen 127.0.0.1:0
[ -s "$work/data/tls/cert.pem" ] || fail "relaisd created no self-signed certificate"
widget_origin=$(sed -n 's/^allowed_origins = \[\(.*\)\]/\1/p' "$work/relais.toml" | grep -o '"[^"]*"' | tr -d '"' |
  grep -vxF "https://$name" | head -n 1)
[ -n "$widget_origin" ] || fail "no widget origin in allowed_origins"

# start_nginx PINNED_CERT [UPSTREAM]: renders the example for this run and starts nginx in the
# foreground (in the background of this script); sets $https_port, $http_port, $nginx_pid.
# UPSTREAM (default https://127.0.0.1:RELAISD_PORT) replaces the example's proxy_pass target.
start_nginx() {
  upstream_cert=$1 render_nginx "$source_dir/deploy/nginx/relais.conf"
  local upstream=${2:-https://127.0.0.1:$relaisd_port}
  local dir="$work/nginx" conf="$work/nginx/relais.conf"
  read -r https_port http_port < <(free_ports 2)
  move_nginx_ports "$conf" "$https_port" "$http_port"
  sed -i -E \
    -e "s#proxy_pass https://127.0.0.1:8443;#proxy_pass $upstream;#" \
    -e "s#root /var/www/letsencrypt;#root $work/acme;#" \
    "$conf"
  [ "$(grep -c "proxy_pass $upstream;" "$conf")" = 2 ] ||
    fail "expected two 'proxy_pass https://127.0.0.1:8443' lines in the example"
  grep -q "root $work/acme;" "$conf" || fail "no ACME challenge root in the example"
  "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;' >"$work/nginx.out" 2>&1 &
  nginx_pid=$!
  local deadline=$((SECONDS + 20))
  until curl -s -o /dev/null "http://127.0.0.1:$http_port/"; do
    kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited: $(tail -n 5 "$dir/error.log")"
    [ $SECONDS -lt $deadline ] || fail "nginx did not listen within 20 s"
    sleep 0.05
  done
}

stop_nginx() {
  kill -QUIT "$nginx_pid"
  wait "$nginx_pid" || true
  nginx_pid=""
}

front() { # front PATH [curl options...]: curl through nginx, verifying nginx's certificate
  local path=$1
  shift
  curl -s --resolve "$name:$https_port:127.0.0.1" --cacert "$work/nginx/$name.crt" "$@" "https://$name:$https_port$path"
}

echo "== nginx pinning relaisd's self-signed certificate"
start_nginx "$work/data/tls/cert.pem"
front /healthz -D "$work/headers" -o "$work/body" -w '%{http_code}\n' >"$work/code"
[ "$(cat "$work/code")" = 200 ] || fail "GET /healthz through nginx answered $(cat "$work/code"): $(tail -n 3 "$work/nginx/error.log")"
for h in strict-transport-security content-security-policy x-content-type-options referrer-policy; do
  n=$(grep -ci "^$h:" "$work/headers" || true)
  [ "$n" = 1 ] || fail "header $h appears $n times through nginx, expected once (from relaisd)"
done
if grep -i '^server:' "$work/headers" | grep -q '[0-9]'; then
  fail "nginx shows its version: $(grep -i '^server:' "$work/headers")"
fi
code=$(front /readyz --tlsv1.2 --tls-max 1.2 -o /dev/null -w '%{http_code}')
[ "$code" = 200 ] || fail "GET /readyz over TLS 1.2 answered $code"
echo "ok: HTTPS through nginx, relaisd's headers once each, TLS 1.2 accepted"

location=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Host: $name" "http://127.0.0.1:$http_port/console/?a=1")
[ "$location" = "https://$name/console/?a=1" ] || fail "port 80 redirected to '$location'"
body=$(curl -s -H "Host: $name" "http://127.0.0.1:$http_port/.well-known/acme-challenge/t0ken")
[ "$body" = challenge-token ] || fail "port 80 did not serve the ACME challenge"
echo "ok: port 80 redirects and serves ACME challenges"

status=0
curl -s -o /dev/null -k --resolve "other.example:$https_port:127.0.0.1" "https://other.example:$https_port/healthz" || status=$?
[ $status -ne 0 ] || fail "a TLS handshake for another name was accepted"
echo "ok: another server name is refused at the handshake (curl status $status)"

code=$(ws_upgrade 127.0.0.1 "$https_port" "$name" "$name" "$widget_origin" "$work/nginx/$name.crt")
[ "$code" = 101 ] || fail "WebSocket from $widget_origin through nginx answered $code, expected 101"
code=$(ws_upgrade 127.0.0.1 "$https_port" "$name" "$name" "https://$name" "$work/nginx/$name.crt")
[ "$code" = 101 ] || fail "WebSocket from https://$name through nginx answered $code, expected 101"
code=$(ws_upgrade 127.0.0.1 "$https_port" "$name" "$name" "https://elsewhere.example" "$work/nginx/$name.crt")
[ "$code" = 403 ] || fail "WebSocket from an unlisted origin through nginx answered $code, expected 403"
echo "ok: WebSocket upgrade through nginx (101), Origin checked by relaisd (403)"
stop_nginx

echo "== nginx pinning another certificate"
make_cert "$work" impostor.example
start_nginx "$work/impostor.example.crt"
code=$(front /healthz -o /dev/null -w '%{http_code}')
[ "$code" = 502 ] || fail "with the wrong certificate pinned nginx answered $code, expected 502"
grep -q "upstream SSL certificate verify error" "$work/nginx/error.log" ||
  fail "nginx's error log does not show the certificate verification failure"
stop_nginx
echo "ok: 502 and 'upstream SSL certificate verify error' when relaisd's certificate is not the pinned one"

stop_relaisd

echo "== the plain variant: relaisd's plain_listen on loopback, nginx proxying to http://"
# The production file has a [server] table already: the key goes into it.
sed -e 's/^\[server\]$/[server]\nplain_listen = "127.0.0.1:0"/' "$work/relais.toml" >"$work/relais-plain.toml"
grep -q '^plain_listen = ' "$work/relais-plain.toml" || fail "no [server] table in the production config"
start_relaisd "$relaisd" --config "$work/relais-plain.toml" --listen 127.0.0.1:0
[ "${relaisd_plain_port:-0}" != 0 ] || fail "relaisd logged no plain_port with plain_listen set"
grep -q "plain HTTP for the reverse proxy on this machine: http://127.0.0.1:$relaisd_plain_port/" "$work/relaisd.out" ||
  fail "relaisd did not print the plain listener's URL"
start_nginx "$work/impostor.example.crt" "http://127.0.0.1:$relaisd_plain_port"
front /healthz -D "$work/headers" -o /dev/null -w '%{http_code}\n' >"$work/code"
[ "$(cat "$work/code")" = 200 ] || fail "GET /healthz through nginx to plain relaisd answered $(cat "$work/code")"
n=$(grep -ci "^strict-transport-security:" "$work/headers" || true)
[ "$n" = 1 ] || fail "HSTS appears $n times through nginx to plain relaisd, expected once"
code=$(ws_upgrade 127.0.0.1 "$https_port" "$name" "$name" "$widget_origin" "$work/nginx/$name.crt")
[ "$code" = 101 ] || fail "WebSocket through nginx to plain relaisd answered $code, expected 101"
code=$(ws_upgrade 127.0.0.1 "$https_port" "$name" "$name" "https://elsewhere.example" "$work/nginx/$name.crt")
[ "$code" = 403 ] || fail "WebSocket from an unlisted origin through nginx to plain relaisd answered $code, expected 403"
stop_nginx
stop_relaisd
echo "ok: plain upstream: HTTPS (200, HSTS once) and WebSocket (101, unlisted origin 403) through nginx"
echo "PASS: nginx example proxies HTTPS and WebSocket to relaisd"
