"""The .fg language: parsing, formatting round trips, shorthands, the builder, and every error class."""
from __future__ import annotations

import warnings

import pytest

import functiongraphs as fg
from functiongraphs import FunctionGraph, Gate, GraphBuilder, GraphError, GraphWarning

ISSUE_EXAMPLE = """\
inputs x0 x1 x2 x3
a = and(x0, !x1)        # ! marks a negation edge; no ! is a transfer edge
b = and(!x0, x1)
y0 = or(a, b)
y1 = id(y0)
outputs y0 y1
"""

XOR_PAIR = """\
inputs x0 x1
a = and(x0, !x1)
b = and(!x0, x1)
y0 = or(a, b)
y1 = and(!a, !b)
outputs y0 y1
"""


def parse_error(text: str) -> GraphError:
    with pytest.raises(GraphError) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GraphWarning)
            fg.parse(text, source="t.fg")
    return info.value


def test_parse_gives_gates_with_negation_edges_in_order():
    g = fg.parse(XOR_PAIR)
    assert g.inputs == ("x0", "x1")
    assert g.outputs == ("y0", "y1")
    assert g.gates == (Gate("a", "and", (("x0", False), ("x1", True))),
                       Gate("b", "and", (("x0", True), ("x1", False))),
                       Gate("y0", "or", (("a", False), ("b", False))),
                       Gate("y1", "and", (("a", True), ("b", True))))


def test_format_prints_plain_gates_and_round_trips():
    g = fg.parse(XOR_PAIR)
    assert fg.format(g) == XOR_PAIR
    assert fg.parse(fg.format(g)) == g


def test_issue_example_output_feeding_id_is_rejected_at_its_use():
    # y0 is an output and feeds y1: outputs have no out-edges in the paper's graphs.
    err = parse_error(ISSUE_EXAMPLE)
    assert (err.line, err.col) == (5, 9)
    assert str(err).startswith("t.fg:5:9: output 'y0' feeds gate 'y1'")


def test_forward_references_and_definition_order_are_kept():
    g = fg.parse("inputs x0 x1\ny = or(a, x1)\na = and(x0, x1)\noutputs y\n")
    assert [gate.name for gate in g.gates] == ["y", "a"]
    assert [gate.name for gate in g.topological_order] == ["a", "y"]
    assert fg.parse(fg.format(g)) == g


def test_xor_xnor_and_copy_shorthands_expand_to_plain_gates():
    g = fg.parse("inputs x0 x1\nt = xor(x0, !x1)\nu = xnor(x0, x1)\ny0, y1 = copy(!t)\ny2 = and(t, u)\n"
                 "outputs y0 y1 y2\n")
    assert fg.format(g) == (
        "inputs x0 x1\n"
        "t_p = and(x0, x1)\nt_q = and(!x0, !x1)\nt = or(t_p, t_q)\n"
        "u_p = and(x0, x1)\nu_q = and(!x0, !x1)\nu = or(u_p, u_q)\n"
        "y0 = id(!t)\ny1 = id(!t)\ny2 = and(t, u)\n"
        "outputs y0 y1 y2\n")
    X, Y = g.truth_table()
    xor = X[:, 0] ^ X[:, 1]
    assert Y[:, 0].tolist() == xor.tolist() and Y[:, 1].tolist() == xor.tolist()
    assert Y[:, 2].tolist() == (1 - xor).tolist()


def test_name_comes_from_the_source_and_is_not_part_of_equality():
    a = fg.parse(XOR_PAIR, source="dir/pair.fg")
    assert a.name == "pair"
    assert a == fg.parse(XOR_PAIR)
    assert fg.format(a).startswith("# pair\n")
    assert fg.parse(fg.format(a)) == a


def test_load_reads_a_file_and_reports_missing_files(tmp_path):
    path = tmp_path / "pair.fg"
    path.write_text(XOR_PAIR)
    assert fg.load(path) == fg.parse(XOR_PAIR)
    with pytest.raises(GraphError, match="cannot read graph file"):
        fg.load(tmp_path / "missing.fg")


def test_windows_line_endings_and_multiple_declaration_lines():
    g = fg.parse("inputs x0\r\ninputs x1\r\ny = and(x0, x1)\r\noutputs y\r\n")
    assert g.inputs == ("x0", "x1")


