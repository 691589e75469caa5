"""FunctionGraph: a Boolean task as a DAG of AND / OR / ID gates with transfer and negation edges.

The graph is a frozen dataclass checked on construction (names, arities, acyclicity, outputs).
The same checks run for text parsed by :mod:`functiongraphs.dsl`, which passes a ``locate``
callable so every error names ``file:line:col``.
"""
from __future__ import annotations

import difflib
import graphlib
import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterable

from functiongraphs.errors import GraphError

# The paper's gate set: minimum and maximum number of in-edges (None = unbounded).
GATE_ARITY: dict[str, tuple[int, int | None]] = {"and": (2, None), "or": (2, None), "id": (1, 1)}

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RESERVED = frozenset({"inputs", "outputs"})

Site = tuple  # ("input", i) | ("gate", gi) | ("op", gi) | ("arg", gi, ai) | ("output", oi) | ("end",)
Locator = Callable[[Site], "tuple[int, int] | None"]


class GraphWarning(UserWarning):
    """A legal but suspicious graph: an input no gate reads, a gate no output depends on."""


@dataclass(frozen=True)
class Gate:
    """One gate: ``name = op(args)``; each arg is ``(source name, negated)``."""

    name: str
    op: str
    args: tuple[tuple[str, bool], ...]

    def __post_init__(self):
        object.__setattr__(self, "args", tuple((str(s), bool(n)) for s, n in self.args))


@dataclass(frozen=True)
class FunctionGraph:
    """A Boolean function graph: named inputs, gates, and ordered outputs.

    Parameters
    ----------
    inputs : tuple of str
        Input node names, in order (``x0`` is the most significant bit of a truth-table row).
    gates : tuple of Gate
        Gate definitions (any order; the graph must be acyclic).
    outputs : tuple of str
        Names of the gates that are outputs, in order. Outputs have no out-edges.
    name : str, optional
        A label (not part of equality).

    Raises
    ------
    GraphError
        When the graph is malformed (see :func:`validate`).
    """

    inputs: tuple[str, ...]
    gates: tuple[Gate, ...]
    outputs: tuple[str, ...]
    name: str | None = field(default=None, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "gates", tuple(self.gates))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        validate(self.inputs, self.gates, self.outputs, warn=False)

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @cached_property
    def gate_by_name(self) -> dict[str, Gate]:
        """Gate definitions keyed by name."""
        return {g.name: g for g in self.gates}

    @cached_property
    def topological_order(self) -> tuple[Gate, ...]:
        """Gates ordered so that every gate comes after the gates it reads."""
        order = _topological_order(self.inputs, self.gates)
        return tuple(self.gate_by_name[name] for name in order)

    @cached_property
    def successors(self) -> dict[str, tuple[str, ...]]:
        """Node name -> names of the gates it feeds (inputs and gates)."""
        out: dict[str, list[str]] = {n: [] for n in self.inputs}
        out.update({g.name: [] for g in self.gates})
        for g in self.gates:
            for src, _ in g.args:
                out[src].append(g.name)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def supports(self) -> dict[str, frozenset[int]]:
        """Node name -> indices of the inputs it (structurally) depends on."""
        sup: dict[str, frozenset[int]] = {n: frozenset([i]) for i, n in enumerate(self.inputs)}
        for g in self.topological_order:
            sup[g.name] = frozenset().union(*(sup[s] for s, _ in g.args))
        return sup

    @cached_property
    def levels(self) -> dict[str, int]:
        """Node name -> hierarchical level (inputs 0; a gate is one above its deepest in-neighbour)."""
        lev = {n: 0 for n in self.inputs}
        for g in self.topological_order:
            lev[g.name] = 1 + max(lev[s] for s, _ in g.args)
        return lev

    def truth_table(self, max_inputs: int = 24):
        """Complete truth table ``(X, Y)`` as uint8 arrays; see :func:`functiongraphs.truthtable.truth_table`."""
        from functiongraphs.truthtable import truth_table

        return truth_table(self, max_inputs=max_inputs)

    def evaluate(self, bits: Iterable[int]) -> tuple[int, ...]:
        """Output bits for one assignment of the inputs (slow, one row; for checks)."""
        from functiongraphs.truthtable import evaluate_row

        return evaluate_row(self, bits)

    def __str__(self) -> str:
        from functiongraphs.dsl import format_graph

        return format_graph(self)


