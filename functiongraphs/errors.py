"""Errors raised for malformed function graphs, with the place they were found."""
from __future__ import annotations


class GraphError(ValueError):
    """A malformed function graph or ``.fg`` text.

    The message names where the problem is (``file:line:col`` when parsing text) and what is wrong.
    ``source``, ``line`` and ``col`` hold the location when known (1-based line and column).
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 col: int | None = None):
        self.reason = message
        self.source = source
        self.line = line
        self.col = col
        where = ""
        if line is not None:
            where = f"{source or '<string>'}:{line}:{col if col is not None else 1}: "
        elif source:
            where = f"{source}: "
        super().__init__(where + message)
