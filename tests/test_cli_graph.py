"""The `sculpt graph`, `sculpt catalog` and `sculpt render` (function graph) commands."""
from __future__ import annotations

import pytest

from functiongraphs import catalog
from sculpt.cli import main


def write(tmp_path, text, name="g.fg"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_graph_check_ok_with_warning(tmp_path, capsys):
    path = write(tmp_path, "inputs x0 x1 x2\ny = and(x0, x1)\noutputs y\n")
    assert main(["graph", "check", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["ok: 3 inputs, 1 outputs, 1 gates", f"warning: {path}:1:14: input 'x2' is not used by any gate"]


def test_graph_check_error_is_one_line_exit_2(tmp_path, capsys):
    path = write(tmp_path, "inputs x0 x1\ny = and(x0, x9)\noutputs y\n")
    assert main(["graph", "check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"sculpt graph: error: {path}:2:13: undefined name 'x9'; did you mean 'x1'?\n"


def test_graph_check_missing_file(tmp_path, capsys):
    assert main(["graph", "check", str(tmp_path / "nope.fg")]) == 2
    assert "cannot read graph file" in capsys.readouterr().err


def test_catalog_list_prints_every_graph(capsys):
    assert main(["catalog", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "modularity", "in/out"]
    assert len(lines) == 40
    assert lines[1].startswith("input-separable    [4, 2, 4]         4/4     input separable")
    assert [line.split()[0] for line in lines[1:]] == catalog.names()


def test_catalog_show_prints_text_modularity_and_structure(capsys):
    assert main(["catalog", "show", "hierarchical-use1"]) == 0
    out = capsys.readouterr().out
    assert catalog.text("hierarchical-use1") in out
    assert "modularity: [8, 2, 1, 2, 2]\n" in out
    assert "input groups: {0,1,2,3} {4,5,6,7}\n" in out
    assert "output groups (same function): {0} {1}\n" in out
    assert "reused gates: A B m\n" in out


def test_catalog_show_truth_table(capsys):
    assert main(["catalog", "show", "input-separable", "--truth-table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index("x0 x1 x2 x3 | y0 y1 y2 y3"):]
    assert len(table) == 17
    assert table[1] == "0  0  0  0  | 0  1  0  1"
    assert table[7] == "0  1  1  0  | 1  0  1  0"


def test_catalog_show_unknown_suggests(capsys):
    assert main(["catalog", "show", "overlap2-use3"]) == 2
    assert capsys.readouterr().err == ("sculpt catalog: error: unknown catalog graph 'overlap2-use3'; "
                                       "did you mean 'overlap2-use8'?\n")


def test_render_catalog_name_writes_gv_and_svg(tmp_path, capsys):
    out = tmp_path / "fig" / "sep.svg"
    assert main(["render", "separable-reused", "-o", str(out)]) == 0
    assert (tmp_path / "fig" / "sep.gv").is_file()
    gv = (tmp_path / "fig" / "sep.gv").read_text()
    assert "rankdir=BT" in gv and "cluster_group2" in gv
    assert out.read_text().lstrip().startswith("<?xml")
    assert capsys.readouterr().out.splitlines() == [f"wrote {tmp_path / 'fig' / 'sep.gv'}", f"wrote {out}"]


def test_render_graph_file_gv_only(tmp_path, capsys):
    path = write(tmp_path, "inputs x0 x1\ny = and(x0, !x1)\noutputs y\n")
    assert main(["render", str(path), "-o", str(tmp_path / "g.gv")]) == 0
    gv = (tmp_path / "g.gv").read_text()
    assert 'x1 -> y [arrowhead=odot color="#c0392b" style=dashed]' in gv
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.parametrize("argv, message", [
    (["render", "reusd", "-o", "x.svg"], "unknown catalog graph 'reusd'; did you mean 'reused'?"),
    (["render", "reused", "-o", "x.jpg"], "output x.jpg must end in .svg, .png, .pdf or .gv"),
    (["render", "missing.fg", "-o", "x.svg"], "no such graph file: missing.fg"),
])
def test_render_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert capsys.readouterr().err == f"sculpt render: error: {message}\n"
