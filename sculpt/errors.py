"""Exceptions for mistakes a user can make. The CLI prints their message in one line and exits 2."""


class SculptError(Exception):
    """Base class of every user-facing error raised by :mod:`sculpt`."""


class ConfigError(SculptError, ValueError):
    """An impossible or unknown setting (a width of 0, a wrong config key, a bad threshold...)."""


class SnapshotError(SculptError, ValueError):
    """A saved network or record that cannot be read back (corrupt, wrong shapes or dtypes)."""


class DataError(SculptError, ValueError):
    """A dataset that is missing or malformed (e.g. MNIST not fetched yet)."""


class OutputError(SculptError, OSError):
    """An output that cannot be written (read-only directory, full disk, a directory where a file
    is expected) or that another process is writing; the message names the path."""


class RenderError(SculptError):
    """graphviz could not render a drawing (``dot`` failed, e.g. on a very large graph)."""
