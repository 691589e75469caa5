"""Checking a saved detection (``modules.json``, a record's ``modules``) before drawing it.

A detection read back from disk may have been edited or damaged; drawing trusts its layer and
unit indices. :func:`check_modules_payload` checks every index against the network it belongs
to, so a bad file gives one :class:`SnapshotError` naming the file and the field instead of an
``IndexError`` deep inside the drawing code.

Examples
--------
>>> check_modules_payload({"modules": [{"id": 0, "units": {"0": [5]}}]}, [4, 3, 2], "modules.json")
Traceback (most recent call last):
...
sculpt.errors.SnapshotError: modules.json: modules[0].units['0'] holds unit 5, but layer 0 has 4 units
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Sequence

from sculpt.errors import SnapshotError


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_list(value: Any, field: str, where: str) -> list[int]:
    if not isinstance(value, list) or not all(_is_int(v) for v in value):
        raise SnapshotError(f"{where}: {field} must be a list of integers, got {str(value)[:60]}")
    return value


def _units(units: Any, field: str, arch: Sequence[int], where: str) -> None:
    if not isinstance(units, Mapping):
        raise SnapshotError(f"{where}: {field} must be an object of layer -> units, got {str(units)[:60]}")
    for layer, members in units.items():
        try:
            index = int(layer)
        except (TypeError, ValueError):
            raise SnapshotError(f"{where}: {field} has layer key {layer!r}, not an integer") from None
        if arch is not None and not 0 <= index < len(arch):
            raise SnapshotError(f"{where}: {field} names layer {index}, but the network has layers 0..{len(arch) - 1}")
        for unit in _int_list(members, f"{field}[{layer!r}]", where):
            if arch is None:
                if unit < 0:
                    raise SnapshotError(f"{where}: {field}[{layer!r}] holds unit {unit}, a negative index")
            elif not 0 <= unit < arch[index]:
                raise SnapshotError(f"{where}: {field}[{layer!r}] holds unit {unit}, but layer {index} has "
                                    f"{arch[index]} units")


def _module_list(value: Any, field: str, arch: Sequence[int], where: str) -> set[int]:
    if not isinstance(value, list):
        raise SnapshotError(f"{where}: {field} must be a list of modules, got {str(value)[:60]}")
    ids: set[int] = set()
    for i, module in enumerate(value):
        if not isinstance(module, Mapping) or not _is_int(module.get("id")) or "units" not in module:
            raise SnapshotError(f"{where}: {field}[{i}] must be an object with an integer 'id' and 'units'")
        if module["id"] in ids:
            raise SnapshotError(f"{where}: {field}[{i}] repeats module id {module['id']}")
        ids.add(module["id"])
        _units(module["units"], f"{field}[{i}].units", arch, where)
    return ids


def _hierarchy(value: Any, arch: Sequence[int], where: str) -> None:
    if not isinstance(value, Mapping):
        raise SnapshotError(f"{where}: hierarchy must be an object, got {type(value).__name__}")
    ids = _module_list(value.get("modules"), "hierarchy.modules", arch, where)
    edges = value.get("edges", [])
    if not isinstance(edges, list):
        raise SnapshotError(f"{where}: hierarchy.edges must be a list")
    for i, edge in enumerate(edges):
        if not isinstance(edge, Mapping) or not all(_is_int(edge.get(k)) for k in ("source", "target", "edges")):
            raise SnapshotError(f"{where}: hierarchy.edges[{i}] must be an object of integers source, target, edges")
        for end in ("source", "target"):
            if edge[end] not in ids:
                raise SnapshotError(f"{where}: hierarchy.edges[{i}].{end} is module {edge[end]}, which the "
                                    "hierarchy does not list")
    levels = value.get("levels", [])
    if not isinstance(levels, list):
        raise SnapshotError(f"{where}: hierarchy.levels must be a list of lists of module ids")
    for i, level in enumerate(levels):
        _int_list(level, f"hierarchy.levels[{i}]", where)
    for key in ("input_modules", "output_modules", "reused_modules"):
        for ident in _int_list(value.get(key, []), f"hierarchy.{key}", where):
            if ident not in ids:
                raise SnapshotError(f"{where}: hierarchy.{key} names module {ident}, which the hierarchy does not list")


def check_modules_payload(payload: Any, arch: Sequence[int], where: str, hierarchy: bool = False) -> dict:
    """Check a saved detection against the network's architecture; returns it unchanged.

    Parameters
    ----------
    payload : object
        The parsed JSON (``Detection.to_dict()``).
    arch : sequence of int or None
        Units per layer of the network it belongs to (None: indices are only checked to be >= 0).
    where : str
        Names the file (or record) in messages.
    hierarchy : bool
        Also require and check ``hierarchy`` (what the hierarchy drawing reads).

    Raises
    ------
    SnapshotError
        Not an object, a module without an integer id or units, a layer or unit out of range, a
        hierarchy edge or level naming an unknown module.
    """
    if not isinstance(payload, Mapping):
        raise SnapshotError(f"{where}: a detection must be a JSON object, got {type(payload).__name__}")
    _module_list(payload.get("modules"), "modules", arch, where)
    surviving = payload.get("surviving_units")
    if surviving is not None:
        if not isinstance(surviving, list) or (arch is not None and len(surviving) != len(arch)):
            layers = "each layer" if arch is None else f"each of the {len(arch)} layers"
            raise SnapshotError(f"{where}: surviving_units must list the units of {layers}")
        _units({str(l): units for l, units in enumerate(surviving)}, "surviving_units", arch, where)
    if hierarchy:
        if "hierarchy" not in payload:
            raise SnapshotError(f"{where}: missing key 'hierarchy'")
        _hierarchy(payload["hierarchy"], arch, where)
    if "num_modules" in payload and not _is_int(payload["num_modules"]):
        raise SnapshotError(f"{where}: num_modules must be an integer")
    if "layers" in payload:
        _layer_records(payload["layers"], where)
    return dict(payload)


def _layer_records(layers: Any, where: str) -> None:
    """The per-layer records scoring reads: kept units and their module labels, one per unit."""
    if not isinstance(layers, list) or not layers:
        raise SnapshotError(f"{where}: layers must be a non-empty list of per-layer records")
    for i, record in enumerate(layers):
        if not isinstance(record, Mapping):
            raise SnapshotError(f"{where}: layers[{i}] must be an object")
        units = _int_list(record.get("units"), f"layers[{i}].units", where)
        labels = _int_list(record.get("labels_after_merge"), f"layers[{i}].labels_after_merge", where)
        if len(units) != len(labels):
            raise SnapshotError(f"{where}: layers[{i}] has {len(units)} units but {len(labels)} labels_after_merge")