@pytest.mark.parametrize("text, line, col, message", [
    ("inputs x0 x1\ny = nand(x0, x1)\noutputs y\n", 2, 5,
     "unknown gate 'nand' (gates are and, or, id; shorthands xor, xnor, copy); did you mean 'and'?"),
    ("inputs x0 x1\ny = and(x0)\noutputs y\n", 2, 5, "wrong arity: and takes at least 2 inputs, got 1"),
    ("inputs x0 x1\ny = or()\noutputs y\n", 2, 5, "wrong arity: or takes at least 2 inputs, got 0"),
    ("inputs x0 x1\ny = id(x0, x1)\noutputs y\n", 2, 5, "wrong arity: id takes exactly 1 input, got 2"),
    ("inputs x0 x1\ny = xor(x0)\noutputs y\n", 2, 5, "wrong arity: xor takes exactly 2 inputs, got 1"),
    ("inputs x0 x1\nalpha = and(x0, x1)\ny = or(alpah, x1)\noutputs y\n", 3, 8,
     "undefined name 'alpah'; did you mean 'alpha'?"),
    ("inputs x0 x1\ny = and(x0, x1)\noutputs y, z\n", 3, 10, "expected a name in the 'outputs' list, found ','"),
    ("inputs x0 x1\ny = and(x0, x1)\noutputs yy\n", 3, 9, "undefined output 'yy'; did you mean 'y'?"),
    ("inputs x0 x1\na = and(x0, x1)\na = or(x0, x1)\noutputs a\n", 3, 1,
     "'a' is defined twice (first defined as a gate at line 2:1)"),
    ("inputs x0 x1\nx1 = and(x0, x1)\noutputs x1\n", 2, 1,
     "'x1' is defined twice (first defined as an input at line 1:11)"),
    ("inputs x0 x0\ny = id(x0)\noutputs y\n", 1, 11, "input 'x0' is declared twice"),
    ("inputs x0 x1\na = and(x0, c)\nb = or(a, x1)\nc = and(b, x0)\ny = id(c)\noutputs y\n", 2, 1,
     "cycle: a -> b -> c -> a"),
    ("inputs x0 x1\na = and(x0, a)\noutputs a\n", 2, 13, "cycle: a -> a"),
    ("inputs x0 x1\ny0 = and(x0, x1)\ny1 = id(!y0)\noutputs y0 y1\n", 3, 10,
     "output 'y0' feeds gate 'y1'; outputs cannot have out-edges "
     "(give the output its own id gate and read the node it copies)"),
    ("inputs x0 x1\ny0 = and(x0, x1)\noutputs y0 x1\n", 3, 12,
     "output 'x1' is an input; outputs must be gates (use 'x1_out = id(x1)')"),
    ("inputs x0 x1\ny0 = and(x0, x1)\noutputs y0 y0\n", 3, 12, "output 'y0' is listed twice"),
    ("", 1, 1, "empty graph: no inputs, gates or outputs"),
    ("# only a comment\n", 2, 1, "empty graph: no inputs, gates or outputs"),
    ("inputs x0 x1\ny = and(x0, x1)\n", 3, 1, "graph has no outputs (add a line 'outputs ...')"),
    ("y = and(x0, x1)\noutputs y\n", 3, 1, "graph has no inputs (add a line 'inputs x0 x1 ...')"),
    ("inputs x0 x1\noutputs x0\n", 3, 1, "graph has no gates"),
    ("inputs x0 x1\ny = and(x0 x1)\noutputs y\n", 2, 12, "expected ',' or ')', found 'x1'"),
    ("inputs x0 x1\ny = and(x0, x1) $\noutputs y\n", 2, 17, "unexpected character '$'"),
    ("inputs x0 x1\ny = and(x0,\noutputs y\n", 2, 12, "expected an input or gate name, found end of line"),
    ("inputs x0 x1\ny = and(x0, !!x1)\noutputs y\n", 2, 14, "expected an input or gate name, found '!'"),
    ("inputs x0 x1\ny, z = and(x0, x1)\noutputs y\n", 2, 4, "only copy(...) defines several names; 'and' defines one"),
    ("inputs x0 x1\ny = and(x0, x0)\noutputs y\n", 2, 13, "'x0' is read twice by gate 'y'"),
    ("inputs\n", 1, 7, "expected at least one name after 'inputs', found end of line"),
])
def test_every_error_names_file_line_column_and_problem(text, line, col, message):
    err = parse_error(text)
    assert (err.source, err.line, err.col) == ("t.fg", line, col)
    assert str(err) == f"t.fg:{line}:{col}: {message}"


def test_unused_inputs_and_dead_gates_are_warnings_with_locations():
    with pytest.warns(GraphWarning) as record:
        g = fg.parse("inputs x0 x1 x2\ny = and(x0, x1)\nz = or(x0, x1)\noutputs y\n", source="w.fg")
    assert [str(w.message) for w in record] == ["w.fg:1:14: input 'x2' is not used by any gate",
                                                "w.fg:3:1: gate 'z' does not reach any output"]
    assert g.n_inputs == 3


def test_direct_construction_is_validated_without_location():
    with pytest.raises(GraphError, match=r"^undefined name 'qq'; did you mean 'q'\?$"):
        FunctionGraph(("x0", "q"), (Gate("y", "and", (("q", False), ("qq", False))),), ("y",))
    with pytest.raises(GraphError, match="invalid gate name 'inputs'"):
        FunctionGraph(("x0", "x1"), (Gate("inputs", "and", (("x0", False), ("x1", False))),), ("inputs",))


def test_builder_builds_the_same_graph_as_the_text():
    b = GraphBuilder("pair")
    x0, x1 = b.inputs(2)
    a = b.and_(x0, ~x1, name="a")
    c = b.and_(~x0, x1, name="b")
    b.output(b.or_(a, c, name="y0"), b.and_(~a, ~c, name="y1"))
    g = b.build()
    assert g == fg.parse(XOR_PAIR)
    assert g.name == "pair"


def test_builder_copies_xor_and_fresh_names():
    b = GraphBuilder()
    x = b.inputs(["p", "q"])
    t = b.xor(x[0], x[1])
    b.copies(t, ["o0", "o1"])
    g = b.build()
    assert fg.format(g) == ("inputs p q\ng1_p = and(p, !q)\ng1_q = and(!p, q)\ng1 = or(g1_p, g1_q)\n"
                            "o0 = id(g1)\no1 = id(g1)\noutputs o0 o1\n")
    with pytest.raises(GraphError, match="'p' is defined twice"):
        b.inputs(["p"])
    with pytest.raises(GraphError, match="cannot be negated"):
        b.output(~t)
