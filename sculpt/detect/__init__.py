"""Module detection in pruned MLPs, faithful to the Neural Sculpting code (spec section 5).

``detect_modules(masks)`` removes dead units, clusters each layer's units by where they reach
(one average-linkage cosine dendrogram per layer, K chosen by the modified modularity and the two
separability tests), merges clusters of adjacent layers into modules and builds their
:class:`Hierarchy`.
"""
from sculpt.detect.detection import Detection, LayerRecord, Module, detect_modules
from sculpt.detect.hierarchy import Hierarchy
from sculpt.detect.selection import fewest_modules

__all__ = ["Detection", "Hierarchy", "LayerRecord", "Module", "detect_modules", "fewest_modules"]
