"""True structure of the catalog families: the groups the scorer compares detected modules with."""
from __future__ import annotations

import pytest

import functiongraphs as fg
from functiongraphs import catalog

EVEN_ODD = {u: (tuple(range(0, 2 * u, 2)), tuple(range(1, 2 * u, 2))) for u in (1, 2, 4, 6, 8)}


def test_input_separable():
    s = fg.structure(catalog.get("input-separable"))
    assert (s.n_inputs, s.n_outputs) == (4, 4)
    assert s.input_groups == ((0, 1), (2, 3))
    assert s.output_groups == ((0,), (1,), (2,), (3,))
    assert s.output_support_groups == ((0, 1), (2, 3))
    assert s.reused_nodes == ("a", "b", "c", "d")
    assert s.levels == {"x0": 0, "x1": 0, "x2": 0, "x3": 0, "a": 1, "b": 1, "c": 1, "d": 1,
                        "y0": 2, "y1": 2, "y2": 2, "y3": 2}
    assert s.subfunctions["y1"] == (0, 1) and s.subfunctions["c"] == (2, 3)


def test_separable_reused():
    s = fg.structure(catalog.get("separable-reused"))
    assert s.input_groups == ((0, 1), (2, 3), (4, 5))
    assert s.output_groups == ((0,), (1,), (2,))
    assert s.output_support_groups == ((0,), (1,), (2,))
    assert s.reused_nodes == ("h1", "h2", "h3")
    assert s.subfunctions["y1"] == (0, 1, 4, 5)


@pytest.mark.parametrize("use", [1, 2, 4, 6, 8])
def test_reuse_family_is_one_input_group_with_even_and_odd_outputs(use):
    s = fg.structure(catalog.get(f"reuse-use{use}"))
    assert s.input_groups == ((0, 1, 2, 3),)
    assert s.output_groups == EVEN_ODD[use]
    assert s.output_support_groups == (tuple(range(2 * use)),)
    assert s.reused_nodes == ("g2",) if use == 1 else ("g2", "f1", "f2")
    assert max(s.levels.values()) == 3


def test_reused_exemplar_and_non_modular():
    assert fg.structure(catalog.get("reused")).output_groups == EVEN_ODD[8]
    s = fg.structure(catalog.get("non-modular"))
    assert s.input_groups == ((0, 1, 2, 3),)
    assert s.output_groups == ((0, 1, 2, 3),)
    assert s.reused_nodes == ("f",)


@pytest.mark.parametrize("overlap, groups", [
    (0, ((0, 1, 2, 3), (4, 5, 6, 7))),
    (1, ((0, 1, 2), (3,), (4, 5, 6))),
    (2, ((0, 1), (2, 3), (4, 5))),
    (3, ((0,), (1, 2, 3), (4,))),
    (4, ((0, 1, 2, 3),)),
])
@pytest.mark.parametrize("use", [1, 2, 4, 6, 8])
def test_input_overlap_groups_are_specific_a_shared_specific_b(overlap, groups, use):
    s = fg.structure(catalog.get(f"overlap{overlap}-use{use}"))
    assert s.input_groups == groups
    assert s.output_groups == EVEN_ODD[use]
    assert s.output_support_groups == (EVEN_ODD[use] if overlap < 4 else (tuple(range(2 * use)),))
    n = 8 - overlap
    assert s.subfunctions["A"] == (0, 1, 2, 3)
    assert s.subfunctions["B"] == tuple(range(n - 4, n))


@pytest.mark.parametrize("use", [1, 2, 4, 6, 8])
def test_hierarchical_inputs_split_in_halves_outputs_even_odd(use):
    s = fg.structure(catalog.get(f"hierarchical-use{use}"))
    assert s.input_groups == ((0, 1, 2, 3), (4, 5, 6, 7))
    assert s.output_groups == EVEN_ODD[use]
    assert s.output_support_groups == (tuple(range(2 * use)),)
    assert (s.levels["A"], s.levels["B"], s.levels["m"], s.levels["f1"], s.levels["y0"]) == (2, 2, 3, 4, 5)
    assert set(s.reused_nodes) >= {"A", "B", "m"}


def test_output_groups_above_the_semantic_bound_use_structure():
    b = fg.GraphBuilder()
    xs = b.inputs(22)
    f = b.and_(*xs[:11], name="f")
    g = b.or_(*xs[11:], name="g")
    b.copies(f, ["y0", "y2"])
    b.copies(g, ["y1"])
    b.output(b.id_(~f, name="y3"))
    s = fg.structure(b.build())
    assert s.output_groups == ((0, 1), (2,), (3,))
    assert s.input_groups == (tuple(range(11)), tuple(range(11, 22)))


def test_to_dict_is_json_ready():
    d = fg.structure(catalog.get("input-separable")).to_dict()
    assert d["input_groups"] == [[0, 1], [2, 3]]
    assert d["output_support_groups"] == [[0, 1], [2, 3]]


MAJORITY_TEXTS = (
    "inputs a b c\nab = and(a, b)\nac = and(a, c)\nbc = and(b, c)\ny = or(ab, ac, bc)\noutputs y\n",
    "inputs a b c\nab = and(a, b)\no = or(a, b)\nco = and(c, o)\ny = or(ab, co)\noutputs y\n",
)


def test_input_groups_depend_on_the_function_not_on_how_its_gates_are_written():
    one, two = (fg.structure(fg.parse(t)) for t in MAJORITY_TEXTS)
    assert one.input_groups == two.input_groups == ((0, 1, 2),)
    # written the second way, the gates alone would have split (a, b) from c
    graph = fg.parse(MAJORITY_TEXTS[1])
    from functiongraphs.structure import group_indices

    assert group_indices([frozenset(graph.successors[n]) for n in graph.inputs]) == ((0, 1), (2,))


def test_input_groups_of_a_shared_sub_function_and_of_an_input_nothing_reads():
    # y0 = A and x4, y1 = A or !x4 with A = xor(x0, x1) and x2 and x3; y2 = x5 and (x5 or x4) = x5
    b = fg.GraphBuilder()
    x = b.inputs(6)
    xor = b.or_(b.and_(x[0], ~x[1]), b.and_(~x[0], x[1]))
    a = b.and_(xor, x[2], x[3], name="A")
    b.output(b.and_(a, x[4], name="y0"))
    b.output(b.or_(a, ~x[4], name="y1"))
    b.output(b.and_(x[5], b.or_(x[5], x[4]), name="y2"))  # = x5: x4 is read but does not matter
    s = fg.structure(b.build())
    assert s.input_groups == ((0, 1, 2, 3), (4,), (5,))  # x4 joins no group of y2's


@pytest.mark.parametrize("name", catalog.names())
def test_every_catalog_graph_keeps_the_papers_input_groups(name):
    """On the paper's 39 graphs the function-based groups equal the gates-fed groups it designed."""
    from functiongraphs.structure import group_indices

    graph = catalog.get(name)
    by_gates = group_indices([frozenset(graph.successors[n]) for n in graph.inputs])
    assert fg.structure(graph).input_groups == by_gates
