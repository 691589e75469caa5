"""Write files so that a reader never sees a half-written one: a temporary file, then a rename.

Every file the toolkit writes (snapshots, run directories, records' side files, reports, drawings)
goes through here, so an interrupted run (Ctrl-C, kill) leaves either the old file or the new one.
A file that cannot be written (read-only directory, full disk, a directory in the way) raises
:class:`sculpt.errors.OutputError` naming it, and nothing is left behind. Files get the mode a
plain ``open(path, "w")`` would give (``0o666`` less the umask), not ``mkstemp``'s ``0o600``.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, IO

from sculpt.errors import OutputError


def current_umask() -> int:
    """The process umask (read by setting it and putting it back: POSIX offers no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def output_error(target: str | os.PathLike, exc: OSError) -> OutputError:
    """One-line :class:`OutputError` for a failed write of ``target``."""
    reason = exc.strerror or str(exc)
    error = OutputError(f"cannot write {target}: {reason}")
    error.errno = exc.errno  # one-argument OSError: str() is the message alone, no "[Errno n]"
    return error


def write_atomic(target: str | os.PathLike, write: Callable[[IO], Any], *, text: bool = False) -> Path:
    """Call ``write(file)`` on a temporary file beside ``target``, then rename it to ``target``.

    The temporary file is removed if ``write`` fails or the process is interrupted.

    Raises
    ------
    OutputError
        The directory cannot be created or written, the disk is full, or ``target`` is a directory.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise output_error(target, exc) from None
    try:
        os.chmod(tmp, 0o666 & ~current_umask())
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as fh:
            write(fh)
        if target.is_dir():  # os.replace would say "Is a directory" only on some systems
            raise IsADirectoryError(21, "is a directory, not a file")
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OutputError):
            raise
        raise output_error(target, exc) from None
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
