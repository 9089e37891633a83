#!/usr/bin/env bash
# lint.deploy.systemd: `systemd-analyze verify` and `systemd-analyze security --offline=true`
# on deploy/systemd/*.{service,timer}.
#
# The units are copied to a temp folder with their ExecStart= binaries pointed at files that
# exist here (the built relaisd, the backup script in the source tree), because verify checks
# that the command exists. The 443 variant of relaisd.service (the commented capability lines
# enabled, PrivateUsers=no, as deploy/README.md tells) is checked too.
#
# What is filtered: verify also loads the units ours refer to (network-online.target,
# multi-user.target, timers.target) from this machine's systemd and may print warnings about
# them or about the machine (no systemd running as PID 1 in a container). Only lines that name
# one of our unit files are counted; the others are shown as "environment" and ignored. A
# warning about our own files (unknown key, bad value, missing command) fails the test even
# though verify itself exits 0 for most of them.
#
# Usage: systemd_check.sh RELAISD SOURCE_DIR [MAX_EXPOSURE]
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
relaisd=$(realpath "$1")
source_dir=$(realpath "$2")
max_exposure=${3:-1.5}
sa=/usr/bin/systemd-analyze
[ -x "$sa" ] || fail "$sa not found"
[ -x "$relaisd" ] || fail "relaisd binary $relaisd not found"

make_work
units="$work/units"
mkdir -p "$units"
backup_script="$source_dir/deploy/systemd/relais-backup.sh"
for f in relaisd.service relais-backup.service relais-backup.timer; do
  sed -e "s#^ExecStart=/usr/local/bin/relaisd #ExecStart=$relaisd #" \
    -e "s#^ExecStart=/usr/local/lib/relais/relais-backup #ExecStart=$backup_script #" \
    "$source_dir/deploy/systemd/$f" >"$units/$f"
done
grep -q "^ExecStart=$relaisd --config /etc/relais/relais.toml$" "$units/relaisd.service" ||
  fail "relaisd.service: ExecStart is not '/usr/local/bin/relaisd --config /etc/relais/relais.toml'"
grep -q "^ExecStart=$backup_script " "$units/relais-backup.service" ||
  fail "relais-backup.service: ExecStart is not /usr/local/lib/relais/relais-backup"

# The 443 variant, made the way deploy/README.md says.
mkdir -p "$work/variant"
sed -e "s/^CapabilityBoundingSet=$/#&/" -e "s/^AmbientCapabilities=$/#&/" \
  -e "s/^#CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/CapabilityBoundingSet=CAP_NET_BIND_SERVICE/" \
  -e "s/^#AmbientCapabilities=CAP_NET_BIND_SERVICE$/AmbientCapabilities=CAP_NET_BIND_SERVICE/" \
  -e "s/^PrivateUsers=yes$/PrivateUsers=no/" \
  "$units/relaisd.service" >"$work/variant/relaisd.service"
grep -q "^AmbientCapabilities=CAP_NET_BIND_SERVICE$" "$work/variant/relaisd.service" ||
  fail "relaisd.service: no commented CAP_NET_BIND_SERVICE variant to enable"
grep -q "^PrivateUsers=no$" "$work/variant/relaisd.service" || fail "relaisd.service: no PrivateUsers=yes line"

# verify_units FILE...: runs verify, fails on any line naming one of the files.
verify_units() {
  local status=0 names
  SYSTEMD_LOG_COLOR=0 "$sa" verify "$@" >"$work/verify.log" 2>&1 || status=$?
  names=$(for f in "$@"; do basename "$f"; done | sed 's/\./\\./g' | paste -sd'|')
  local ours others
  ours=$(grep -E "$names" "$work/verify.log" || true)
  others=$(grep -vE "$names" "$work/verify.log" || true)
  [ -z "$others" ] || printf 'environment (ignored):\n%s\n' "$others"
  [ -z "$ours" ] || { echo "$ours"; fail "systemd-analyze verify complains about our units (above)"; }
  [ $status -eq 0 ] || { cat "$work/verify.log"; fail "systemd-analyze verify exited with status $status"; }
  echo "ok: systemd-analyze verify $(for f in "$@"; do basename "$f"; done | paste -sd' ')"
}
verify_units "$units/relaisd.service" "$units/relais-backup.service" "$units/relais-backup.timer"
verify_units "$work/variant/relaisd.service"

# exposure FILE LABEL MAX: the overall exposure score of `systemd-analyze security`, 0 (locked
# down) to 10 (unprotected); fails above MAX.
exposure() {
  local file=$1 label=$2 max=$3 score
  SYSTEMD_LOG_COLOR=0 "$sa" security --offline=true --no-pager "$file" >"$work/security.log" 2>&1 || true
  score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$work/security.log")
  [ -n "$score" ] || { cat "$work/security.log"; fail "no exposure score for $label"; }
  echo "exposure $label: $score (fail above $max); not protected:"
  grep -E "^✗" "$work/security.log" | sed -E 's/[[:space:]]+/ /g; s/^/  /' || true
  awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }' ||
    fail "$label: exposure $score is above $max: a sandboxing setting was weakened"
}
exposure "$units/relaisd.service" "relaisd.service" "$max_exposure"
exposure "$work/variant/relaisd.service" "relaisd.service (443 variant)" "$max_exposure"
exposure "$units/relais-backup.service" "relais-backup.service" "$max_exposure"
echo "PASS: deploy/systemd units"
