#!/usr/bin/env bash
# Create .venv (once) and install aipl into it. Usage: scripts/setup.sh [extras], e.g. "dev".
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
spec="."
[ -n "${1:-}" ] && spec=".[$1]"
stamp=".venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)-${1:-base}"
if [ ! -f "$stamp" ]; then
  echo "installing aipl${1:+ with [$1]} into .venv (first run takes a few minutes) ..." >&2
  .venv/bin/python -m pip install --quiet -c constraints.txt -e "$spec"
  touch "$stamp"
fi
