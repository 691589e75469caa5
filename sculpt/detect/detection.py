"""The module-detection driver: condense, cluster every layer, merge, build the hierarchy (spec 5).

``detect_modules`` reproduces the paper's ``run/module_detection.py`` record for record on the
paper's 160 exemplar networks (its own detection output, ``detection_exemplar.jsonl``) while doing one linkage per
layer instead of one clustering fit per k.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from sculpt.adapters import as_masks
from sculpt.detect.features import reachability_bitsets
from sculpt.detect.hierarchy import Hierarchy, build_hierarchy
from sculpt.detect.linkage_cuts import average_cosine_dendrogram, cosine_distance_matrix, cut
from sculpt.detect.live_units import live_units
from sculpt.detect.merge import merge_across_layers
from sculpt.detect.modularity import choose_k, modularity_by_k
from sculpt.detect.separability import SeparabilityResult, all_separate_test, combine_tests, single_cluster_test
from sculpt.errors import ConfigError


@dataclass(frozen=True)
class Module(Mapping):
    """One detected module: layer index -> sorted original unit indices, plus a stable ``id``.

    Module ids are the paper code's global labels: layer 0's clusters first, then each new module
    in the order its layer opened it.
    """

    id: int
    units: dict[int, tuple[int, ...]]

    def __getitem__(self, layer: int) -> tuple[int, ...]:
        return self.units[layer]

    def __iter__(self):
        return iter(self.units)

    def __len__(self) -> int:
        return len(self.units)

    @property
    def layer_span(self) -> tuple[int, int]:
        """First and last layer holding units of this module."""
        return min(self.units), max(self.units)

    def to_dict(self) -> dict:
        return {"id": self.id, "units": {str(l): list(u) for l, u in self.units.items()}}


@dataclass(frozen=True)
class LayerRecord:
    """What detection decided for one layer (the per-layer record of the reference jsonl).

    Attributes
    ----------
    layer : int
    units : tuple of int
        Original indices of the kept units.
    labels_before_merge, labels_after_merge : tuple of int
        Local cluster labels (sklearn's numbering) and module ids, per kept unit.
    k : int
        Number of clusters used.
    output_layer : bool
    modularity_by_k : tuple of (int, float)
        Modularity of every evaluated cut (empty for the output layer and layers of <= 2 units).
    all_separate_test, single_cluster_test : SeparabilityResult or None
        None for the output layer and for a layer of one unit.
    k_by_modularity : int or None
        argmin of the modularity (ties to the larger k); 1 when no cut was evaluated.
    separability_override_considered, separability_override_used : bool or None
        Whether the tests were consulted (K = 2, K = n-1 or weak modularity) and whether they
        changed K's source.
    """

    layer: int
    units: tuple[int, ...]
    labels_before_merge: tuple[int, ...]
    labels_after_merge: tuple[int, ...]
    k: int
    output_layer: bool = False
    modularity_by_k: tuple[tuple[int, float], ...] = ()
    all_separate_test: SeparabilityResult | None = None
    single_cluster_test: SeparabilityResult | None = None
    k_by_modularity: int | None = None
    separability_override_considered: bool | None = None
    separability_override_used: bool | None = None

    def to_dict(self) -> dict:
        out = {"layer": self.layer, "units": list(self.units),
               "labels_before_merge": list(self.labels_before_merge),
               "labels_after_merge": list(self.labels_after_merge), "k": self.k}
        if self.output_layer:
            out["output_layer"] = True
            return out
        out["modularity_by_k"] = [[k, v] for k, v in self.modularity_by_k]
        for name in ("all_separate_test", "single_cluster_test"):
            test = getattr(self, name)
            out[name] = None if test is None else test.to_dict()
        out["k_by_modularity"] = self.k_by_modularity
        out["separability_override_considered"] = self.separability_override_considered
        out["separability_override_used"] = self.separability_override_used
        return out


@dataclass(frozen=True)
class Detection:
    """Result of :func:`detect_modules`.

    Attributes
    ----------
    surviving_units : list of tuple of int
        Per layer (inputs first), original indices of the units kept after dead-unit removal.
    k_per_layer : list of int
        Clusters per non-output layer.
    modules : list of Module
        Ordered by id.
    layers : list of LayerRecord
    hierarchy : Hierarchy
    parameters : dict
        The thresholds and step sizes used.
    arch : list of int
        Units per layer of the network that was read, before dead-unit removal (empty when
        loaded from a record that predates it).
    """

    surviving_units: list[tuple[int, ...]]
    k_per_layer: list[int]
    modules: list[Module]
    layers: list[LayerRecord]
    hierarchy: Hierarchy
    parameters: dict = field(default_factory=dict)
    arch: list[int] = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"Detection(arch={self.arch}, condensed_arch={self.condensed_arch}, "
                f"k_per_layer={self.k_per_layer}, num_modules={self.num_modules})")

    @property
    def condensed_arch(self) -> list[int]:
        """Kept units per layer."""
        return [len(u) for u in self.surviving_units]

    @property
    def num_modules(self) -> int:
        return len(self.modules)

    def module_of(self, layer: int, unit: int) -> int | None:
        """Id of the module holding original unit ``unit`` of ``layer``; None if it was removed."""
        record = self.layers[layer]
        try:
            return record.labels_after_merge[record.units.index(unit)]
        except ValueError:
            return None

    def to_dict(self) -> dict:
        """JSON-ready form, shaped like a record of the reference ``detection_exemplar.jsonl``."""
        return {
            "condensed_arch": self.condensed_arch,
            "surviving_units": [list(u) for u in self.surviving_units],
            "k_per_layer": list(self.k_per_layer),
            "num_modules": self.num_modules,
            "modules": [m.to_dict() for m in self.modules],
            "layers": [r.to_dict() for r in self.layers],
            "hierarchy": self.hierarchy.to_dict(),
            "parameters": dict(self.parameters),
            "arch": list(self.arch),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Detection":
        """Rebuild a detection from :meth:`to_dict` output (e.g. a run's ``modules.json``).

        ``Detection.from_dict(d.to_dict()).to_dict() == d.to_dict()``.

        Raises
        ------
        SculptError
            A record that is not a detection (missing keys, wrong shapes).
        """
        from sculpt.errors import SculptError

        if not isinstance(data, Mapping):
            raise SculptError(f"a detection record is a JSON object, got {type(data).__name__}")
        try:
            modules = [Module(id=int(m["id"]), units={int(l): tuple(int(u) for u in us)
                                                      for l, us in m["units"].items()})
                       for m in data["modules"]]
            layers = [_layer_record(r) for r in data["layers"]]
            detection = cls(surviving_units=[tuple(int(u) for u in units) for units in data["surviving_units"]],
                            k_per_layer=[int(k) for k in data["k_per_layer"]], modules=modules, layers=layers,
                            hierarchy=Hierarchy.from_dict(data["hierarchy"]),
                            parameters=dict(data.get("parameters", {})),
                            arch=[int(a) for a in data.get("arch", [])])
        except SculptError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SculptError(f"not a detection record: {type(exc).__name__}: {exc}") from None
        if len(detection.layers) != len(detection.surviving_units):
            raise SculptError(f"not a detection record: {len(detection.layers)} layer records for "
                              f"{len(detection.surviving_units)} layers")
        return detection


def _separability(value) -> SeparabilityResult | None:
    if value is None:
        return None
    z = value["difference"]
    return SeparabilityResult(k=None if value["k"] is None else int(value["k"]),
                              z=math.nan if z is None else float(z))


def _layer_record(r: Mapping) -> LayerRecord:
    """One :class:`LayerRecord` from its ``to_dict`` form."""
    common = dict(layer=int(r["layer"]), units=tuple(int(u) for u in r["units"]),
                  labels_before_merge=tuple(int(i) for i in r["labels_before_merge"]),
                  labels_after_merge=tuple(int(i) for i in r["labels_after_merge"]), k=int(r["k"]))
    if r.get("output_layer"):
        return LayerRecord(output_layer=True, **common)

    def flag(key):
        return None if r.get(key) is None else bool(r[key])

    return LayerRecord(modularity_by_k=tuple((int(k), float(v)) for k, v in r.get("modularity_by_k", [])),
                       all_separate_test=_separability(r.get("all_separate_test")),
                       single_cluster_test=_separability(r.get("single_cluster_test")),
                       k_by_modularity=None if r.get("k_by_modularity") is None else int(r["k_by_modularity"]),
                       separability_override_considered=flag("separability_override_considered"),
                       separability_override_used=flag("separability_override_used"), **common)


def _check_parameters(n_weight_layers: int, feature_step_size, clusterability_step_size,
                      modularity_threshold, merge_threshold) -> tuple[int, int, float, float]:
    fss = n_weight_layers if feature_step_size is None else feature_step_size
    css = n_weight_layers if clusterability_step_size is None else clusterability_step_size
    for name, value in (("feature_step_size", fss), ("clusterability_step_size", css)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"{name} must be a positive integer (hops), got {value!r}")
    if not isinstance(modularity_threshold, (int, float)) or not math.isfinite(modularity_threshold):
        raise ConfigError(f"modularity_threshold must be a finite number, got {modularity_threshold!r}")
    if not isinstance(merge_threshold, (int, float)) or not 0 <= merge_threshold <= 1:
        raise ConfigError(f"merge_threshold must be a number in [0, 1], got {merge_threshold!r}")
    return int(fss), int(css), float(modularity_threshold), float(merge_threshold)


def _cluster_layer(layer: int, units: tuple[int, ...], rows: list[int], n_window: int,
                   modularity_threshold: float) -> tuple[list[int], dict]:
    """Cluster one non-output layer: modularity argmin, overridden by the tests when weak."""
    n = len(units)
    if n == 1:
        return [0], dict(layer=layer, units=units, k=1, k_by_modularity=1,
                         separability_override_considered=True, separability_override_used=True)
    if n == 2:  # one merge and nothing to evaluate: the code's K is its loop variable's start value, 2
        dendrogram = average_cosine_dendrogram(rows)
        ks, values = [], []
        k_mod, k, considered = 1, 2, True
    else:
        distances = cosine_distance_matrix(rows)
        dendrogram = average_cosine_dendrogram(rows, distances)
        ks, values = modularity_by_k(distances, dendrogram)
        k = k_mod = choose_k(ks, values)
        considered = k == 2 or k == n - 1 or min(values) > modularity_threshold
    separate = all_separate_test(rows, n_window, dendrogram)
    single = single_cluster_test(rows, n_window, dendrogram)
    combined = combine_tests(n, separate, single)
    used = considered and combined is not None
    if used:
        k = combined
    labels = cut(dendrogram, k)
    return labels, dict(
        layer=layer, units=units, k=int(k), modularity_by_k=tuple(zip(ks, values)),
        all_separate_test=separate, single_cluster_test=single, k_by_modularity=int(k_mod),
        separability_override_considered=bool(considered), separability_override_used=bool(used))


def _modules_from_labels(surviving: list[tuple[int, ...]], merged: list[list[int]]) -> list[Module]:
    by_id: dict[int, dict[int, list[int]]] = {}
    for layer, (units, ids) in enumerate(zip(surviving, merged)):
        for unit, module_id in zip(units, ids):
            by_id.setdefault(module_id, {}).setdefault(layer, []).append(unit)
    # units are ascending within a layer and layers are visited in order: already sorted
    return [Module(id=i, units={l: tuple(u) for l, u in by_id[i].items()}) for i in sorted(by_id)]


def detect_modules(masks, feature_step_size: int | None = None,
                   clusterability_step_size: int | None = None,
                   modularity_threshold: float = -0.2, merge_threshold: float = 0.9) -> Detection:
    """Find the modules of a pruned MLP from its masks, as the paper's code does.

    Parameters
    ----------
    masks : list of array-like of bool, PrunedNet, object with ``.masks``, or torch.nn.Sequential
        Per weight layer, shape (out, in) (PyTorch layout); see :func:`sculpt.adapters.as_masks`.
    feature_step_size : int, optional
        Reachability horizon of the feature vectors in hops; None means the number of weight
        layers (full reachability, the paper's setting).
    clusterability_step_size : int, optional
        Number of later layers the separability tests look at; None means the number of weight
        layers.
    modularity_threshold : float, default=-0.2
        t_m: when the best modularity is above it (or K is 2 or n-1) the separability tests may
        override K. The paper's code takes ``mm_threshold = 0.2`` and tests ``M_min > -0.2``.
    merge_threshold : float, default=0.9
        delta: edge fraction (strictly) above which adjacent-layer clusters merge.

    Returns
    -------
    Detection

    Raises
    ------
    SculptError
        On malformed masks, a network without edges or without any input-to-output path.
    ConfigError
        On a bad parameter.
    """
    masks = as_masks(masks)
    fss, css, t_m, delta = _check_parameters(len(masks), feature_step_size, clusterability_step_size,
                                             modularity_threshold, merge_threshold)
    net = live_units(masks)
    arch = net.arch
    surviving = net.surviving_units
    features = reachability_bitsets(net.successors, arch[-1], fss)
    local_labels, records = [], []
    for layer, units in enumerate(surviving[:-1]):
        n_window = sum(arch[layer + 1: layer + 1 + css])
        labels, record = _cluster_layer(layer, units, features[layer], n_window, t_m)
        local_labels.append(labels)
        records.append(record)
    n_out = arch[-1]
    local_labels.append(list(range(n_out)))
    records.append(dict(layer=len(arch) - 1, units=surviving[-1], k=n_out, output_layer=True))
    merged = merge_across_layers(local_labels, net.inputs, delta)
    layers = [LayerRecord(labels_before_merge=tuple(lab), labels_after_merge=tuple(ids), **rec)
              for lab, ids, rec in zip(local_labels, merged, records)]
    modules = _modules_from_labels(surviving, merged)
    hierarchy = build_hierarchy(modules, merged, net.inputs)
    return Detection(
        surviving_units=surviving,
        k_per_layer=[r.k for r in layers[:-1]], modules=modules, layers=layers,
        hierarchy=hierarchy,
        parameters={"feature_step_size": fss, "clusterability_step_size": css,
                    "modularity_threshold": t_m, "merge_threshold": delta},
        arch=net.widths)
