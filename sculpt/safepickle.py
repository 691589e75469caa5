"""The project's one pickle reader: it rebuilds numpy arrays and torch tensors, nothing else.

Two data sources we do not control ship as pickles: the classic ``mnist.pkl.gz`` (numpy arrays)
and the paper's repository (``datasets/*.pkl``, ``results/**/_Mask*.pkl`` / ``_Results*.pkl``:
lists of torch tensors, floats and numpy scalars; ``_Model*.pth``: zip-format ``torch.save`` of a
state dict). A normal ``pickle.load`` would run whatever code a tampered file names. This reader
resolves only the handful of globals that array reconstruction needs and maps the torch ones to
our own numpy functions, so torch itself is never called and every tensor comes back as a numpy
array (a copy, in the tensor's dtype and shape). Anything else - ``os.system``, ``eval``, an
unknown class, an object array, a truncated or bit-flipped file - is one :class:`DataError`
naming the file.

Formats understood
------------------
* plain pickles of numpy arrays (``_reconstruct`` + ``__setstate__``, or protocol 5
  ``_frombuffer``), with ``encoding="latin1"`` for Python-2 pickles;
* torch tensors inside a pickle via ``torch.storage._load_from_bytes``: a nested legacy
  ``torch.save`` stream (magic number, protocol, system info, the storage pickle, its keys, then
  per storage an int64 element count and the raw little-endian bytes);
* zip-format ``torch.save`` files (``archive/data.pkl`` with persistent ids naming
  ``archive/data/<key>`` members).

References
----------
.. [1] Python documentation, "pickle - Restricting Globals".
   https://docs.python.org/3/library/pickle.html#restricting-globals
"""
from __future__ import annotations

import collections
import io
import pickle  # only through RestrictedUnpickler below, which resolves a fixed allow-list
import struct
import zipfile
from pathlib import Path

import numpy as np

from sculpt.errors import DataError

# torch storage class name -> numpy dtype of its elements (little-endian, as torch writes them)
_STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "BFloat16Storage": None,
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?",
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_MAX_DIMS = 32


