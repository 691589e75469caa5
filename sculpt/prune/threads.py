"""Run small networks on one torch thread.

The Boolean networks have a few hundred weights, so every matmul is tiny and intra-op threading
only adds synchronisation: on a loaded 2-core machine a single trial went from about 0.3 s on one
thread to about 11 s on the default two. Large networks (MNIST) keep the caller's setting.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Iterator, Sequence

import torch

SMALL_NETWORK_WEIGHTS = 200_000


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Set torch's intra-op thread count for the block, restoring it afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def n_weights(arch: Sequence[int]) -> int:
    return sum(int(a) * int(b) for a, b in zip(arch[:-1], arch[1:]))


def single_threaded_for_small_nets(fn):
    """Decorate ``fn(task, arch, ...)`` so it runs on one thread when ``arch`` is small."""

    @functools.wraps(fn)
    def wrapper(task, arch, *args, **kwargs):
        try:
            small = n_weights(arch) <= SMALL_NETWORK_WEIGHTS
        except (TypeError, ValueError):
            small = False  # let fn's own validation report the bad arch
        if not small or torch.get_num_threads() == 1:
            return fn(task, arch, *args, **kwargs)
        with torch_threads(1):
            return fn(task, arch, *args, **kwargs)

    return wrapper
