#!/usr/bin/env bash
# lint.deploy.backup: deploy/systemd/relais-backup.sh (what relais-backup.service runs) with a
# stub relaisd: it calls `relaisd --config FILE backup DEST` with a dated DEST in a 0700
# folder, keeps the newest N backups and deletes only files named like its own backups; a
# failed backup deletes nothing and fails the unit. The real `relaisd backup` is tested with
# the store; this checks the rotation around it.
# Usage: backup_check.sh SOURCE_DIR
# shellcheck disable=SC2012 # ls on the fixed test file names below is fine
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source_dir=$(realpath "$1")
script="$source_dir/deploy/systemd/relais-backup.sh"
[ -x "$script" ] || fail "$script is not executable"

make_work
dir="$work/backups"
mkdir -p "$dir"
chmod 0755 "$dir" # too open: the script must close it
# Ten older backups, and files the rotation must never touch.
for day in 01 02 03 04 05 06 07 08 09 10; do
  echo old >"$dir/relais-202001${day}T031500Z.db"
done
echo keep >"$dir/notes.txt"
echo keep >"$dir/relais-manual-copy.db"
echo keep >"$dir/relais-20200101T031500Z.db.gz"

# The stub records its arguments and writes DEST like `relaisd backup` would.
cat >"$work/relaisd-stub" <<'STUB'
#!/usr/bin/env bash
printf '%s\n' "$*" >>"$STUB_LOG"
[ "${STUB_FAIL:-0}" = 1 ] && { echo "stub: backup failed" >&2; exit 1; }
[ "$3" = backup ] || exit 3
echo "SQLite format 3" >"$4"
STUB
chmod +x "$work/relaisd-stub"
export RELAISD="$work/relaisd-stub" STUB_LOG="$work/stub.log"

echo "== a backup, keeping 4"
"$script" --config /etc/relais/relais.toml --dir "$dir" --keep 4 >"$work/run1.out" 2>&1 ||
  { cat "$work/run1.out"; fail "relais-backup failed"; }
cat "$work/run1.out"
args=$(tail -n 1 "$STUB_LOG")
[[ "$args" =~ ^--config\ /etc/relais/relais.toml\ backup\ $dir/relais-[0-9]{8}T[0-9]{6}Z\.db$ ]] ||
  fail "relaisd was called as '$args', expected '--config FILE backup DIR/relais-<UTC time>.db'"
new=${args##* }
[ -s "$new" ] || fail "the new backup $new is missing"
[ "$(stat -c %a "$dir")" = 700 ] || fail "backup folder mode is $(stat -c %a "$dir"), expected 700"
[ "$(stat -c %a "$new")" = 600 ] || fail "backup file mode is $(stat -c %a "$new"), expected 600"
kept=$(cd "$dir" && ls relais-*Z.db | sort | paste -sd' ')
expected="relais-20200108T031500Z.db relais-20200109T031500Z.db relais-20200110T031500Z.db $(basename "$new")"
[ "$kept" = "$expected" ] || fail "kept '$kept', expected the newest 4: '$expected'"
for f in notes.txt relais-manual-copy.db relais-20200101T031500Z.db.gz; do
  [ -e "$dir/$f" ] || fail "the rotation deleted $f, which is not one of its backups"
done
echo "ok: dated backup in a 0700 folder, newest 4 kept, other files untouched"

echo "== a failed backup deletes nothing"
before=$(ls "$dir" | sort)
status=0
STUB_FAIL=1 "$script" --dir "$dir" --keep 1 >"$work/run2.out" 2>&1 || status=$?
[ $status -ne 0 ] || fail "relais-backup exited 0 although relaisd backup failed"
[ "$(ls "$dir" | sort)" = "$before" ] || fail "a failed backup changed the folder"
echo "ok: exit status $status, nothing deleted"

echo "== bad --keep is refused"
status=0
"$script" --dir "$dir" --keep 0 >"$work/run3.out" 2>&1 || status=$?
[ $status -eq 2 ] || fail "--keep 0 gave status $status, expected 2"
[ "$(ls "$dir" | sort)" = "$before" ] || fail "a refused run changed the folder"
echo "ok"
echo "PASS: relais-backup rotation"
