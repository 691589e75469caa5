"""Where a result came from: package versions, git commit, command line and time.

:func:`provenance` is stored with every run directory (``provenance.json``) and every experiment
record (``record["provenance"]``), so a result found months later says what produced it.

Examples
--------
>>> p = provenance(argv=["sculpt", "run", "reused"])
>>> sorted(p)
['argv', 'commit', 'python', 'time', 'versions']
"""
from __future__ import annotations

import datetime
import functools
import platform
import subprocess
import sys
from pathlib import Path


_command_line: list[str] | None = None


def set_command_line(argv: list[str] | None) -> None:
    """What :func:`provenance` records as ``argv`` (the ``sculpt`` command sets it; default ``sys.argv``)."""
    global _command_line
    _command_line = None if argv is None else [str(a) for a in argv]


def versions() -> dict:
    """Versions of sculpt, torch, numpy and Python (torch is imported: it is what trains)."""
    import numpy
    import torch

    import sculpt

    return {"sculpt": sculpt.__version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the checkout ``sculpt`` is imported from, "+dirty" if it has changes; None
    outside a git checkout or without git (never an error)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def provenance(argv: list[str] | None = None) -> dict:
    """A small JSON-ready record of what produced a result.

    Parameters
    ----------
    argv : list of str, optional
        The command line (default: the one :func:`set_command_line` was given, else ``sys.argv``).

    Returns
    -------
    dict
        ``versions`` (:func:`versions`), ``commit`` (:func:`git_commit`, or None), ``argv``,
        ``python`` (the interpreter path) and ``time`` (UTC, ISO 8601, seconds).
    """
    if argv is None:
        argv = _command_line if _command_line is not None else sys.argv
    return {"versions": versions(), "commit": git_commit(), "argv": list(argv),
            "python": sys.executable,
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
