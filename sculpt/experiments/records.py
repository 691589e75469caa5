"""Trial records: one JSON object per line, appended and fsync'ed line by line.

A process killed at any moment (even ``kill -9``) leaves at worst one incomplete last line. The
reader tolerates exactly that and reports it; an unreadable line anywhere else is an error. A
writer opened for resuming cuts such a torn tail off first so new lines start on a fresh line.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from sculpt.errors import SnapshotError


@dataclass
class RecordsFile:
    """What :func:`read_records` found.

    Attributes
    ----------
    records : list of dict
        Every complete record, in file order.
    torn_tail : str or None
        The incomplete last line (as text) left by a killed writer, or None.
    torn_offset : int or None
        Byte offset where the torn tail starts (the size the file has once it is cut off).
    """

    records: list[dict] = field(default_factory=list)
    torn_tail: str | None = None
    torn_offset: int | None = None

    def describe_torn_tail(self, path: str | Path) -> str:
        """A one-line note about the torn tail (empty when there is none)."""
        if self.torn_tail is None:
            return ""
        preview = self.torn_tail[:60] + ("..." if len(self.torn_tail) > 60 else "")
        return (f"{path}: ignoring an incomplete last line ({len(self.torn_tail.encode())} bytes at "
                f"offset {self.torn_offset}, left by an interrupted writer): {preview!r}")


def read_records(path: str | Path) -> RecordsFile:
    """Read a records file, tolerating (and reporting) a torn last line.

    Parameters
    ----------
    path : path-like
        A JSONL file; a missing file reads as empty.

    Returns
    -------
    RecordsFile

    Raises
    ------
    SnapshotError
        A line other than the last is not a JSON object (the file was edited or is not a records
        file); the message names the file and line number.
    """
    path = Path(path)
    from functiongraphs.safe_read import read_regular_bytes

    try:
        data = read_regular_bytes(path)  # a FIFO or a device is refused, never read
    except FileNotFoundError:
        return RecordsFile()
    except OSError as exc:
        raise SnapshotError(f"cannot read records {path}: {exc.strerror or exc}") from None
    return parse_records(data, path)


def parse_records(data: bytes, path: str | Path) -> RecordsFile:
    """:func:`read_records` on the bytes of a records file; ``path`` names it in messages."""
    result = RecordsFile()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, else a line never finished
    offset = 0
    for number, raw in enumerate(lines, start=1):
        record = _parse_line(raw)
        if record is None:
            if number == len(lines) and not tail:
                # The last line is garbage (e.g. zero-filled after a crash): same as unfinished.
                tail = raw
                break
            raise SnapshotError(f"{path}:{number}: not a JSON record; the file is damaged or is not a records file")
        result.records.append(record)
        offset += len(raw) + 1
    if tail:
        result.torn_tail = tail.decode("utf-8", errors="replace")
        result.torn_offset = offset
    return result


def read_packed_records(path: Path) -> RecordsFile:
    """A gzip-compressed records file (``records.jsonl.gz``), read like the plain one.

    Raises
    ------
    SnapshotError
        Whatever :func:`unpack_records` refuses; then whatever :func:`read_records` refuses.
    """
    return parse_records(unpack_records(path), path)


def unpack_records(path: Path) -> bytes:
    """The bytes of a gzip-compressed records file, checked before and while unpacking.

    Raises
    ------
    SnapshotError
        Missing, not a regular file, a corrupt gzip stream, or more data than half the available
        memory (a gzip bomb).
    """
    import gzip
    import io
    import zlib

    from functiongraphs.safe_read import read_regular_bytes
    from sculpt.memory import available_bytes

    try:
        packed = read_regular_bytes(path)  # a FIFO or a device is refused, never read
    except FileNotFoundError:
        raise SnapshotError(f"records file {path} does not exist") from None
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read ({exc.strerror or exc})") from None
    limit = available_bytes()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(packed)) as stream:
            data = stream.read(-1 if limit is None else limit // 2 + 1)
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a corrupt compressed stream
        raise SnapshotError(f"{path}: not a readable gzip file ({exc})") from None
    if limit is not None and len(data) > limit // 2:
        raise SnapshotError(f"{path}: unpacks to more than half the memory available")
    return data


def _parse_line(raw: bytes) -> dict | None:
    if not raw.strip():
        return None
    from sculpt.json_input import JSONInputError, loads_strict

    try:
        value = loads_strict(raw)  # NaN / Infinity are never written (allow_nan=False): damage
    except JSONInputError:
        return None
    return value if isinstance(value, dict) else None


def finished_ids(records: Iterable[Mapping[str, Any]]) -> set[str]:
    """Ids of the trials that finished successfully (``status == "ok"``)."""
    return {r["trial_id"] for r in records if r.get("status") == "ok" and "trial_id" in r}


class RecordWriter:
    """Appends records to a JSONL file, each line flushed and fsync'ed before :meth:`write` returns.

    Parameters
    ----------
    path : path-like
        The records file (created with its parent directory when missing).
    truncate_at : int or None
        Cut the file to this size first (the offset of a torn tail found by :func:`read_records`).
    """

    def __init__(self, path: str | Path, truncate_at: int | None = None):
        from sculpt.atomic import output_error

        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if truncate_at is not None:
                with open(self.path, "r+b") as handle:
                    handle.truncate(truncate_at)
                    handle.flush()
                    os.fsync(handle.fileno())
            self._handle = open(self.path, "ab", buffering=0)  # unbuffered: a failed write is undone below
        except OSError as exc:
            raise output_error(self.path, exc) from None
        self._sync_directory()

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record as a single line and make it durable.

        Raises
        ------
        OutputError
            The line could not be written (e.g. a full disk); the file is cut back to where it was,
            so no partial line is left behind.
        """
        from sculpt.atomic import output_error

        data = memoryview((json.dumps(record, sort_keys=True, allow_nan=False, separators=(",", ":")) + "\n").encode())
        fd = self._handle.fileno()
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            while data:  # a kill can only ever leave this line incomplete (resume cuts a torn tail)
                data = data[os.write(fd, data):]
            os.fsync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass
            raise output_error(self.path, exc) from None

    def close(self) -> None:
        """Close the file."""
        if not self._handle.closed:
            self._handle.close()

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _sync_directory(self) -> None:
        # Make the file's creation itself durable.
        try:
            fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
