#!/usr/bin/env bash
# Quick start (b): set up and run the whole test suite (lint included; the Spark parity test needs Java 17).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v java >/dev/null 2>&1; then
  echo "Java not found: installing openjdk-17-jre-headless for the Spark parity test ..." >&2
  if [ "$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless) >&2
  else sudo apt-get update -qq && sudo apt-get install -y -qq openjdk-17-jre-headless >&2; fi
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "Chromium not found: installing Debian's chromium for the dashboard's browser tests ..." >&2
  if [ "$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq chromium) >&2
  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >&2; fi
fi
scripts/setup.sh dev
.venv/bin/ruff check src tests bench
.venv/bin/lint-imports  # the layer contract of pyproject.toml [tool.importlinter] (docs/architecture.md)
# two workers (the machine has 2 cores); a file's tests stay on one worker, so module fixtures are built once;
# the slowest files start first (tests/conftest.py SLOW_FIRST)
.venv/bin/python -m pytest -q -n "${AIPL_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
