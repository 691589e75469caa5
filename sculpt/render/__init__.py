"""Graphviz drawings: function graphs, pruned networks with their modules, hierarchies."""
from sculpt.render.graphviz_io import save_graph

__all__ = ["save_graph"]
