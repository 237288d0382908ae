#!/usr/bin/env bash
# Checks that the moto AWS emulator (server mode) is installed for python3.
set -euo pipefail
PY="${LBSG_PYTHON:-python3}"
if ! command -v "$PY" >/dev/null; then
  echo "[moto] $PY not found: install Python 3 and then: pip install 'moto[server]'" >&2
  exit 1
fi
if ! "$PY" -c 'import moto, flask, werkzeug' 2>/dev/null; then
  echo "[moto] the moto AWS emulator is not installed for $PY: pip install 'moto[server]' (moto 5.x)" >&2
  exit 1
fi
echo "[moto] $("$PY" -c 'import moto; print("moto", moto.__version__)') found for $PY" >&2
