"""The ``.fg`` text format: one definition per line, ``#`` comments.

::

    inputs x0 x1 x2 x3
    a = and(x0, !x1)        # ! marks a negation edge; no ! is a transfer edge
    b = and(!x0, x1)
    y0 = or(a, b)
    y1 = and(!a, !b)
    outputs y0 y1

Gates are ``and`` / ``or`` (two or more inputs) and ``id`` (one input). Names may be used before
they are defined (the graph must still be acyclic). Shorthands expand to plain gates, and
:func:`format_graph` prints the expansion:

* ``t = xor(a, b)``  ->  ``t_p = and(a, !b)``, ``t_q = and(!a, b)``, ``t = or(t_p, t_q)``
* ``t = xnor(a, b)`` ->  ``t_p = and(a, b)``, ``t_q = and(!a, !b)``, ``t = or(t_p, t_q)``
* ``y0, y1 = copy(f)`` -> ``y0 = id(f)``, ``y1 = id(f)`` (several outputs computing one node)

Every malformed text raises :class:`functiongraphs.GraphError` with ``file:line:col``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from functiongraphs.errors import GraphError
from functiongraphs.graph import GATE_ARITY, FunctionGraph, Gate, closest_name, validate
from functiongraphs.safe_read import normalise_text, read_regular_bytes

SHORTHANDS = ("xor", "xnor", "copy")
ALL_OPS = tuple(GATE_ARITY) + SHORTHANDS

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[!(),=])|(?P<comment>#.*))")


@dataclass
class _Token:
    kind: str  # "name" or the punctuation character
    text: str
    col: int


@dataclass
class _Parsed:
    """Definitions collected from the text, with the position of every piece for error messages."""

    source: str | None
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)
    input_pos: list[tuple[int, int]] = field(default_factory=list)
    output_pos: list[tuple[int, int]] = field(default_factory=list)
    gate_pos: list[tuple[tuple[int, int], tuple[int, int], list[tuple[int, int]]]] = field(default_factory=list)
    end_pos: tuple[int, int] = (1, 1)

    def locate(self, site: tuple):
        kind = site[0]
        if kind == "input":
            return self.input_pos[site[1]]
        if kind == "output":
            return self.output_pos[site[1]]
        if kind == "gate":
            return self.gate_pos[site[1]][0]
        if kind == "op":
            return self.gate_pos[site[1]][1]
        if kind == "arg":
            args = self.gate_pos[site[1]][2]
            return args[site[2]] if site[2] < len(args) else self.gate_pos[site[1]][1]
        return self.end_pos

    def fail(self, message: str, line: int, col: int) -> GraphError:
        return GraphError(message, source=self.source, line=line, col=col)


def parse(text: str, source: str | None = None) -> FunctionGraph:
    """Parse ``.fg`` text into a :class:`FunctionGraph`.

    Parameters
    ----------
    text : str
        The graph in the ``.fg`` language.
    source : str, optional
        File name used in error messages; its stem becomes the graph's ``name``.

    Returns
    -------
    FunctionGraph

    Raises
    ------
    GraphError
        On any malformed input, with ``source:line:col`` and what is wrong. Unused inputs and
        gates that reach no output are reported with :func:`warnings.warn` instead.
    """
    if not isinstance(text, str):
        raise GraphError(f"expected .fg text as str, got {type(text).__name__}", source=source)
    parsed = _Parsed(source=source)
    # A byte-order mark and CR / CRLF line ends are accepted as `load` (universal newlines) accepts them.
    lines = normalise_text(text).split("\n")
    for number, line in enumerate(lines, start=1):
        _parse_line(parsed, number, line)
    parsed.end_pos = (len(lines), 1)
    inputs, gates, outputs = tuple(parsed.inputs), tuple(parsed.gates), tuple(parsed.outputs)
    validate(inputs, gates, outputs, locate=parsed.locate, source=source, warn=True)
    name = Path(source).stem if source else None
    return FunctionGraph(inputs, gates, outputs, name=name)


def load(path: str | Path) -> FunctionGraph:
    """Read and parse a ``.fg`` file (see :func:`parse`): UTF-8, a leading BOM and CR / CRLF accepted.

    Raises
    ------
    GraphError
        Also for a file that is not UTF-8 (at the line and column of the first bad byte) or not a
        regular file (a FIFO or a device is refused before reading).
    """
    path = Path(path)
    try:
        data = read_regular_bytes(path)
    except OSError as exc:
        raise GraphError(f"cannot read graph file: {exc.strerror or exc}", source=str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + data.count(b"\r", 0, exc.start) - data.count(b"\r\n", 0, exc.start) + 1
        start = max(data.rfind(b"\n", 0, exc.start), data.rfind(b"\r", 0, exc.start)) + 1
        raise GraphError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", source=str(path), line=line,
                         col=len(data[start:exc.start].decode("utf-8", "replace")) + 1) from None
    return parse(text, source=str(path))


def format_graph(graph: FunctionGraph) -> str:
    """The ``.fg`` text of a graph (plain gates only); ``parse(format_graph(g)) == g``."""
    lines = []
    if graph.name:
        lines.append(f"# {graph.name}")
    lines.append("inputs " + " ".join(graph.inputs))
    for g in graph.gates:
        args = ", ".join(("!" if neg else "") + src for src, neg in g.args)
        lines.append(f"{g.name} = {g.op}({args})")
    lines.append("outputs " + " ".join(graph.outputs))
    return "\n".join(lines) + "\n"


def _tokenize(parsed: _Parsed, number: int, line: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(line):
        m = _TOKEN.match(line, pos)
        if m is None or m.end() == pos:
            rest = line[pos:]
            stripped = rest.lstrip()
            if not stripped:
                break
            col = pos + len(rest) - len(stripped) + 1
            raise parsed.fail(f"unexpected character {stripped[0]!r}", number, col)
        if m.group("name"):
            tokens.append(_Token("name", m.group("name"), m.start("name") + 1))
        elif m.group("punct"):
            tokens.append(_Token(m.group("punct"), m.group("punct"), m.start("punct") + 1))
        elif m.group("comment") is not None:
            break
        pos = m.end()
    return tokens


class _Cursor:
    """Walks the tokens of one line and raises located errors on unexpected ones."""

    def __init__(self, parsed: _Parsed, number: int, line: str, tokens: list[_Token]):
        self.parsed, self.number, self.tokens, self.i = parsed, number, tokens, 0
        self.end_col = len(line.split("#", 1)[0].rstrip()) + 1

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, what: str) -> _Token:
        tok = self.peek()
        if tok is None or tok.kind != kind:
            found = "end of line" if tok is None else f"'{tok.text}'"
            col = self.end_col if tok is None else tok.col
            raise self.parsed.fail(f"expected {what}, found {found}", self.number, col)
        self.i += 1
        return tok

    def done(self) -> None:
        tok = self.peek()
        if tok is not None:
            raise self.parsed.fail(f"unexpected '{tok.text}' after the end of the definition",
                                   self.number, tok.col)


def _parse_line(parsed: _Parsed, number: int, line: str) -> None:
    tokens = _tokenize(parsed, number, line)
    if not tokens:
        return
    cur = _Cursor(parsed, number, line, tokens)
    first = tokens[0]
    second = tokens[1] if len(tokens) > 1 else None
    if first.kind == "name" and first.text in ("inputs", "outputs") and (second is None or second.kind == "name"):
        _parse_declaration(cur, first.text)
    else:
        _parse_definition(cur)


def _parse_declaration(cur: _Cursor, keyword: str) -> None:
    cur.take("name", keyword)
    names, positions = (cur.parsed.inputs, cur.parsed.input_pos) if keyword == "inputs" else \
        (cur.parsed.outputs, cur.parsed.output_pos)
    count = 0
    while cur.peek() is not None:
        tok = cur.take("name", f"a name in the '{keyword}' list")
        names.append(tok.text)
        positions.append((cur.number, tok.col))
        count += 1
    if count == 0:
        cur.take("name", f"at least one name after '{keyword}'")


def _parse_definition(cur: _Cursor) -> None:
    targets = [cur.take("name", "a gate name (or 'inputs' / 'outputs')")]
    while cur.peek() is not None and cur.peek().kind == ",":
        cur.take(",", "','")
        targets.append(cur.take("name", "a name after ','"))
    cur.take("=", "'=' after the gate name")
    op = cur.take("name", "a gate (and, or, id)")
    cur.take("(", f"'(' after '{op.text}'")
    args: list[tuple[str, bool, int]] = []
    if cur.peek() is not None and cur.peek().kind == ")":
        cur.take(")", "')'")
    else:
        while True:
            negated = cur.peek() is not None and cur.peek().kind == "!"
            if negated:
                cur.take("!", "'!'")
            arg = cur.take("name", "an input or gate name")
            args.append((arg.text, negated, arg.col))
            if cur.peek() is not None and cur.peek().kind == ")":
                cur.take(")", "')'")
                break
            cur.take(",", "',' or ')'")
    cur.done()
    _add_definition(cur.parsed, cur.number, targets, op, args)


def _add_definition(parsed: _Parsed, number: int, targets: list[_Token], op: _Token,
                    args: list[tuple[str, bool, int]]) -> None:
    if op.text not in ALL_OPS:
        best = closest_name(op.text, ALL_OPS)
        hint = f"; did you mean '{best}'?" if best else ""
        raise parsed.fail(f"unknown gate '{op.text}' (gates are and, or, id; shorthands xor, xnor, copy){hint}",
                          number, op.col)
    if len(targets) > 1 and op.text != "copy":
        raise parsed.fail(f"only copy(...) defines several names; '{op.text}' defines one", number,
                          targets[1].col)
    if op.text in ("xor", "xnor") and len(args) != 2:
        raise parsed.fail(f"wrong arity: {op.text} takes exactly 2 inputs, got {len(args)}", number, op.col)
    if op.text == "copy" and len(args) != 1:
        raise parsed.fail(f"wrong arity: copy takes exactly 1 input, got {len(args)}", number, op.col)
    op_pos = (number, op.col)
    arg_pos = [(number, col) for _, _, col in args]
    literal = [(name, neg) for name, neg, _ in args]

    def add(name: str, name_col: int, gate_op: str, gate_args, positions) -> None:
        parsed.gates.append(Gate(name, gate_op, tuple(gate_args)))
        parsed.gate_pos.append(((number, name_col), op_pos, positions))

    if op.text in ("xor", "xnor"):
        (a, na), (b, nb) = literal
        t = targets[0]
        if op.text == "xor":
            first, second = [(a, na), (b, not nb)], [(a, not na), (b, nb)]
        else:
            first, second = [(a, na), (b, nb)], [(a, not na), (b, not nb)]
        add(t.text + "_p", t.col, "and", first, arg_pos)
        add(t.text + "_q", t.col, "and", second, arg_pos)
        add(t.text, t.col, "or", [(t.text + "_p", False), (t.text + "_q", False)], [op_pos, op_pos])
    elif op.text == "copy":
        for t in targets:
            add(t.text, t.col, "id", literal, arg_pos)
    else:
        add(targets[0].text, targets[0].col, op.text, literal, arg_pos)
