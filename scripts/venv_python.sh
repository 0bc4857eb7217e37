#!/usr/bin/env bash
# Prints the interpreter `make venv` builds .venv with: $VENV_PYTHON if set, else Python 3.12 (the
# version MWAA 3.3.1 runs) when this machine has one (python3.12 on the PATH, or pyenv's), else python3.
# The code needs Python >= 3.11 (pyproject.toml's requires-python) with its venv module: when the one
# chosen falls short, this says why and how to get one, on stderr in one line, and exits 1.
set -euo pipefail

minimum="$(sed -n 's/^requires-python *= *">=\([0-9.]*\)".*/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../pyproject.toml")"

how="install Python 3.12 (or >= $minimum) with its venv module (Debian 12: apt-get install python3 python3-venv; \
Ubuntu 24.04: apt-get install python3.12-venv; macOS: brew install python@3.12; or pyenv install 3.12), \
or set VENV_PYTHON to one"

# Prints why interpreter $1 cannot build .venv; nothing when it can.
shortfall() {
  "$1" - "$minimum" <<'PY' 2>/dev/null || echo "is not a Python that runs"
import sys
if sys.version_info[:2] < tuple(int(part) for part in sys.argv[1].split(".")):
    print("is Python %d.%d; the code needs >= %s" % (*sys.version_info[:2], sys.argv[1]))
else:
    try:
        import ensurepip, venv  # noqa: F401 -- `python -m venv` needs both
    except ImportError:
        print("has no venv module (Debian/Ubuntu: apt-get install python3-venv)")
PY
}

fail() {
  echo "venv_python.sh: $1; $how" >&2
  exit 1
}

if [ -n "${VENV_PYTHON:-}" ]; then
  found="$(command -v "$VENV_PYTHON")" || fail "VENV_PYTHON=$VENV_PYTHON is not found"
  why="$(shortfall "$found")"
  [ -z "$why" ] || fail "VENV_PYTHON=$VENV_PYTHON $why"
  echo "$found"
  exit 0
fi
pyenv_root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
for candidate in python3.12 "$pyenv_root"/versions/3.12.*/bin/python3.12; do
  if command -v "$candidate" >/dev/null && [ -z "$(shortfall "$candidate")" ]; then
    # pyenv's shim only forwards to a version that is installed: resolve it to the real binary.
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
found="$(command -v python3)" || fail "no python3 on the PATH"
why="$(shortfall "$found")"
[ -z "$why" ] || fail "python3 ($found) $why"
echo "$found"
