"""Drawings of runs: network / hierarchy / comparison .gv contents, `sculpt render RUN_DIR|NET.npz`."""
from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest

from functiongraphs import catalog
from sculpt.cli import main
from sculpt.render.comparison import draw_comparison
from sculpt.render.files import render_network_file, render_run_dir
from sculpt.render.graphviz_io import INSTALL_HINT
from sculpt.render.hierarchy import draw_hierarchy, module_node, unit_list_text
from sculpt.render.network import unit_node
from sculpt.run import run

DRAWINGS = ("network", "hierarchy", "comparison")


@pytest.fixture(scope="module")
def reused_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "reused"
    return run("separable-reused", p_u=[70], p_e=[2.5], out=out, progress=False, spectral=False)


def test_gv_files_name_every_module_and_surviving_unit(reused_run):
    run_dir = reused_run.run_dir
    modules = json.loads((run_dir / "modules.json").read_text())
    network = (run_dir / "network.gv").read_text()
    for layer, units in enumerate(modules["surviving_units"]):
        for unit in units:
            assert re.search(rf"^\s*{unit_node(layer, unit)} \[label=", network, re.M), (layer, unit)
    n_nodes = len(re.findall(r"^\s*L\d+_u\d+ \[label=", network, re.M))
    assert n_nodes == sum(len(u) for u in modules["surviving_units"])  # only surviving units are drawn
    for module in modules["modules"]:
        assert f"subgraph cluster_module{module['id']} {{" in network
        assert f"</FONT> M{module['id']}: layer" in network  # legend row
        for name in ("hierarchy", "comparison"):
            text = (run_dir / f"{name}.gv").read_text()
            assert re.search(rf"^\s*{module_node(module['id'])} \[label=<", text, re.M), (name, module["id"])


def test_network_edges_are_exactly_the_kept_edges(reused_run):
    network = (reused_run.run_dir / "network.gv").read_text()
    drawn = set(re.findall(r"^\s*L(\d+)_u(\d+) -> L(\d+)_u(\d+)", network, re.M))
    kept = reused_run.detection.surviving_units
    expected = set()
    for layer, mask in enumerate(reused_run.net.masks):
        for dst, src in zip(*np.nonzero(mask)):
            if src in kept[layer] and dst in kept[layer + 1]:
                expected.add((str(layer), str(src), str(layer + 1), str(dst)))
    assert drawn == expected


def test_comparison_holds_the_true_graph_and_the_hierarchy(reused_run):
    text = (reused_run.run_dir / "comparison.gv").read_text()
    assert "subgraph cluster_true {" in text and "subgraph cluster_recovered {" in text
    graph = catalog.get("separable-reused")
    for name in (*graph.inputs, *(g.name for g in graph.gates)):
        assert re.search(rf"^\s*{name} \[label=", text, re.M), name
    assert "true function graph: separable-reused  (6 inputs, 3 outputs, 6 gates)" in text
    criterion = reused_run.score["criteria"]["separable_reused_success"]
    assert f"separable_reused_success: {'yes' if criterion else 'NO'}" in text


def test_titles_carry_graph_arch_density_seed(reused_run):
    text = (reused_run.run_dir / "network.gv").read_text()
    density = 100 * reused_run.net.density
    assert "separable-reused   arch [6, 24, 24, 3]" in text
    assert f"density {density:.2f}%   seed 0   p_u 70  p_e 2.5   {reused_run.detection.num_modules} modules" in text


