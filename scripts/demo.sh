#!/usr/bin/env bash
# Quick start (a): set up and run the main job end to end on the embedded default (DuckDB, bundled data).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/aipl demo --workspace "${1:-aipl-demo}"
