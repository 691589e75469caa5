"""The hostile-input probe (``python -m bench probe``): no traceback, hang, wrong acceptance or lost data.

The default suite runs the library readers on the quick set of files; the slow test runs every
reader and CLI command, a real run directory included (what the issue's probe counted).
"""
from __future__ import annotations

import pytest

from bench.probe import OUTCOMES, probe


def test_library_readers_on_hostile_files(tmp_path):
    report = probe(tmp_path, quick=True, timeout=60, kinds=("npz", "config", "experiment", "records", "fg", "idx"),
                   cli=False)
    assert report.runs > 200
    assert report.counts == {k: 0 for k in OUTCOMES}, {k: v[:10] for k, v in report.examples.items() if v}


@pytest.mark.slow
def test_every_reader_and_command_on_hostile_files(tmp_path):
    report = probe(tmp_path, quick=False, timeout=60)
    assert report.runs > 900
    assert report.counts == {k: 0 for k in OUTCOMES}, {k: v[:10] for k, v in report.examples.items() if v}
