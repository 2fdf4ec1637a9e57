#!/usr/bin/env bash
# Install everything (scripts/setup.sh --dev), then lint, type-check and run the whole suite.
# The tests start and stop their own private PostGIS cluster in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
echo "== ruff check";  .venv/bin/ruff check .
echo "== ruff format"; .venv/bin/ruff format --check .
echo "== mypy";        .venv/bin/mypy
echo "== pytest";      .venv/bin/python -m pytest "$@"
