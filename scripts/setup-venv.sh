#!/usr/bin/env bash
# Creates .venv (Python 3.11+) and installs the pinned requirements; a second call reuses it.
# Usage: scripts/setup-venv.sh requirements.txt|requirements-dev.txt
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -c 'import sys; assert sys.version_info >= (3, 11), "graphwright needs Python >= 3.11"'
  "$py" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$req")-$(cat requirements*.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
fi
if [ ! -f .venv/.editable ] || [ pyproject.toml -nt .venv/.editable ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e . && touch .venv/.editable
fi
