#!/usr/bin/env bash
# lint.deploy.nginx: `nginx -t` on deploy/nginx/relais.conf, included in a minimal nginx.conf
# in a temp folder, with a throwaway certificate in place of the operator's. Fails on any
# error and on any warning (nginx -t exits 0 on warnings, e.g. a duplicate or ignored
# directive, which are mistakes in an example meant to be copied). nginx -t also binds the
# listening sockets, so the listen lines are moved to free loopback ports first (ports 80 and
# 443 are refused to other users than root, and may be taken).
# Usage: nginx_check.sh SOURCE_DIR [NGINX]
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source_dir=$1
nginx=${2:-/usr/sbin/nginx}
[ -x "$nginx" ] || fail "$nginx not found (Debian package nginx-light)"

make_work
render_nginx "$source_dir/deploy/nginx/relais.conf"
dir="$work/nginx"
read -r https_port http_port < <(free_ports 2)
move_nginx_ports "$dir/relais.conf" "$https_port" "$http_port"

status=0
"$nginx" -t -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$work/nginx-t.out" 2>&1 || status=$?
cat "$work/nginx-t.out" "$dir/error.log" 2>/dev/null >"$work/nginx-t.log" || true
cat "$work/nginx-t.log"
[ $status -eq 0 ] || fail "nginx -t exited with status $status"
if grep -E "\[(warn|emerg|alert|crit|error)\]" "$work/nginx-t.log" >/dev/null; then
  fail "nginx -t reported problems (above)"
fi
grep -q "test is successful" "$work/nginx-t.log" || fail "nginx -t did not say 'test is successful'"
echo "PASS: nginx -t accepts deploy/nginx/relais.conf"