def test_render_run_dir_reproduces_the_drawings(reused_run, tmp_path, capsys):
    out = tmp_path / "redrawn"
    assert main(["render", str(reused_run.run_dir), "-o", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"wrote {out / name}.{ext}" for name in DRAWINGS for ext in ("gv", "svg", "png")]
    for name in DRAWINGS:
        assert (out / f"{name}.gv").read_text() == (reused_run.run_dir / f"{name}.gv").read_text()


def test_render_network_file_detects_modules(reused_run, tmp_path, capsys):
    out = tmp_path / "net"
    assert main(["render", str(reused_run.run_dir / "net.npz"), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.{e}" for n in ("network", "hierarchy")
                                                           for e in ("gv", "svg", "png"))
    network = (out / "network.gv").read_text()
    for module in reused_run.detection.modules:
        assert f"subgraph cluster_module{module.id} {{" in network
    assert "net.npz   arch [6, 24, 24, 3]" in network


def test_render_plain_mask_npz(tmp_path):
    masks = [np.array([[1, 1, 0, 0], [0, 0, 1, 1]]), np.array([[1, 0], [0, 1]])]
    path = tmp_path / "plain.npz"
    np.savez(path, mask0=masks[0], mask1=masks[1])
    written, notes = render_network_file(path, tmp_path / "o", formats=())
    assert [p.name for p in written] == ["network.gv", "hierarchy.gv"] and notes == []
    text = written[0].read_text()
    assert all(unit_node(layer, u) in text for layer, n in enumerate([4, 2, 2]) for u in range(n))


def test_render_refusals(reused_run, tmp_path, capsys):
    assert main(["render", str(reused_run.run_dir), "-o", str(tmp_path / "x.svg")]) == 2
    assert capsys.readouterr().err == (f"sculpt render: error: output {tmp_path / 'x.svg'} must be a directory for "
                                       "a run directory or a .npz network (several drawings are written)\n")
    assert main(["render", str(tmp_path / "none.npz"), "-o", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == f"sculpt render: error: no such network file: {tmp_path / 'none.npz'}\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["render", str(empty), "-o", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == f"sculpt render: error: {empty}: no network snapshot (.npz) in this directory\n"


def test_without_dot_only_gv_and_one_note(reused_run, tmp_path, monkeypatch):
    monkeypatch.setattr("sculpt.render.graphviz_io.shutil.which", lambda name: None)
    monkeypatch.setitem(sys.modules, "pygraphviz", None)  # import fails
    written, notes = render_run_dir(reused_run.run_dir, tmp_path / "o")
    assert [p.name for p in written] == [f"{name}.gv" for name in DRAWINGS]
    assert notes == [INSTALL_HINT]


HIERARCHY = {
    "modules": [{"id": 0, "units": {"0": [0, 1], "1": [3, 5]}, "layer_span": [0, 1]},
                {"id": 1, "units": {"0": [2, 3], "1": [7]}, "layer_span": [0, 1]},
                {"id": 2, "units": {"2": [1], "3": [0, 1]}, "layer_span": [2, 3]}],
    "edges": [{"source": 0, "target": 2, "edges": 2}, {"source": 1, "target": 2, "edges": 1}],
    "levels": [[0, 1], [2]], "input_modules": [0, 1], "output_modules": [2], "reused_modules": [],
}


def test_draw_hierarchy_labels():
    text = draw_hierarchy(HIERARCHY, 4, title="t", input_names=["a", "b", "c", "d"],
                          output_names=["p", "q"]).source
    assert 'rec_M0 -> rec_M2 [label=" 2 edges"' in text and 'rec_M1 -> rec_M2 [label=" 1 edge"' in text
    assert "rec_in0 [label=\"a b\"" in text and "rec_in1 [label=\"c d\"" in text
    assert "rec_out2 [label=\"p q\"" in text and 'rec_M2 -> rec_out2 [label=" 2"' in text
    assert "layers 0-1</FONT>" in text and "hidden 1: 2 units" in text and "hidden 1: 1 unit<" in text
    assert "outputs: 2 units" in text and "hidden 2: 1 unit<" in text
    assert "(reused)" not in text
    reused = dict(HIERARCHY, reused_modules=[2])
    assert "M2</B></FONT> (reused)" in draw_hierarchy(reused, 4).source


def test_unit_list_text_shortens_long_lists():
    assert unit_list_text(["y0", "y1"]) == "y0 y1"
    names = [f"y{i}" for i in range(20)]
    assert unit_list_text(names) == "y0 y1 y2 y3 ... y18 y19 (20 units)"


def test_comparison_rows_align_inputs_and_outputs():
    graph = catalog.get("input-separable")
    text = draw_comparison(graph, HIERARCHY, 4).source
    rows = re.findall(r"\{\s*rank=same\s*((?:\S+\s*)+?)\}", text)
    assert rows[0].split() == ["x0", "x1", "x2", "x3", "rec_in0", "rec_in1"]
    assert rows[-1].split() == ["y0", "y1", "y2", "y3", "rec_out2"]


def test_all_formats_come_from_one_layout_with_the_bytes_of_one_call_each(tmp_path):
    import shutil

    from sculpt.render.functiongraph import draw_function_graph
    from sculpt.render.graphviz_io import save_graph

    if shutil.which("dot") is None:
        pytest.skip("graphviz dot is not installed")
    drawing = draw_function_graph(catalog.get("reused"))
    written, note = save_graph(drawing, tmp_path / "g", formats=("svg", "png"))
    assert note is None and [p.name for p in written] == ["g.gv", "g.svg", "g.png"]
    for fmt in ("svg", "png"):
        assert (tmp_path / f"g.{fmt}").read_bytes() == drawing.pipe(format=fmt)


def test_a_failing_dot_over_several_formats_names_the_first_target(tmp_path, monkeypatch):
    import shutil

    from sculpt.errors import RenderError
    from sculpt.render.functiongraph import draw_function_graph
    from sculpt.render.graphviz_io import save_graph

    if shutil.which("dot") is None:
        pytest.skip("graphviz dot is not installed")
    drawing = draw_function_graph(catalog.get("reused"))
    drawing.body.append("  this is not dot {{{\n")
    with pytest.raises(RenderError, match=r"cannot render .*g\.svg: graphviz dot failed \(.*syntax error"):
        save_graph(drawing, tmp_path / "g", formats=("svg", "png"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.gv"]  # nothing half-written
