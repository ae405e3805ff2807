#!/usr/bin/env bash
# Install parlai-prosocial and its pinned dependencies into the virtualenv VENV (default .venv).
# Usage: scripts/install.sh [VENV] [--editable]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
editable=
for arg in "$@"; do
  case "$arg" in
    --editable) editable=-e ;;
    *) venv=$arg ;;
  esac
done
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
# torch first and pinned: any unpinned resolve pulls a multi-GB CUDA build
"${pip[@]}" install -q torch==2.13.0
"${pip[@]}" install -q --no-deps -r requirements/lock.txt
# setuptools (the build backend) comes from the lock, so the build itself needs no index
"${pip[@]}" install -q --no-deps --no-build-isolation $editable .
"$venv/bin/python" -c "import parlai.utils.testing, parlai_prosocial.plugin_hook" \
  || { echo "install check failed: see above" >&2; exit 1; }
echo "installed parlai-prosocial into $venv"
