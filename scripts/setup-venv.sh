#!/usr/bin/env bash
# Create (or update) the Python venv the test and bench scripts use, outside the clone.
#   LAKEHOUSE_VENV   where it lives (default /var/tmp/lakehouse-venv)
# Prints nothing on stdout; progress goes to stderr. Safe to run again: it only installs when
# scripts/requirements-test.txt changed since the last run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${LAKEHOUSE_VENV:-/var/tmp/lakehouse-venv}
requirements="$here/requirements-test.txt"
stamp="$venv/.lakehouse-requirements"

if [ ! -x "$venv/bin/python" ]; then
  echo "setup-venv: creating $venv" >&2
  python3 -m venv "$venv" >&2
fi
if [ -f "$stamp" ] && cmp -s "$stamp" "$requirements"; then
  exit 0
fi
echo "setup-venv: installing $(grep -v '^#' "$requirements" | xargs) into $venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
cp "$requirements" "$stamp"