class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co.: only its element dtype matters."""

    def __init__(self, name: str):
        if _STORAGE_DTYPES.get(name) is None:
            raise pickle.UnpicklingError(f"unsupported tensor storage torch.{name}")
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    """A flat array of one torch storage, read from the file's own bytes."""

    def __init__(self, data: np.ndarray):
        self.data = data


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, *_metadata):
    """``torch._utils._rebuild_tensor_v2`` as a numpy copy, with every index checked."""
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("tensor without a storage")
    ints = (offset, *size, *stride)
    if (not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride)
            or len(size) > _MAX_DIMS or not all(type(v) is int for v in ints)
            or min(ints, default=0) < 0):
        raise pickle.UnpicklingError(f"bad tensor geometry size={size!r} stride={stride!r}")
    flat = storage.data
    if 0 in size:
        return np.zeros(size, dtype=flat.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= flat.size:
        raise pickle.UnpicklingError(f"tensor of size {size} reaches element {last} of a "
                                     f"{flat.size}-element storage")
    view = np.lib.stride_tricks.as_strided(flat[offset:], shape=size,
                                           strides=[s * flat.itemsize for s in stride])
    return np.array(view, copy=True)


def _checked_dtype(*args):
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError("object arrays are not allowed")
    return dtype


def _dtype_with_state(dtype: np.dtype, state) -> np.dtype:
    """The dtype a pickled ``dtype.__setstate__`` would make, if it is one numpy itself writes.

    ``dtype.__setstate__`` trusts its flags (a forged one marks plain bytes as object pointers), so
    it is never called: only a byte-order change of a plain dtype is accepted.
    """
    if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
        candidate = dtype.newbyteorder(state[1]) if state[1] != "|" else dtype
        if candidate.__reduce__()[2] == state:
            return candidate
    raise pickle.UnpicklingError(f"unexpected dtype state {state!r:.80}")


def _latin1_bytes(text, encoding):
    """``_codecs.encode``, which protocols 0-2 use to write ``bytes``, for that use only."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("only latin1 bytes may be encoded")
    return text.encode("latin1")


def _frombuffer(buf, dtype, shape, order):
    if not isinstance(buf, (bytes, bytearray)):
        raise pickle.UnpicklingError("array bytes expected")
    # a private bytes copy: no numpy view keeps the unpickler's bytearray alive
    return np.frombuffer(bytes(buf), dtype=_checked_dtype(dtype)).reshape(shape, order=order).copy()


class _NdarrayMarker:
    """Stands in for ``numpy.ndarray`` as a pickled argument, so no opcode can call its constructor."""


def _reconstruct(cls, shape, dtype):
    # numpy pickles an empty placeholder and sets the real shape and bytes with BUILD
    if cls is not _NdarrayMarker or shape != (0,):
        raise pickle.UnpicklingError("only numpy.ndarray can be reconstructed")
    return np.ndarray.__new__(np.ndarray, shape, _checked_dtype(dtype))


def _scalar(dtype, data=None):
    dtype = _checked_dtype(dtype)
    if isinstance(data, str):  # a Python-2 pickle read with encoding="latin1"
        data = data.encode("latin1")
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("bad numpy scalar")
    return np.frombuffer(data, dtype=dtype)[0]


class _LazyFlat(_Storage):
    """A storage whose bytes come after the pickle that names it (the legacy layout)."""

    def __init__(self, flats, key):
        self._flats, self._key = flats, key

    @property
    def data(self):
        return self._flats[self._key]


class _PendingTensor:
    def __init__(self, args):
        self.args = args


def _resolve_lazy(obj):
    """Build pending tensors and check that no array holds Python objects."""
    if isinstance(obj, _PendingTensor):
        return _rebuild_tensor(*obj.args)
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject:
        raise pickle.UnpicklingError("object arrays are not allowed")
    if isinstance(obj, (_Storage, _StorageType, _NdarrayMarker)):
        raise pickle.UnpicklingError(f"a bare {type(obj).__name__.strip('_')} is not data")
    if isinstance(obj, list):
        return [_resolve_lazy(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_resolve_lazy(v) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _resolve_lazy(v)) for k, v in obj.items())
    return obj


def _deferred_rebuild(storage, *args):
    # Legacy streams name a storage before its bytes; build the array once the bytes are read.
    if isinstance(storage, _LazyFlat):
        return _PendingTensor((storage, *args))
    return _rebuild_tensor(storage, *args)


class RestrictedUnpickler(pickle._Unpickler):
    """An unpickler whose globals are numpy's and torch's array rebuilders, mapped to our own.

    It is the standard library's pure-Python unpickler (its memo is a dict, so a forged memo index
    cannot make it allocate gigabytes as the C one would), and it sets state (``BUILD``) only on
    numpy arrays and dtypes (a state dict's ``_metadata`` is dropped).

    Parameters
    ----------
    file : binary file
    storages : callable, optional
        ``storages(key, dtype, numel)`` -> flat numpy array, for persistent ids of torch storages
        (zip-format members or legacy raw bytes). Without it a persistent id is refused.
    **kwargs
        Passed to :class:`pickle.Unpickler` (e.g. ``encoding="latin1"``).
    """

    _GLOBALS = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy.core.multiarray", "scalar"): _scalar,
        ("numpy._core.multiarray", "scalar"): _scalar,
        ("numpy.core.numeric", "_frombuffer"): _frombuffer,
        ("numpy._core.numeric", "_frombuffer"): _frombuffer,
        ("numpy", "ndarray"): _NdarrayMarker,
        ("numpy", "dtype"): _checked_dtype,
        ("torch._utils", "_rebuild_tensor_v2"): _deferred_rebuild,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("_codecs", "encode"): _latin1_bytes,
    }

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, storages=None, **kwargs):
        super().__init__(file, **kwargs)
        self._storages = storages

    def _load_build(self):
        if len(self.stack) >= 2 and type(self.stack[-2]) is collections.OrderedDict:
            # a module's state_dict carries `_metadata` (per-module versions); no data, so dropped
            if not isinstance(self.stack.pop(), dict):
                raise pickle.UnpicklingError("unexpected state of an OrderedDict")
            return
        if len(self.stack) < 2 or not isinstance(self.stack[-2], (np.ndarray, np.dtype)):
            raise pickle.UnpicklingError("state may only be set on numpy arrays and dtypes")
        if isinstance(self.stack[-2], np.dtype):
            state = self.stack.pop()
            self.stack[-1] = _dtype_with_state(self.stack[-1], state)
            return
        pickle._Unpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = _load_build

    def find_class(self, module: str, name: str):
        if (module, name) in self._GLOBALS:
            return self._GLOBALS[module, name]
        if module == "torch.storage" and name == "_load_from_bytes":
            return _load_from_bytes
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing {module}.{name}: only arrays and tensors may be rebuilt")

    def persistent_load(self, pid):
        if self._storages is None or not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        _, kind, key, _location, numel = pid[:5]
        if not isinstance(kind, _StorageType) or not isinstance(key, str) or type(numel) is not int:
            raise pickle.UnpicklingError(f"bad storage id {pid!r:.80}")
        got = self._storages(key, kind.dtype, numel)
        return got if isinstance(got, _Storage) else _Storage(got)


def _load_from_bytes(data: bytes):
    """A legacy (non-zip) ``torch.save`` stream, as torch pickles a tensor's storage inline."""
    if not isinstance(data, bytes):
        raise pickle.UnpicklingError("storage bytes expected")
    fh = io.BytesIO(data)
    if RestrictedUnpickler(fh).load() != _LEGACY_MAGIC:
        raise pickle.UnpicklingError("not a torch.save stream (bad magic number)")
    RestrictedUnpickler(fh).load()  # protocol version
    info = RestrictedUnpickler(fh).load()
    if not isinstance(info, dict) or info.get("little_endian") is not True:
        raise pickle.UnpicklingError("only little-endian torch streams are supported")
    wanted: dict[str, tuple[np.dtype, int]] = {}
    flats: dict[str, np.ndarray] = {}

    def storages(key, dtype, numel):
        wanted[key] = (dtype, numel)
        flats.setdefault(key, np.empty(0, dtype=dtype))
        return _LazyFlat(flats, key)

    result = RestrictedUnpickler(fh, storages=storages).load()
    keys = RestrictedUnpickler(fh).load()
    if not isinstance(keys, list) or sorted(keys) != sorted(wanted):
        raise pickle.UnpicklingError("storage keys do not match the tensors")
    for key in keys:
        dtype, numel = wanted[key]
        head = fh.read(8)
        if len(head) != 8 or struct.unpack("<q", head)[0] != numel:
            raise pickle.UnpicklingError(f"storage {key}: element count does not match")
        raw = fh.read(numel * dtype.itemsize)
        if len(raw) != numel * dtype.itemsize:
            raise pickle.UnpicklingError(f"storage {key}: truncated")
        flats[key] = np.frombuffer(raw, dtype=dtype)
    if fh.read(1):
        raise pickle.UnpicklingError("trailing bytes after the storages")
    if not isinstance(result, _LazyFlat):  # torch pickles exactly one storage this way
        raise pickle.UnpicklingError("storage bytes that hold no storage")
    return _Storage(result.data)


_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
           AttributeError, struct.error, OverflowError, MemoryError, RecursionError, UnicodeError,
           zipfile.BadZipFile, OSError)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "pickle data was truncated"
    return str(exc) or type(exc).__name__


