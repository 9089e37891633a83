#!/usr/bin/env bash
# relais-backup: one online backup of the Relais store with `relaisd backup`, then keeps only
# the newest N backups. Run daily by relais-backup.service / relais-backup.timer as the relais
# user; deploy/install.sh installs it as /usr/local/lib/relais/relais-backup.
#
# Usage: relais-backup [--config FILE] [--dir DIR] [--keep N]
#   --config  relaisd's config, to find data_dir (default /etc/relais/relais.toml)
#   --dir     folder of the backups, made 0700 (default /var/lib/relais-backup)
#   --keep    how many backups to keep, newest first (default $RELAIS_BACKUP_KEEP or 14)
# RELAISD overrides the relaisd binary (default /usr/local/bin/relaisd; the tests use a stub).
#
# Backups are named relais-YYYYMMDDTHHMMSSZ.db (UTC), so their names sort by age. Only files
# with exactly that form are ever deleted. A failed backup deletes nothing.
set -euo pipefail

config=/etc/relais/relais.toml
dir=/var/lib/relais-backup
keep=${RELAIS_BACKUP_KEEP:-14}
relaisd=${RELAISD:-/usr/local/bin/relaisd}

while [ $# -gt 0 ]; do
  case $1 in
    --config) config=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "relais-backup: unknown option $1" >&2; exit 2 ;;
  esac
done
case $keep in
  '' | *[!0-9]* | 0) echo "relais-backup: --keep must be a positive integer, got '$keep'" >&2; exit 2 ;;
esac

# The backups hold everything the store holds (ciphertext and metadata): private to relais.
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"

name="relais-$(date -u +%Y%m%dT%H%M%SZ).db"
"$relaisd" --config "$config" backup "$dir/$name"
if [ ! -s "$dir/$name" ]; then
  echo "relais-backup: relaisd backup succeeded but $dir/$name is missing or empty" >&2
  exit 1
fi
echo "relais-backup: wrote $dir/$name ($(stat -c %s "$dir/$name") bytes)"

# Keep the newest $keep backups; delete older ones, oldest last in the list.
find "$dir" -maxdepth 1 -type f -regextype posix-extended \
  -regex '.*/relais-[0-9]{8}T[0-9]{6}Z\.db' -printf '%f\n' |
  sort -r | tail -n +"$((keep + 1))" |
  while IFS= read -r old; do
    rm -f -- "$dir/$old"
    echo "relais-backup: removed $old (keeping $keep)"
  done
