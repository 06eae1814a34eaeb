#!/usr/bin/env bash
# Sets up .venv and serves the app on its embedded defaults (no key, no network needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh requirements.txt
exec .venv/bin/python app.py "$@"
