#!/usr/bin/env bash
# lint.deploy.install: deploy/install.sh --root TMP installs the expected files with the
# expected modes, twice (idempotent: the second run changes nothing it should not, and keeps
# an edited /etc/relais/relais.toml), and refuses to run without a built binary.
# Usage: install_check.sh RELAISD SOURCE_DIR
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
relaisd=$(realpath "$1")
source_dir=$(realpath "$2")
install_sh="$source_dir/deploy/install.sh"

make_work
root="$work/root"
web="$work/web"
mkdir -p "$web/assets"
echo '<!doctype html><title>Relais</title>' >"$web/index.html"
echo 'console.log(1)' >"$web/assets/app.js"
chmod 0600 "$web/assets/app.js" # a too-private file in the source must still be served

# expect_mode PATH MODE
expect_mode() {
  [ -e "$1" ] || fail "missing: ${1#"$root"}"
  local mode
  mode=$(stat -c %a "$1")
  [ "$mode" = "$2" ] || fail "${1#"$root"} has mode $mode, expected $2"
}

check_tree() {
  expect_mode "$root/usr/local/bin/relaisd" 755
  cmp -s "$relaisd" "$root/usr/local/bin/relaisd" || fail "/usr/local/bin/relaisd is not the built binary"
  "$root/usr/local/bin/relaisd" --version >/dev/null || fail "the installed relaisd does not run"
  expect_mode "$root/usr/local/share/relais/web" 755
  expect_mode "$root/usr/local/share/relais/web/index.html" 644
  expect_mode "$root/usr/local/share/relais/web/assets" 755
  expect_mode "$root/usr/local/share/relais/web/assets/app.js" 644
  expect_mode "$root/usr/local/lib/relais/relais-backup" 755
  for unit in relaisd.service relais-backup.service relais-backup.timer; do
    expect_mode "$root/etc/systemd/system/$unit" 644
    cmp -s "$source_dir/deploy/systemd/$unit" "$root/etc/systemd/system/$unit" || fail "$unit differs from deploy/systemd"
  done
  expect_mode "$root/etc/relais" 750
  expect_mode "$root/etc/relais/relais.toml" 640
  expect_mode "$root/usr/local/share/doc/relais/README.md" 644
  # The units' absolute paths must be what install.sh installed.
  grep -q "^ExecStart=/usr/local/bin/relaisd --config /etc/relais/relais.toml$" "$root/etc/systemd/system/relaisd.service" ||
    fail "relaisd.service does not run the installed binary with the installed config"
  grep -q "^ExecStart=/usr/local/lib/relais/relais-backup " "$root/etc/systemd/system/relais-backup.service" ||
    fail "relais-backup.service does not run the installed backup script"
  grep -q '^web_root = "/usr/local/share/relais/web"$' "$root/etc/relais/relais.toml" ||
    fail "the installed config's web_root is not the installed web folder"
  # Nothing left over from the swaps.
  local left
  left=$(find "$root" -name '*.new' -o -name '*.old')
  [ -z "$left" ] || fail "leftovers: $left"
  # Nothing outside the prefix's usual places (no /var, no home).
  left=$(cd "$root" && find . -mindepth 1 -maxdepth 1 | sort | paste -sd' ')
  [ "$left" = "./etc ./usr" ] || fail "unexpected top-level entries under --root: $left"
}

echo "== first install"
"$install_sh" --root "$root" --binary "$relaisd" --web "$web" >"$work/install1.log" 2>&1 ||
  { cat "$work/install1.log"; fail "install.sh --root failed"; }
cmp -s "$source_dir/deploy/relais.production.toml" "$root/etc/relais/relais.toml" ||
  fail "/etc/relais/relais.toml is not deploy/relais.production.toml"
grep -q "systemctl not called" "$work/install1.log" || fail "install.sh --root did not say it skipped systemctl"
check_tree
echo "ok: files and modes"

echo "== second install over an edited config and changed web clients"
echo '# edited by the operator' >>"$root/etc/relais/relais.toml"
rm "$web/assets/app.js"
echo 'v2' >"$web/new.txt"
"$install_sh" --root "$root" --binary "$relaisd" --web "$web" >"$work/install2.log" 2>&1 ||
  { cat "$work/install2.log"; fail "second install.sh --root failed"; }
grep -q '^# edited by the operator$' "$root/etc/relais/relais.toml" || fail "the second run overwrote the operator's config"
[ ! -e "$root/usr/local/share/relais/web/assets/app.js" ] || fail "a removed web file is still installed"
expect_mode "$root/usr/local/share/relais/web/new.txt" 644
echo 'console.log(1)' >"$web/assets/app.js"
"$install_sh" --root "$root" --binary "$relaisd" --web "$web" >"$work/install3.log" 2>&1 ||
  { cat "$work/install3.log"; fail "third install.sh --root failed"; }
check_tree
echo "ok: idempotent, config kept"

echo "== refusals"
status=0
"$install_sh" --root "$work/root2" --binary "$work/no-such-relaisd" --web "$web" >"$work/refuse.log" 2>&1 || status=$?
[ $status -ne 0 ] || fail "install.sh accepted a missing binary"
grep -q "no relaisd at" "$work/refuse.log" || fail "unclear message for a missing binary: $(cat "$work/refuse.log")"
status=0
"$install_sh" --root "$work/root2" --bogus >"$work/refuse.log" 2>&1 || status=$?
[ $status -ne 0 ] || fail "install.sh accepted an unknown option"
echo "ok: refuses a missing binary and an unknown option"
echo "PASS: deploy/install.sh"
