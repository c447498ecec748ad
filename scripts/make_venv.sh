#!/usr/bin/env bash
# Create the project venv with CPython 3.10 (the repository's .python-version).
# wasmer 1.1.0 ships native wheels only up to 3.10: a venv on 3.11+ would get a
# stub wasmer that cannot be imported. An existing venv on the wrong Python is
# replaced.
set -euo pipefail
venv="${1:-.venv}"
want="$(cat "$(dirname "$0")/../.python-version")"   # e.g. 3.10.13
want_mm="${want%.*}"                                  # 3.10

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want_mm' else 1)"; then
  exit 0
fi

candidates=()
command -v pyenv >/dev/null 2>&1 && candidates+=("$(pyenv prefix "$want" 2>/dev/null)/bin/python3")
candidates+=("${PYENV_ROOT:-$HOME/.pyenv}/versions/$want/bin/python3" "$(command -v "python$want_mm" || true)" "$(command -v python3 || true)")
for py in "${candidates[@]}"; do
  [ -n "$py" ] && [ -x "$py" ] || continue
  if "$py" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want_mm' else 1)"; then
    rm -rf "$venv"
    echo "creating $venv with $py ($("$py" --version))"
    "$py" -m venv "$venv"
    exit 0
  fi
done
echo "make_venv.sh: no Python $want_mm found (tried: ${candidates[*]}); install it, e.g. 'pyenv install $want'" >&2
exit 1
