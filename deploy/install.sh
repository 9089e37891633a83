#!/usr/bin/env bash
# Installs a built relaisd onto a Debian 12 host, as deploy/README.md describes:
#   /usr/local/bin/relaisd                     the server (0755)
#   /usr/local/share/relais/web/               the web clients (client-web/dist, else the
#                                              placeholder client-web/site)
#   /usr/local/lib/relais/relais-backup        the backup script run by relais-backup.service
#   /etc/systemd/system/relaisd.service        the hardened unit, and relais-backup.{service,timer}
#   /etc/relais/relais.toml                    deploy/relais.production.toml, only if absent
#                                              (root:relais 0640 in root:relais 0750)
#   /usr/local/share/doc/relais/               this folder's README and the example configs
# and the `relais` system user and group. The state folders (/var/lib/relais and
# /var/lib/relais-backup, relais 0700) are created by systemd when the units first start.
#
# Idempotent: run it again after each build to update. It never overwrites
# /etc/relais/relais.toml, never starts, stops or enables anything; it prints the next steps.
#
# Usage: deploy/install.sh [--root DIR] [--binary PATH] [--web DIR]
#   --root DIR     install under DIR instead of / (a DESTDIR-style prefix, for packaging and
#                  tests): no user is created, no owner is changed, systemctl is not called
#   --binary PATH  the relaisd to install (default: build/server/app/relaisd of this tree)
#   --web DIR      the web clients to install (default: client-web/dist if built, else
#                  client-web/site)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=""
binary="${RELAIS_BUILD_DIR:-$here/build}/server/app/relaisd"
web=""

die() {
  echo "install.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
    --root) [ $# -ge 2 ] || die "--root needs a folder"; root=$2; shift 2 ;;
    --binary) [ $# -ge 2 ] || die "--binary needs a path"; binary=$2; shift 2 ;;
    --web) [ $# -ge 2 ] || die "--web needs a folder"; web=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

if [ -n "$root" ]; then
  mkdir -p "$root"
  root=$(cd "$root" && pwd)
  [ "$root" != / ] || root=""
fi
if [ -z "$web" ]; then
  if [ -f "$here/client-web/dist/index.html" ]; then
    web="$here/client-web/dist"
  else
    web="$here/client-web/site"
  fi
fi
[ -x "$binary" ] || die "no relaisd at $binary: build it first (scripts/build.sh) or give --binary"
[ -f "$web/index.html" ] || die "no web clients at $web (no index.html)"
"$binary" --version >/dev/null || die "$binary does not run here (missing libraries?)"
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo deploy/install.sh), or give --root DIR"
fi

# Everything created here is readable by all unless said otherwise (the config is not).
umask 022
say() { echo "install.sh: $*"; }

# 1. The relais user: a system account with no shell and no home of its own to log into.
if [ -z "$root" ]; then
  if ! getent group relais >/dev/null; then
    groupadd --system relais
    say "created group relais"
  fi
  if ! getent passwd relais >/dev/null; then
    useradd --system --gid relais --home-dir /var/lib/relais --no-create-home \
      --shell /usr/sbin/nologin --comment "Relais server" relais
    say "created user relais"
  fi
fi

# 2. The binary, replaced by a rename so that a running relaisd keeps its old file until it
# restarts (writing over a running executable fails with "Text file busy").
install -d -m 0755 "$root/usr/local/bin"
install -m 0755 "$binary" "$root/usr/local/bin/relaisd.new"
mv -f "$root/usr/local/bin/relaisd.new" "$root/usr/local/bin/relaisd"
say "installed $root/usr/local/bin/relaisd ($("$binary" --version))"

# 3. The web clients: copied next to the old ones, then swapped, so that relaisd never serves a
# half-copied folder.
share="$root/usr/local/share/relais"
install -d -m 0755 "$share"
rm -rf "$share/web.new" "$share/web.old"
cp -R "$web" "$share/web.new"
find "$share/web.new" -type d -exec chmod 0755 {} +
find "$share/web.new" -type f -exec chmod 0644 {} +
if [ -d "$share/web" ]; then mv "$share/web" "$share/web.old"; fi
mv "$share/web.new" "$share/web"
rm -rf "$share/web.old"
say "installed $share/web from $web"

# 4. The backup script and the units (ours: overwritten on update; local changes belong in a
# drop-in, `systemctl edit relaisd`).
install -d -m 0755 "$root/usr/local/lib/relais" "$root/etc/systemd/system"
install -m 0755 "$here/deploy/systemd/relais-backup.sh" "$root/usr/local/lib/relais/relais-backup"
for unit in relaisd.service relais-backup.service relais-backup.timer; do
  install -m 0644 "$here/deploy/systemd/$unit" "$root/etc/systemd/system/$unit"
done
say "installed the units in $root/etc/systemd/system"

# 5. Documentation (deploy/README.md, the config reference and the examples), which the
# units' Documentation= points to.
doc="$root/usr/local/share/doc/relais"
install -d -m 0755 "$doc"
install -m 0644 "$here/deploy/README.md" "$doc/README.md"
install -m 0644 "$here/config/README.md" "$doc/config-reference.md"
install -m 0644 "$here/deploy/relais.production.toml" "$doc/relais.production.toml"
install -m 0644 "$here/config/relais.example.toml" "$doc/relais.example.toml"
install -m 0644 "$here/deploy/nginx/relais.conf" "$doc/nginx-relais.conf"

# 6. The config: root writes it, relais reads it, nobody else sees it (it names the
# certificate key and the origins).
conf="$root/etc/relais"
install -d -m 0750 "$conf"
if [ -z "$root" ]; then chown root:relais "$conf"; fi
if [ -e "$conf/relais.toml" ]; then
  say "kept the existing $conf/relais.toml (the new example is $doc/relais.production.toml)"
else
  install -m 0640 "$here/deploy/relais.production.toml" "$conf/relais.toml"
  if [ -z "$root" ]; then chown root:relais "$conf/relais.toml"; fi
  say "installed $conf/relais.toml from deploy/relais.production.toml: edit it"
fi

if [ -n "$root" ]; then
  say "done under $root (no user created, no owner changed, systemctl not called)"
  exit 0
fi

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi

cat <<NEXT

Next steps (deploy/README.md explains each):
  1. Edit /etc/relais/relais.toml: public_url, allowed_origins (the site embedding the widget).
  2. Start relaisd:            systemctl enable --now relaisd
     Check it:                 systemctl status relaisd; journalctl -u relaisd
  3. nginx in front (deploy/nginx/relais.conf): once relaisd has created its certificate,
       install -m 0644 /var/lib/relais/tls/cert.pem /etc/nginx/relais-upstream.pem
     then nginx -t && systemctl reload nginx
  4. Daily backups:            systemctl enable --now relais-backup.timer
NEXT
if [ -d /run/systemd/system ] && systemctl is-active --quiet relaisd; then
  echo "  relaisd is running the previous version: systemctl restart relaisd"
fi
