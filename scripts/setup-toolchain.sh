#!/usr/bin/env bash
# Installs the pinned EZKL compile toolchain into a project-local virtualenv (.venv/).
# The prover/verifier in Node is @ezkljs/engine 21.0.0 (npm); EZKL's formats are bincode locked
# to the exact version, so the Python toolchain that compiles models must be ezkl 21.0.0 too.
# Idempotent: a marker file records the pinned versions; a second run returns at once.
# Override the interpreter with PYTHON=/path/to/python3, the folder with VERITY_VENV=DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

EZKL_VERSION="21.0.0"
VENV="${VERITY_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
MARKER="$VENV/.verity-toolchain"
WANT="ezkl==$EZKL_VERSION"

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ] && [ -x "$VENV/bin/python" ]; then
  echo "setup-toolchain: $WANT already installed in $VENV"
  exit 0
fi

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup-toolchain: $PYTHON not found; install Python >= 3.8 with venv (Debian: apt-get install python3-venv)" >&2
  exit 1
fi

echo "setup-toolchain: creating $VENV with $("$PYTHON" --version 2>&1)"
if ! "$PYTHON" -m venv "$VENV"; then
  echo "setup-toolchain: '$PYTHON -m venv' failed; on Debian/Ubuntu install python3-venv" >&2
  exit 1
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$WANT"
"$VENV/bin/python" - <<PY
import importlib.metadata as m
v = m.version("ezkl")
assert v == "$EZKL_VERSION", f"installed ezkl {v}, wanted $EZKL_VERSION"
import ezkl  # noqa: F401  (the native module loads)
print(f"setup-toolchain: ezkl {v} ready")
PY
echo "$WANT" > "$MARKER"
