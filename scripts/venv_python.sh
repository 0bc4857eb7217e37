#!/usr/bin/env bash
# Prints the interpreter `make venv` builds .venv with: $VENV_PYTHON if set, else Python 3.12 (the
# version MWAA 3.3.1 runs) when this machine has one (python3.12 on the PATH, or pyenv's), else python3.
set -euo pipefail

works() { [ -n "$1" ] && "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

if [ -n "${VENV_PYTHON:-}" ]; then
  command -v "$VENV_PYTHON"
  exit 0
fi
pyenv_root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
for candidate in python3.12 "$pyenv_root"/versions/3.12.*/bin/python3.12; do
  if works "$candidate"; then
    # pyenv's shim only forwards to a version that is installed: resolve it to the real binary.
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
command -v python3
