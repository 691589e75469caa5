"""Write files so that a reader never sees a half-written one: a temporary file, then a rename.

Every file the toolkit writes (snapshots, run directories, records' side files, reports, drawings)
goes through here, so an interrupted run (Ctrl-C, kill) leaves either the old file or the new one.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, IO


def write_atomic(target: str | os.PathLike, write: Callable[[IO], Any], *, text: bool = False) -> Path:
    """Call ``write(file)`` on a temporary file beside ``target``, then rename it to ``target``.

    The temporary file is removed if ``write`` fails or the process is interrupted.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as fh:
            write(fh)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> Path:
    return write_atomic(target, lambda fh: fh.write(data))


def write_text_atomic(target: str | os.PathLike, text: str) -> Path:
    return write_atomic(target, lambda fh: fh.write(text), text=True)


def write_json_atomic(target: str | os.PathLike, payload: Any, indent: int = 1) -> Path:
    """``payload`` as indented JSON (one trailing newline)."""
    return write_text_atomic(target, json.dumps(payload, indent=indent) + "\n")
