"""The README's "Your own model" example runs as printed and prints what it promises."""
from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def own_model_example() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("Your own model: any")
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)


@pytest.mark.usefixtures("one_torch_thread")
def test_readme_own_model_example_runs(tmp_path, monkeypatch):
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed (the example renders an SVG)")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(own_model_example(), "README.md", "exec"), {"__name__": "__readme__"})
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("density 0.0") and "{0: (0, 1)" in lines[0] and "{0: (2, 3)" in lines[0]
    assert float(lines[1]) < -2  # more clusterable than its shuffles
    assert lines[2] == "{'input_separable_success': True}"
    assert (tmp_path / "pruned.svg").stat().st_size > 0
