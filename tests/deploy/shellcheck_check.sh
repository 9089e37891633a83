#!/usr/bin/env bash
# lint.deploy.shellcheck: ShellCheck on the deploy scripts and these test scripts, at every
# severity. Exit 77 (ctest: skipped) when shellcheck is not installed.
# Usage: shellcheck_check.sh SOURCE_DIR
set -euo pipefail
source_dir=$1
if ! command -v shellcheck >/dev/null; then
  echo "SKIP: shellcheck is not installed (Debian package shellcheck)"
  exit 77
fi
cd "$source_dir"
files=(deploy/install.sh deploy/systemd/relais-backup.sh tests/deploy/*.sh)
shellcheck --external-sources "${files[@]}"
echo "PASS: shellcheck on ${#files[@]} scripts"