def closest_name(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to ``name`` (or None when nothing is close)."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.5)
    return match[0] if match else None


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    best = closest_name(name, candidates)
    return f"; did you mean '{best}'?" if best else ""


def _error(message: str, locate: Locator | None, site: Site, source: str | None) -> GraphError:
    where = locate(site) if locate else None
    if where is None:
        return GraphError(message, source=source)
    return GraphError(message, source=source, line=where[0], col=where[1])


def validate(inputs: tuple[str, ...], gates: tuple[Gate, ...], outputs: tuple[str, ...], *,
             locate: Locator | None = None, source: str | None = None, warn: bool = True) -> None:
    """Check a graph's definitions; raise :class:`GraphError` at the first problem.

    Checks, in order: empty graph, valid names, duplicate names, gate ops and arities, undefined
    and repeated arguments, outputs (defined, not inputs, listed once, no out-edges), cycles.
    With ``warn=True`` unused inputs and gates no output depends on are reported with
    :func:`warnings.warn` (:class:`GraphWarning`).

    Parameters
    ----------
    inputs, gates, outputs
        The definitions.
    locate : callable, optional
        Maps a site (``("gate", i)``, ``("arg", i, j)``, ...) to ``(line, col)`` for messages.
    source : str, optional
        File name for messages.
    warn : bool
        Emit warnings for unused inputs and dead gates.
    """
    def fail(message: str, site: Site) -> GraphError:
        return _error(message, locate, site, source)

    if not inputs and not gates and not outputs:
        raise fail("empty graph: no inputs, gates or outputs", ("end",))
    if not inputs:
        raise fail("graph has no inputs (add a line 'inputs x0 x1 ...')", ("end",))
    if not gates:
        raise fail("graph has no gates", ("end",))
    if not outputs:
        raise fail("graph has no outputs (add a line 'outputs ...')", ("end",))
    for i, g in enumerate(gates):
        if not isinstance(g, Gate):
            raise fail(f"gate {i} is not a Gate: {g!r}", ("end",))

    defined: dict[str, Site] = {}
    for i, name in enumerate(inputs):
        if not _valid_name(name):
            raise fail(f"invalid input name {name!r} (names are letters, digits, '_'; not a keyword)",
                       ("input", i))
        if name in defined:
            raise fail(f"input '{name}' is declared twice", ("input", i))
        defined[name] = ("input", i)
    for i, g in enumerate(gates):
        if not _valid_name(g.name):
            raise fail(f"invalid gate name {g.name!r} (names are letters, digits, '_'; not a keyword)",
                       ("gate", i))
        if g.name in defined:
            kind = "an input" if defined[g.name][0] == "input" else "a gate"
            first = locate(defined[g.name]) if locate else None
            at = f" (first defined as {kind} at line {first[0]}:{first[1]})" if first else f" (already {kind})"
            raise fail(f"'{g.name}' is defined twice{at}", ("gate", i))
        defined[g.name] = ("gate", i)

    for i, g in enumerate(gates):
        _check_gate(i, g, defined, fail)

    output_index = _check_outputs(inputs, outputs, defined, fail)
    for i, g in enumerate(gates):
        for j, (src, _) in enumerate(g.args):
            if src in output_index:
                raise fail(f"output '{src}' feeds gate '{g.name}'; outputs cannot have out-edges "
                           f"(give the output its own id gate and read the node it copies)", ("arg", i, j))

    cycle = _find_cycle(gates)
    if cycle:
        first = next(i for i, g in enumerate(gates) if g.name == cycle[0])
        raise fail("cycle: " + " -> ".join(cycle + [cycle[0]]), ("gate", first))

    if warn:
        _warn_unused(inputs, gates, outputs, locate, source)


def _valid_name(name) -> bool:
    return isinstance(name, str) and bool(NAME_RE.match(name)) and name not in RESERVED


def _check_gate(i: int, g: Gate, defined: dict[str, Site], fail) -> None:
    if g.op not in GATE_ARITY:
        raise fail(f"unknown gate '{g.op}' (gates are and, or, id){_did_you_mean(g.op, GATE_ARITY)}", ("op", i))
    low, high = GATE_ARITY[g.op]
    n = len(g.args)
    if n < low or (high is not None and n > high):
        need = f"exactly {low}" if high == low else f"at least {low}"
        raise fail(f"wrong arity: {g.op} takes {need} input{'s' if low > 1 else ''}, got {n}", ("op", i))
    seen: set[str] = set()
    for j, (src, _) in enumerate(g.args):
        if src not in defined:
            raise fail(f"undefined name '{src}'{_did_you_mean(src, defined)}", ("arg", i, j))
        if src == g.name:
            raise fail(f"cycle: {g.name} -> {g.name}", ("arg", i, j))
        if src in seen:
            raise fail(f"'{src}' is read twice by gate '{g.name}'", ("arg", i, j))
        seen.add(src)


def _check_outputs(inputs, outputs, defined: dict[str, Site], fail) -> dict[str, int]:
    index: dict[str, int] = {}
    for k, name in enumerate(outputs):
        if name not in defined:
            raise fail(f"undefined output '{name}'{_did_you_mean(name, defined)}", ("output", k))
        if defined[name][0] == "input":
            raise fail(f"output '{name}' is an input; outputs must be gates (use '{name}_out = id({name})')",
                       ("output", k))
        if name in index:
            raise fail(f"output '{name}' is listed twice", ("output", k))
        index[name] = k
    return index


def _find_cycle(gates: tuple[Gate, ...]) -> list[str] | None:
    """One cycle among the gates (names in data-flow order), or None (iterative DFS: no recursion limit)."""
    reads = {g.name: [s for s, _ in g.args] for g in gates}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in reads:
        if state.get(root):
            continue
        stack = [(root, iter(reads[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif nxt in reads:
                if state.get(nxt) == 1:
                    reading = path[path.index(nxt):]  # each node reads the next one
                    return [reading[0]] + reading[:0:-1]  # in data-flow order: each feeds the next
                if not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, iter(reads[nxt])))
                    path.append(nxt)
    return None


def _topological_order(inputs: tuple[str, ...], gates: tuple[Gate, ...]) -> list[str]:
    """Gate names in an order where each gate follows its arguments, in time linear in the graph size.

    The order is the one of repeated passes over the definitions (each pass takes, in definition
    order, every gate whose arguments are ready, including gates taken earlier in the same pass),
    without doing the passes: a gate's pass is the largest pass of its arguments, plus one for an
    argument defined after it, so it is computed in one sweep along a :mod:`graphlib` order and the
    names are sorted by (pass, definition index). A chain of 10,000 gates defined in reverse order
    thus costs one sweep instead of 10,000 passes.
    """
    index = {g.name: i for i, g in enumerate(gates)}
    reads = {g.name: [s for s, _ in g.args if s in index] for g in gates}
    try:
        sweep = graphlib.TopologicalSorter(reads).static_order()
        passes: dict[str, int] = {}
        for name in sweep:
            i = index[name]
            passes[name] = max((passes[a] + (index[a] > i) for a in reads[name]), default=0)
    except graphlib.CycleError as exc:  # cannot happen after validate()
        raise GraphError("cycle: " + " -> ".join(exc.args[1])) from None
    return sorted(index, key=lambda name: (passes[name], index[name]))


def _warn_unused(inputs, gates, outputs, locate, source) -> None:
    read = {s for g in gates for s, _ in g.args}
    for i, name in enumerate(inputs):
        if name not in read:
            err = _error(f"input '{name}' is not used by any gate", locate, ("input", i), source)
            warnings.warn(str(err), GraphWarning, stacklevel=4)
    reads = {g.name: [s for s, _ in g.args] for g in gates}
    live: set[str] = set()
    todo = list(outputs)
    while todo:
        node = todo.pop()
        if node in live or node not in reads:
            continue
        live.add(node)
        todo.extend(reads[node])
    for i, g in enumerate(gates):
        if g.name not in live:
            err = _error(f"gate '{g.name}' does not reach any output", locate, ("gate", i), source)
            warnings.warn(str(err), GraphWarning, stacklevel=4)
