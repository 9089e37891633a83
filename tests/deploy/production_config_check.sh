#!/usr/bin/env bash
# lint.deploy.production_config: the real relaisd loads deploy/relais.production.toml and
# serves with it. relaisd has no --check-config yet, so the test copies the file into a temp
# folder, points its host paths (data_dir, web_root, the certificate) into that folder, starts
# relaisd on 127.0.0.1:0 and checks what an operator relies on:
#  1. as shipped (behind nginx): it starts, creates its self-signed certificate in data_dir,
#     prints public_url, answers /healthz and /readyz, accepts a WebSocket from the widget's
#     site (allowed_origins) and from its own public name, refuses another origin, and exits 0
#     on SIGTERM;
#  2. the "facing the network" variant (the commented certificate/private_key lines): it
#     serves the operator's certificate;
#  3. a control: the same file with a misspelt key is refused with exit status 2, so a broken
#     production config cannot pass step 1 unnoticed.
# Usage: production_config_check.sh RELAISD SOURCE_DIR
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
relaisd=$1
source_dir=$2
config="$source_dir/deploy/relais.production.toml"
[ -x "$relaisd" ] || fail "relaisd binary $relaisd not found"
[ -f "$config" ] || fail "$config not found"

make_work
mkdir -p "$work/web" "$work/operator"
echo '<!doctype html><title>Relais test</title>' >"$work/web/index.html"

public_url=$(sed -n 's/^public_url = "\(.*\)"/\1/p' "$config")
public_host=${public_url#https://}
origins=$(sed -n 's/^allowed_origins = \[\(.*\)\]/\1/p' "$config" | grep -o '"[^"]*"' | tr -d '"')
[ -n "$public_url" ] || fail "public_url is not set in $config"
[ -n "$origins" ] || fail "allowed_origins has no entry in $config"
# The widget's site: the first allowed origin that is not relaisd's own.
widget_origin=$(echo "$origins" | grep -vxF "$public_url" | head -n 1)
[ -n "$widget_origin" ] || fail "allowed_origins lists no website besides $public_url"

echo "== 1. as shipped (behind nginx, self-signed loopback certificate)"
production_to_temp "$config" "$work/proxied.toml" "$work/data1" "$work/web"
start_relaisd "$relaisd" --config "$work/proxied.toml" --listen 127.0.0.1:0
grep -q "listening on $public_url" "$work/relaisd.out" || fail "stdout does not show public_url $public_url"
[ -s "$work/data1/tls/cert.pem" ] || fail "no self-signed certificate created in data_dir/tls"
[ "$(stat -c %a "$work/data1")" = 700 ] || fail "data_dir mode is $(stat -c %a "$work/data1"), expected 700"
for path in /healthz /readyz; do
  code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$relaisd_port$path")
  [ "$code" = 200 ] || fail "GET $path answered $code, expected 200"
done
code=$(ws_upgrade 127.0.0.1 "$relaisd_port" localhost "$public_host" "$widget_origin")
[ "$code" = 101 ] || fail "WebSocket from the widget's site $widget_origin answered $code, expected 101"
code=$(ws_upgrade 127.0.0.1 "$relaisd_port" localhost "$public_host" "$public_url")
[ "$code" = 101 ] || fail "WebSocket from relaisd's own origin $public_url answered $code, expected 101"
code=$(ws_upgrade 127.0.0.1 "$relaisd_port" localhost "$public_host" "https://elsewhere.example")
[ "$code" = 403 ] || fail "WebSocket from an unlisted origin answered $code, expected 403"
stop_relaisd
echo "ok: started, served, refused a foreign origin, exited 0 on SIGTERM"

echo "== 2. facing the network with the operator's certificate"
make_cert "$work/operator" "$public_host"
production_to_temp "$config" "$work/direct.toml" "$work/data2" "$work/web"
sed -i -E \
  -e "/^certificate = \"\"/d" -e "/^private_key = \"\"/d" \
  -e "s|^#certificate = .*|certificate = \"$work/operator/$public_host.crt\"|" \
  -e "s|^#private_key = .*|private_key = \"$work/operator/$public_host.key\"|" \
  "$work/direct.toml"
grep -q "^certificate = \"$work/" "$work/direct.toml" || fail "no commented certificate line to enable in $config"
grep -q "^private_key = \"$work/" "$work/direct.toml" || fail "no commented private_key line to enable in $config"
start_relaisd "$relaisd" --config "$work/direct.toml" --listen 127.0.0.1:0
[ ! -e "$work/data2/tls/cert.pem" ] || fail "relaisd created a self-signed certificate although one was configured"
# Verified against the operator's certificate, by its name: relaisd serves that one.
code=$(ws_upgrade 127.0.0.1 "$relaisd_port" "$public_host" "$public_host" "$widget_origin" \
  "$work/operator/$public_host.crt")
[ "$code" = 101 ] || fail "WebSocket over the operator's certificate answered $code, expected 101"
stop_relaisd
echo "ok: served the operator's certificate, exited 0 on SIGTERM"

echo "== 3. control: a misspelt key is refused"
sed 's/^ws_idle_timeout_seconds/ws_idle_timeout_second/' "$work/proxied.toml" >"$work/broken.toml"
status=0
timeout 20 "$relaisd" --config "$work/broken.toml" --listen 127.0.0.1:0 >"$work/broken.out" 2>"$work/broken.err" || status=$?
[ $status -eq 2 ] || fail "relaisd exited $status on a misspelt key, expected 2"
grep -q "ws_idle_timeout_second" "$work/broken.err" || fail "the error line does not name the misspelt key"
echo "ok: refused with: $(head -n 1 "$work/broken.err")"
echo "PASS: deploy/relais.production.toml"
