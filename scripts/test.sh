#!/usr/bin/env bash
# Sets up everything the suite needs (pinned pip packages, Debian's chromium and docker.io,
# a running dockerd) and runs lint plus the whole test suite. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh requirements-dev.txt
scripts/system-deps.sh
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest "$@"
