#!/usr/bin/env bash
# lint.deploy.container: what can be checked of deploy/container/Containerfile without a
# container engine (none runs where the tests run, so the image is never built here):
#  - both stages start from Debian 12 (bookworm);
#  - every file the build stage COPYs from the context exists in the source tree;
#  - every shared library the built relaisd needs (ldd) comes from a package the runtime
#    stage installs, or from one that debian:bookworm-slim already has;
#  - every package the runtime stage installs exists in Debian 12 (apt-cache);
#  - the runtime stage runs as a non-root user, and EXPOSE, CMD --listen and the
#    HEALTHCHECK agree on the port; CMD runs the installed binary with the installed config.
# Usage: container_check.sh RELAISD SOURCE_DIR
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
relaisd=$(realpath "$1")
source_dir=$(realpath "$2")
file="$source_dir/deploy/container/Containerfile"
[ -f "$file" ] || fail "$file not found"
[ -f "$source_dir/deploy/container/Containerfile.dockerignore" ] || fail "Containerfile.dockerignore not found"

make_work
# One instruction per line: comments dropped, continuation lines joined.
grep -v '^[[:space:]]*#' "$file" | sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' >"$work/instructions"
# The runtime stage: everything after the last FROM.
last_from=$(grep -n '^FROM ' "$work/instructions" | tail -n 1 | cut -d: -f1)
tail -n +"$last_from" "$work/instructions" >"$work/runtime"

echo "== base images"
grep -q '^ARG DEBIAN=debian:bookworm-slim$' "$work/instructions" || fail "no 'ARG DEBIAN=debian:bookworm-slim'"
while read -r _ image _; do
  # shellcheck disable=SC2016 # the literal text ${DEBIAN}
  [ "$image" = '${DEBIAN}' ] || fail "a stage starts FROM $image, expected \${DEBIAN} (Debian 12)"
done < <(grep '^FROM ' "$work/instructions")
echo "ok: every stage is \${DEBIAN} = debian:bookworm-slim"

echo "== COPY sources"
while read -r line; do
  # shellcheck disable=SC2086 # word splitting of the instruction is the point
  set -- $line
  shift
  while [ $# -gt 0 ] && [ "${1#--}" != "$1" ]; do
    case $1 in --from=*) continue 2 ;; esac
    shift
  done
  while [ $# -gt 1 ]; do
    [ -e "$source_dir/$1" ] || fail "COPY $1: not in the source tree"
    shift
  done
done < <(grep '^COPY ' "$work/instructions")
echo "ok: every COPY source exists"

echo "== runtime libraries"
install_line=$(grep -o 'apt-get install [^&]*' "$work/runtime" | head -n 1)
[ -n "$install_line" ] || fail "no 'apt-get install' in the runtime stage"
packages=$(echo "$install_line" | tr ' ' '\n' | sed -n '3,$p' | grep -v '^-' | grep -v '^$' | sort -u)
echo "runtime stage installs: $(echo "$packages" | paste -sd' ')"
# One apt-cache call for all of them (each call loads the package lists).
# shellcheck disable=SC2086 # one package name per word
known=$(apt-cache show --no-all-versions $packages 2>/dev/null | sed -n 's/^Package: //p' | sort -u)
for p in $packages; do
  echo "$known" | grep -qxF "$p" || fail "package $p (runtime stage) is not in Debian 12's package lists"
done
# What debian:bookworm-slim already has of what relaisd links to (Essential and apt's needs).
base="libc6 libgcc-s1 libstdc++6 zlib1g libzstd1 liblzma5"
# One dpkg -S for all libraries (each call reads the whole dpkg database). Debian 12 is
# usrmerged: dpkg knows a library under /lib or /usr/lib, so both names are asked.
mapfile -t libs < <(ldd "$relaisd" | awk '/=> \// { print $3 }')
[ ${#libs[@]} -gt 0 ] || fail "ldd found no shared library in $relaisd"
names=()
for lib in "${libs[@]}"; do
  real=$(readlink -f "$lib")
  names+=("$real" "${real#/usr}")
done
dpkg -S "${names[@]}" >"$work/owners" 2>/dev/null || true
missing=""
for lib in "${libs[@]}"; do
  real=$(readlink -f "$lib")
  owner=$(awk -F': ' -v a="$real" -v b="${real#/usr}" '$2 == a || $2 == b { sub(/:.*/, "", $1); print $1; exit }' "$work/owners")
  [ -n "$owner" ] || fail "no Debian package owns $lib (relaisd links to it)"
  echo "  $lib <- $owner"
  if ! echo "$packages $base" | tr ' ' '\n' | grep -qxF "$owner"; then
    missing="$missing $owner"
  fi
done
[ -z "$missing" ] || fail "relaisd needs$missing, which the runtime stage does not install"
echo "ok: every library relaisd links to is installed"

echo "== user, port, command"
user=$(grep '^USER ' "$work/runtime" | tail -n 1 | awk '{ print $2 }')
case $user in '' | root | 0 | 0:*) fail "the runtime stage runs as '${user:-root}', expected a non-root user" ;; esac
port=$(grep '^EXPOSE ' "$work/runtime" | awk '{ print $2 }')
[ -n "$port" ] || fail "no EXPOSE"
grep '^CMD ' "$work/runtime" | grep -qF '"--listen", "0.0.0.0:'"$port"'"' || fail "CMD does not --listen on 0.0.0.0:$port"
grep '^HEALTHCHECK ' "$work/runtime" | grep -qF "https://127.0.0.1:$port/healthz" || fail "HEALTHCHECK does not probe port $port /healthz"
grep '^CMD ' "$work/runtime" | grep -qF '["/usr/local/bin/relaisd", "--config", "/etc/relais/relais.toml"' ||
  fail "CMD does not run /usr/local/bin/relaisd --config /etc/relais/relais.toml"
grep -q '^VOLUME /var/lib/relais$' "$work/runtime" || fail "no VOLUME /var/lib/relais"
grep -q '^data_dir = "/var/lib/relais"$' "$source_dir/deploy/relais.production.toml" ||
  fail "the image's config (deploy/relais.production.toml) does not use /var/lib/relais"
echo "ok: user $user, port $port, CMD and HEALTHCHECK agree"
echo "PASS: deploy/container/Containerfile (static checks; the image itself is not built here)"
