"""One writer per output: an exclusive, non-blocking lock beside or inside an output directory.

``sculpt run --out OUT`` locks ``.OUT.lock`` beside ``OUT`` (the run directory itself appears only
at the end), ``sculpt grid --out OUT`` locks ``OUT/.lock``. A second process asking for the same
lock is refused at once with :class:`sculpt.errors.OutputError`, before it does any work. The lock
is an OS file lock (``flock`` via the ``filelock`` package), so it dies with its process: a killed
run never leaves a stale lock behind. The small lock file itself stays (removing it on release
would let two processes lock two different files of the same name).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sculpt.atomic import output_error
from sculpt.errors import OutputError


@contextmanager
def exclusive_output(lock_path: str | Path, target: str | Path) -> Iterator[Path]:
    """Hold the lock at ``lock_path`` for writing ``target``, or refuse at once.

    Parameters
    ----------
    lock_path : path
        The lock file (created with its directory when missing).
    target : path
        What is being written, named in the refusal.

    Raises
    ------
    OutputError
        Another process holds the lock, or the lock file cannot be created.
    """
    from filelock import FileLock, Timeout

    lock_path = Path(lock_path)
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path), timeout=0)
        lock.acquire()
    except Timeout:
        raise OutputError(f"{target} is being written by another sculpt process (lock {lock_path}); "
                          "wait for it to finish or choose another output") from None
    except OSError as exc:
        raise output_error(target, exc) from None
    try:
        yield lock_path
    finally:
        lock.release()