def loads(data: bytes, *, source: str = "pickle", encoding: str = "ASCII"):
    """Unpickle ``data`` allowing arrays and tensors only.

    Parameters
    ----------
    data : bytes
    source : str
        What to name in the error message (usually the file's path).
    encoding : str, default="ASCII"
        For Python-2 pickles (``"latin1"`` for numpy arrays pickled by Python 2).

    Returns
    -------
    object
        Lists, tuples, dicts, numbers and strings holding numpy arrays (tensors become arrays).

    Raises
    ------
    DataError
        For a refused global, a malformed or truncated stream, or trailing bytes.

    Examples
    --------
    >>> import pickle, numpy as np
    >>> loads(pickle.dumps([np.arange(3)]))[0].tolist()
    [0, 1, 2]
    >>> loads(pickle.dumps(print))
    Traceback (most recent call last):
    ...
    sculpt.errors.DataError: pickle: not an array-only pickle (refusing builtins.print: only arrays and tensors may be rebuilt)
    """
    fh = io.BytesIO(data)
    try:
        result = _resolve_lazy(RestrictedUnpickler(fh, encoding=encoding).load())
        if fh.read(1):
            raise pickle.UnpicklingError("trailing bytes after the pickle")
    except _ERRORS as exc:
        raise DataError(f"{source}: not an array-only pickle ({_describe(exc)})") from None
    return result


def load(path: str | Path, *, encoding: str = "ASCII"):
    """:func:`loads` of a file's bytes; errors name the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return loads(data, source=str(path), encoding=encoding)


def load_torch_zip(path: str | Path):
    """A zip-format ``torch.save`` file (e.g. a state dict) with every tensor as a numpy array.

    Raises
    ------
    DataError
        For anything but arrays and tensors, a missing member or a damaged archive.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(pkl) != 1:
                raise pickle.UnpicklingError("no single <archive>/data.pkl member")
            prefix = pkl[0][: -len("data.pkl")]

            for info in zf.infolist():
                if info.compress_type != zipfile.ZIP_STORED:  # torch.save stores; a deflated member could be a bomb
                    raise pickle.UnpicklingError(f"member {info.filename} is compressed")

            def storages(key, dtype, numel):
                name = f"{prefix}data/{key}"
                if zf.getinfo(name).file_size != numel * dtype.itemsize:
                    raise pickle.UnpicklingError(f"storage {key}: size does not match {numel} elements")
                raw = zf.read(name)
                if len(raw) != numel * dtype.itemsize:
                    raise pickle.UnpicklingError(f"storage {key}: {len(raw)} bytes for {numel} elements")
                return np.frombuffer(raw, dtype=dtype)

            fh = io.BytesIO(zf.read(pkl[0]))
            result = RestrictedUnpickler(fh, storages=storages).load()
            if fh.read(1):
                raise pickle.UnpicklingError("trailing bytes after the pickle")
            return _resolve_lazy(result)
    except _ERRORS as exc:
        raise DataError(f"{path}: not an array-only torch file ({_describe(exc)})") from None
