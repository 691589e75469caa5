"""JSON from files a user hands us: strict (no NaN / Infinity), depth-safe, one-line errors.

``json.loads`` accepts ``NaN`` and ``Infinity`` (not JSON), and 100,000 nested brackets end in a
``RecursionError``; both become :class:`JSONInputError` here, with the line and column for
syntax errors.

Examples
--------
>>> loads_strict('{"a": [1, 2]}')
{'a': [1, 2]}
>>> loads_strict('{"a": NaN}')
Traceback (most recent call last):
...
sculpt.json_input.JSONInputError: NaN is not a JSON number
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable

from functiongraphs.safe_read import decode_text, read_regular_bytes


class JSONInputError(ValueError):
    """Text that is not strict JSON; the message says where."""


def _refuse_constant(name: str):
    raise JSONInputError(f"{name} is not a JSON number")


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON text, refusing NaN / Infinity and nesting too deep for Python's parser.

    Raises
    ------
    JSONInputError
    """
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise JSONInputError("nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise JSONInputError(f"not UTF-8 text ({exc.reason})") from None


def read_json_file(path: str | os.PathLike, error: Callable[[str], Exception]) -> Any:
    """The parsed content of a JSON file; every problem raises ``error("<path>: <what>")``.

    A FIFO, a device or a directory is refused without being opened for reading; the text must
    be UTF-8 (a byte-order mark is allowed).
    """
    try:
        data = read_regular_bytes(path)
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return loads_strict(decode_text(data, path))
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {exc.reason}") from None
    except JSONInputError as exc:
        raise error(f"{path}: not valid JSON ({exc})") from None
