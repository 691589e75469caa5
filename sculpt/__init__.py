"""Neural Sculpting: train, prune and dissect MLPs to find the modules a task is made of.

The pipeline is a chain of plain functions over plain data::

    functiongraphs.Task -> sculpt.prune.prune_grid -> PrunedNet
        -> sculpt.detect.detect_modules -> Detection (modules + Hierarchy)
        -> sculpt.score.compare / sculpt.spectral / sculpt.render

Submodules are imported lazily so that ``import sculpt`` stays cheap (no torch until it is needed).
"""
from sculpt.errors import ConfigError, SculptError, SnapshotError

__version__ = "0.1.0"
__all__ = ["ConfigError", "SculptError", "SnapshotError", "__version__"]
