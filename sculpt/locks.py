"""One writer per output: an exclusive, non-blocking lock beside or inside an output directory.

``sculpt run --out OUT`` locks ``.OUT.lock`` beside ``OUT`` (the run directory itself appears only
at the end), ``sculpt grid --out OUT`` locks ``OUT/.lock``. A second process asking for the same
lock is refused at once with :class:`sculpt.errors.OutputError`, before it does any work. The lock
is an OS file lock (``flock`` via the ``filelock`` package), so it dies with its process: a killed
run never leaves a stale lock behind, only (after ``kill -9``) an empty lock file that the next
run takes over.

The lock file is removed on release, while still locked. That is safe because a lock is only
counted once the file it was taken on is still the one at the lock's path: a process that opened
the file just before it was removed, and gets its lock just after, finds the path gone (or naming
a newer file) and tries again on the current one.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sculpt.atomic import output_error
from sculpt.errors import OutputError

ATTEMPTS = 5  # takes over a lock file removed under us; more than a few in a row means a fight


class _Stale(Exception):
    """The locked file is no longer the one at the lock's path."""


def _still_named(lock_path: Path):
    """``on_acquired`` check: the locked descriptor is the file now at ``lock_path``."""
    def check(fd: int) -> None:
        try:
            named = os.stat(lock_path)
        except FileNotFoundError:
            raise _Stale() from None
        if (named.st_dev, named.st_ino) != (os.fstat(fd).st_dev, os.fstat(fd).st_ino):
            raise _Stale()
    return check


def _acquire(lock_path: Path, target):
    from filelock import FileLock, Timeout

    for _ in range(ATTEMPTS):
        lock = FileLock(str(lock_path), timeout=0, on_acquired=_still_named(lock_path))
        try:
            lock.acquire()
        except Timeout:
            raise OutputError(f"{target} is being written by another sculpt process (lock {lock_path}); "
                              "wait for it to finish or choose another output") from None
        except _Stale:
            continue
        return lock
    raise OutputError(f"{target}: its lock {lock_path} was replaced {ATTEMPTS} times while taking it; "
                      "another process is competing for this output")


@contextmanager
def exclusive_output(lock_path: str | Path, target: str | Path) -> Iterator[Path]:
    """Hold the lock at ``lock_path`` for writing ``target``, or refuse at once.

    Parameters
    ----------
    lock_path : path
        The lock file (created with its directory when missing, removed on release).
    target : path
        What is being written, named in the refusal.

    Raises
    ------
    OutputError
        Another process holds the lock, or the lock file cannot be created.
    """
    lock_path = Path(lock_path)
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = _acquire(lock_path, target)
    except OutputError:
        raise
    except OSError as exc:
        raise output_error(target, exc) from None
    try:
        yield lock_path
    finally:
        try:
            lock_path.unlink(missing_ok=True)  # while still locked: see the module docstring
        finally:
            lock.release()
