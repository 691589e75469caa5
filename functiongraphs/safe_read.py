"""Reading a user's file without trusting it: regular files only, strict UTF-8, a size limit.

Opening a FIFO blocks until someone writes to it, and ``/dev/zero`` never ends; both are refused
before a single byte is read. The file is opened with ``O_NONBLOCK`` (so a FIFO does not block
the ``open`` itself) and checked with ``fstat`` on the open descriptor, so a file swapped after
the check cannot slip through. Every refusal is an :class:`OSError` (with ``strerror`` set), the
exception every reader already turns into its own one-line error.

Examples
--------
>>> import os, tempfile
>>> d = tempfile.mkdtemp(); fifo = os.path.join(d, "net.npz"); os.mkfifo(fifo)
>>> read_regular_bytes(fifo)
Traceback (most recent call last):
...
OSError: [Errno 22] not a regular file (a FIFO): '...net.npz'
"""
from __future__ import annotations

import errno
import os
import stat

BOM = "\ufeff"

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a plain file"


def read_regular_bytes(path: str | os.PathLike, max_bytes: int | None = None) -> bytes:
    """The whole content of a regular file.

    Parameters
    ----------
    path : path-like
    max_bytes : int, optional
        Refuse a larger file before reading it.

    Returns
    -------
    bytes

    Raises
    ------
    OSError
        The file is missing or unreadable, is not a regular file (FIFO, device, socket,
        directory), or is larger than ``max_bytes``; ``strerror`` says which.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"not a regular file ({_kind(info.st_mode)})", os.fspath(path))
        if max_bytes is not None and info.st_size > max_bytes:
            raise OSError(errno.EFBIG, f"file of {info.st_size} bytes is larger than the {max_bytes} bytes allowed",
                          os.fspath(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_text(data: bytes, path: str | os.PathLike) -> str:
    """Strict UTF-8 text with a leading byte-order mark dropped and CR / CRLF line ends made LF.

    Raises
    ------
    UnicodeDecodeError
        Re-raised with ``reason`` naming the line and column of the first bad byte.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UnicodeDecodeError(exc.encoding, exc.object, exc.start, exc.end,
                                 f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {col}"
                                 ) from None
    return normalise_text(text)


def normalise_text(text: str) -> str:
    """Drop one leading byte-order mark; CRLF and lone CR become LF (the rule for every text reader)."""
    if text.startswith(BOM):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: str | os.PathLike, max_bytes: int | None = None) -> str:
    """:func:`read_regular_bytes` then :func:`decode_text`."""
    return decode_text(read_regular_bytes(path, max_bytes=max_bytes), path)
