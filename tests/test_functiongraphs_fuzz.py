"""Fuzzing the parser: any text either parses or raises GraphError with a location, nothing else."""
from __future__ import annotations

import warnings

from hypothesis import given, settings
from hypothesis import strategies as st

import functiongraphs as fg
from functiongraphs import GraphError, GraphWarning

# Pieces of the language, so generated texts get past the tokenizer and reach the checks.
TOKENS = st.sampled_from(["inputs", "outputs", "x0", "x1", "x2", "a", "b", "y0", "y1", "and", "or", "id",
                          "xor", "xnor", "copy", "nand", "(", ")", ",", "!", "=", "#", " ", "\n", "\t", "\r",
                          "é", "0x", "$"])
NEAR_VALID = st.lists(TOKENS, max_size=60).map("".join)
LINE = st.one_of(
    st.builds(lambda ns: "inputs " + " ".join(ns), st.lists(st.sampled_from(["x0", "x1", "x2", "a"]), max_size=4)),
    st.builds(lambda ns: "outputs " + " ".join(ns), st.lists(st.sampled_from(["y0", "y1", "a", "x0"]), max_size=3)),
    st.builds(lambda t, op, args: f"{t} = {op}({', '.join(args)})",
              st.sampled_from(["a", "b", "y0", "y1", "x1", "a, b"]),
              st.sampled_from(["and", "or", "id", "xor", "xnor", "copy", "nor"]),
              st.lists(st.sampled_from(["x0", "!x1", "x2", "a", "!b", "y0", "!a", "q"]), max_size=4)),
)
LINES = st.lists(LINE, max_size=8).map("\n".join)


def check(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphWarning)
        try:
            graph = fg.parse(text, source="fuzz.fg")
        except GraphError as err:
            assert err.line is not None and err.line >= 1 and err.col >= 1
            assert str(err).startswith(f"fuzz.fg:{err.line}:{err.col}: ")
            assert "\n" not in str(err)
            return
        assert fg.parse(fg.format(graph)) == graph


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_raises_graph_error(text):
    check(text)


@settings(max_examples=300, deadline=None)
@given(NEAR_VALID)
def test_token_soup_parses_or_raises_graph_error(text):
    check(text)


@settings(max_examples=400, deadline=None)
@given(LINES)
def test_line_soup_parses_or_raises_graph_error(text):
    check(text)
