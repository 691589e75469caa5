"""How much memory is free, and refusing work that cannot fit before allocating it.

A network file declaring a 10^10-element array, or a config asking for ``arch = [100000, 100000]``
over a grid of 70 members, would otherwise end in a ``MemoryError`` traceback after minutes (or
in the kernel's OOM killer). The estimate is taken from ``MemAvailable`` in ``/proc/meminfo``
(free memory plus what the kernel can reclaim), else ``sysconf``; on a machine where neither is
known nothing is refused.
"""
from __future__ import annotations

import os

from sculpt.errors import ConfigError


def available_bytes() -> int | None:
    """Memory the system can give this process now, in bytes (None when unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_fits(nbytes: int, what: str, error=ConfigError, available: int | None = None) -> None:
    """Raise ``error`` when ``nbytes`` exceed the available memory.

    Parameters
    ----------
    nbytes : int
        The estimated size of what is about to be allocated.
    what : str
        Says what it is in the message ("the network stack", "array 'weight0' of net.npz").
    error : exception class
    available : int, optional
        Override the measured :func:`available_bytes` (tests).

    Examples
    --------
    >>> check_fits(2 ** 50, "a test array", available=2 ** 30)
    Traceback (most recent call last):
    ...
    sculpt.errors.ConfigError: a test array needs 1.0 PiB but only 1.0 GiB of memory is available
    """
    free = available_bytes() if available is None else available
    if free is not None and nbytes > free:
        raise error(f"{what} needs {format_bytes(nbytes)} but only {format_bytes(free)} of memory is available")
