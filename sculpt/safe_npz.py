"""Reading an ``.npz`` archive that may be corrupt or hostile, without ``np.load``.

``np.load`` trusts each member's ``.npy`` header: a header declaring shape (100000, 100000) makes
it allocate 37 GiB before reading the 16 bytes that follow, a bit flip in the compressed stream
escapes as ``zlib.error``, and a FIFO named ``net.npz`` blocks it forever. Here the file is read
as bytes (regular files only, see :mod:`functiongraphs.safe_read`), and for every member the
header is parsed first and checked against the zip directory: the declared shape times the item
size must equal the member's uncompressed size minus its header, so nothing is allocated that
the archive does not really hold, and that size must fit in the available memory. The zip CRC
then guards the content. Object, structured and datetime dtypes are refused (nothing is ever
unpickled).

Examples
--------
>>> import io, numpy as np
>>> buf = io.BytesIO(); np.savez(buf, a=np.arange(3)); arrays = read_npz_bytes(buf.getvalue(), "x.npz")
>>> arrays["a"].tolist()
[0, 1, 2]
"""
from __future__ import annotations

import io
import math
import os
import zipfile
import zlib

import numpy as np

from functiongraphs.safe_read import read_regular_bytes
from sculpt.errors import SnapshotError
from sculpt.memory import available_bytes, format_bytes

ALLOWED_KINDS = "biufcUS"  # bool, integers, floats, complex, unicode and byte strings


def read_npz(path: str | os.PathLike, error=SnapshotError) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, each checked before it is allocated.

    Parameters
    ----------
    path : path-like
    error : exception class
        Raised (with the path in the message) for every problem.

    Returns
    -------
    dict
        Member name without ``.npy`` -> array, in archive order.

    Raises
    ------
    error
        Not a regular file, unreadable, larger than the available memory, not a zip archive,
        corrupt (CRC, compressed stream), a member that is not a plain ``.npy`` array, a shape
        that does not match the member's size, a dtype that needs pickle.
    """
    limit = available_bytes()
    try:
        data = read_regular_bytes(path, max_bytes=limit)
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    return read_npz_bytes(data, str(path), error=error, limit=limit)


def read_npz_bytes(data: bytes, where: str, error=SnapshotError, limit: int | None = None) -> dict[str, np.ndarray]:
    """:func:`read_npz` on the bytes of an archive; ``where`` names it in messages."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise error(f"{where}: not a readable .npz file ({exc})") from None
    arrays: dict[str, np.ndarray] = {}
    budget = limit
    with archive:
        for info in archive.infolist():
            name = info.filename
            if not name.endswith(".npy") or info.is_dir():
                raise error(f"{where}: member {name!r} is not an .npy array")
            key = name[: -len(".npy")]
            if key in arrays:
                raise error(f"{where}: array {key!r} is stored twice")
            if budget is not None and info.file_size > budget:
                raise error(f"{where}: array {key!r} needs {format_bytes(info.file_size)} but only "
                            f"{format_bytes(budget)} of memory is available")
            arrays[key] = _read_member(archive, info, key, where, error)
            if budget is not None:
                budget -= info.file_size
    return arrays


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, where: str, error) -> np.ndarray:
    what = f"{where}: array {key!r}"
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise error(f"{what}: unsupported .npy format version {version}")
            header_size = member.tell()
            _check_header(shape, dtype, what, error)
            count = math.prod(shape)
            nbytes = count * dtype.itemsize
            if nbytes != info.file_size - header_size:
                raise error(f"{what}: header declares shape {shape} of {dtype} ({format_bytes(nbytes)}) but "
                            f"the archive holds {format_bytes(info.file_size - header_size)} of data")
            payload = member.read(nbytes)
            if member.read(1):  # reaching the end makes zipfile check the CRC
                raise error(f"{what}: more data than its header declares")
    except error:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError, SyntaxError, TypeError) as exc:
        # RuntimeError: an encrypted member; ValueError/SyntaxError: a malformed .npy header.
        raise error(f"{what}: corrupt ({type(exc).__name__}: {exc})") from None
    if len(payload) != nbytes:
        raise error(f"{what}: truncated")
    array = np.frombuffer(payload, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def _check_header(shape, dtype: np.dtype, what: str, error) -> None:
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise error(f"{what}: invalid shape {shape!r}")
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in ALLOWED_KINDS:
        raise error(f"{what}: dtype {dtype} is not a plain numeric or string type")
    if dtype.itemsize == 0:
        raise error(f"{what}: dtype {dtype} has no size")
