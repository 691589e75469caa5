"""The paper's 39 Boolean tasks as ``.fg`` files, by stable name.

Names: the validation graphs ``input-separable`` [4,2,4], ``reused`` [4,1,2,16],
``separable-reused`` [6,3,3,3], ``non-modular`` [4,1,4]; the families ``reuse-use{u}``
[4,1,2,2u], ``overlap{o}-use{u}`` (o = 0..4 shared inputs) and ``hierarchical-use{u}``
[8,2,1,2,2u], with u in 1, 2, 4, 6, 8. Every graph's truth table equals the paper's dataset
(the ``truth_tables/`` of the converted reference data, ``sculpt data paper``) bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from functiongraphs.dsl import parse
from functiongraphs.errors import GraphError
from functiongraphs.graph import FunctionGraph, closest_name

USES = (1, 2, 4, 6, 8)
OVERLAPS = (0, 1, 2, 3, 4)

# The reference jsonl's `experiment` field -> truth-table folder (= catalog family).
EXPERIMENT_FOLDERS = {
    "exemplar": "exemplar",
    "non_separable_increasing_use": "increasing_reuse_non_separable",
    "input_overlap_exp": "input_overlap_exp",
    "increasing_hierarchical_levels": "increasing_hierarchical_levels",
}


@dataclass(frozen=True)
class CatalogEntry:
    """What the catalog knows about one graph.

    Attributes
    ----------
    name : str
        Stable catalog name (also the ``.fg`` file stem).
    family : str
        "exemplar", "increasing_reuse_non_separable", "input_overlap_exp" or
        "increasing_hierarchical_levels" (the reference truth-table folders).
    modularity : list of int
        The paper's modularity list: inputs, sub-functions per level, outputs.
    use : int or None
        How many times each of the two final sub-functions is copied to the outputs (families).
    overlap : int or None
        Number of inputs shared by sub-functions A and B (input-overlap family).
    reference_json : str
        Truth-table file relative to ``reference/truth_tables/``.
    description : str
    """

    name: str
    family: str
    modularity: list[int] = field(hash=False)
    use: int | None
    overlap: int | None
    reference_json: str
    description: str

    @property
    def n_inputs(self) -> int:
        return self.modularity[0]

    @property
    def n_outputs(self) -> int:
        return self.modularity[-1]


def _entry(name, family, modularity, description, use=None, overlap=None) -> CatalogEntry:
    return CatalogEntry(name, family, list(modularity), use, overlap,
                        f"{family}/boolean{list(modularity)}.json", description)


def _overlap_modularity(overlap: int, use: int) -> list[int]:
    n = 8 - overlap
    if overlap == 0:
        return [8, 2, 2 * use]
    if overlap == 4:
        return [4, 1, 2, 2, 2 * use]
    return [n, 3, 2, 2 * use]


def _build_entries() -> dict[str, CatalogEntry]:
    entries = [
        _entry("input-separable", "exemplar", [4, 2, 4],
               "input separable: y0 = x0 xor x1, y1 = its negation; y2, y3 the same on x2, x3"),
        _entry("reused", "exemplar", [4, 1, 2, 16],
               "reused, not input separable: f1, f2 share a gate over all four inputs; 8 copies of each",
               use=8),
        _entry("separable-reused", "exemplar", [6, 3, 3, 3],
               "input separable and reused: h_i = and of an input pair, outputs = or of two h_i"),
        _entry("non-modular", "exemplar", [4, 1, 4], "not modular: four copies of one function F(x0..x3)"),
    ]
    for use in USES:
        entries.append(_entry(f"reuse-use{use}", "increasing_reuse_non_separable", [4, 1, 2, 2 * use],
                              f"reused sub-functions f1, f2 (sharing one gate), each copied {use} times",
                              use=use))
    for overlap in OVERLAPS:
        for use in USES:
            n = 8 - overlap
            entries.append(_entry(
                f"overlap{overlap}-use{use}", "input_overlap_exp", _overlap_modularity(overlap, use),
                f"A = F(x0..x3), B = G(x{n - 4}..x{n - 1}) sharing {overlap} input(s), each copied {use} times",
                use=use, overlap=overlap))
    for use in USES:
        entries.append(_entry(f"hierarchical-use{use}", "increasing_hierarchical_levels", [8, 2, 1, 2, 2 * use],
                              f"A = F(x0..x3), B = G(x4..x7), m = A and B, f1 = A and not m, "
                              f"f2 = B and not m, each copied {use} times", use=use))
    return {e.name: e for e in entries}


_ENTRIES = _build_entries()


def names() -> list[str]:
    """All catalog names, validation graphs first, then the families."""
    return list(_ENTRIES)


def info(name: str) -> CatalogEntry:
    """The :class:`CatalogEntry` of a catalog graph (``GraphError`` for an unknown name)."""
    entry = _ENTRIES.get(name)
    if entry is None:
        best = closest_name(name, _ENTRIES)
        hint = f"; did you mean '{best}'?" if best else "; see 'sculpt catalog list'"
        raise GraphError(f"unknown catalog graph '{name}'{hint}")
    return entry


def text(name: str) -> str:
    """The ``.fg`` source of a catalog graph."""
    info(name)
    return resources.files(__name__).joinpath(f"{name}.fg").read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def get(name: str) -> FunctionGraph:
    """The catalog graph ``name`` as a :class:`FunctionGraph` (``GraphError`` for an unknown name)."""
    return parse(text(name), source=f"{name}.fg")


def find(experiment: str, modularity) -> str:
    """Catalog name for a reference record's ``experiment`` field and modularity list.

    ``find("exemplar", [4, 1, 2, 16])`` is ``"reused"``; ``find("non_separable_increasing_use",
    [4, 1, 2, 16])`` is ``"reuse-use8"`` (the same truth table).
    """
    folder = EXPERIMENT_FOLDERS.get(experiment)
    if folder is None:
        raise GraphError(f"unknown experiment '{experiment}' (known: {', '.join(EXPERIMENT_FOLDERS)})")
    modularity = [int(m) for m in modularity]
    for entry in _ENTRIES.values():
        if entry.family == folder and entry.modularity == modularity:
            return entry.name
    raise GraphError(f"no catalog graph for experiment '{experiment}' with modularity {modularity}")
