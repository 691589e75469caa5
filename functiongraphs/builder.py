"""Build function graphs in Python code (loops over families) instead of writing ``.fg`` text.

Example
-------
>>> b = GraphBuilder("xor-pair")
>>> x0, x1 = b.inputs(2)
>>> a = b.and_(x0, ~x1)
>>> c = b.and_(~x0, x1)
>>> y0 = b.or_(a, c, name="y0")
>>> y1 = b.and_(~a, ~c, name="y1")
>>> b.output(y0, y1)
>>> graph = b.build()
"""
from __future__ import annotations

from dataclasses import dataclass

from functiongraphs.errors import GraphError
from functiongraphs.graph import FunctionGraph, Gate


@dataclass(frozen=True)
class Ref:
    """A reference to a node, optionally through a negation edge (``~ref`` flips it)."""

    name: str
    negated: bool = False

    def __invert__(self) -> "Ref":
        return Ref(self.name, not self.negated)


class GraphBuilder:
    """Collects inputs, gates and outputs and builds a checked :class:`FunctionGraph`.

    Parameters
    ----------
    name : str, optional
        The graph's name.
    """

    def __init__(self, name: str | None = None):
        self.name = name
        self._inputs: list[str] = []
        self._gates: list[Gate] = []
        self._outputs: list[str] = []
        self._names: set[str] = set()
        self._counter = 0

    def inputs(self, names: int | list[str], prefix: str = "x") -> list[Ref]:
        """Add inputs: ``n`` of them named ``x{i}`` (numbering continues), or the given names."""
        if isinstance(names, int):
            start = len(self._inputs)
            names = [f"{prefix}{start + i}" for i in range(names)]
        refs = []
        for name in names:
            self._claim(name)
            self._inputs.append(name)
            refs.append(Ref(name))
        return refs

    def gate(self, op: str, *args: Ref | str, name: str | None = None) -> Ref:
        """Add ``name = op(args)``; a ``str`` argument is a transfer edge from that node."""
        if name is None:
            name = self._fresh_name()
        self._claim(name)
        refs = [Ref(a) if isinstance(a, str) else a for a in args]
        self._gates.append(Gate(name, op, tuple((r.name, r.negated) for r in refs)))
        return Ref(name)

    def and_(self, *args: Ref | str, name: str | None = None) -> Ref:
        """Add an AND gate."""
        return self.gate("and", *args, name=name)

    def or_(self, *args: Ref | str, name: str | None = None) -> Ref:
        """Add an OR gate."""
        return self.gate("or", *args, name=name)

    def id_(self, arg: Ref | str, name: str | None = None) -> Ref:
        """Add an ID gate (with ``~arg``: a NOT)."""
        return self.gate("id", arg, name=name)

    def xor(self, a: Ref, b: Ref, name: str | None = None) -> Ref:
        """Add ``or(and(a, ~b), and(~a, b))`` (three plain gates); returns the OR."""
        name = name or self._fresh_name()
        p = self.and_(a, ~b, name=f"{name}_p")
        q = self.and_(~a, b, name=f"{name}_q")
        return self.or_(p, q, name=name)

    def output(self, *refs: Ref | str) -> None:
        """Mark existing gates as outputs, in order (outputs must not feed other gates)."""
        for r in refs:
            name = r if isinstance(r, str) else r.name
            if isinstance(r, Ref) and r.negated:
                raise GraphError(f"output '{name}' cannot be negated; add b.id_(~ref) for a NOT output")
            self._outputs.append(name)

    def copies(self, ref: Ref, names: list[str]) -> list[Ref]:
        """Add one ID gate per name, each copying ``ref``, and mark them as outputs."""
        refs = [self.id_(ref, name=n) for n in names]
        self.output(*refs)
        return refs

    def build(self) -> FunctionGraph:
        """The checked graph (raises :class:`GraphError` if it is malformed)."""
        return FunctionGraph(tuple(self._inputs), tuple(self._gates), tuple(self._outputs), name=self.name)

    def _claim(self, name: str) -> None:
        if name in self._names:
            raise GraphError(f"'{name}' is defined twice")
        self._names.add(name)

    def _fresh_name(self) -> str:
        while True:
            self._counter += 1
            name = f"g{self._counter}"
            if name not in self._names:
                return name
