"""Defects a new user hit (issue 16): file modes, one-line errors, render and detect outputs,
versions, logging, provenance, the progress total, failed drawings, unwritable outputs."""
from __future__ import annotations

import errno
import json
import logging
import os
import re
import stat
import sys

import numpy as np
import pytest

from sculpt.cli import main
from sculpt.errors import ConfigError

SINGLE = ["--p-u", "70", "--p-e", "2.5", "--no-progress", "--no-spectral"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One finished `sculpt run` directory, shared read-only by the tests below."""
    out = tmp_path_factory.mktemp("run") / "r"
    assert main(["run", "input-separable", "--seed", "0", "--out", str(out), *SINGLE]) == 0
    return out


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------------------------------------------- file modes
@pytest.mark.parametrize("umask, file_mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, umask, file_mode):
    from sculpt.atomic import write_json_atomic

    before = os.umask(umask)
    try:
        target = write_json_atomic(tmp_path / "a" / "x.json", {"a": 1})
    finally:
        os.umask(before)
    assert _mode(target) == file_mode
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]  # no temporary left


def test_run_dir_and_its_files_follow_the_umask(tmp_path, capsys):
    before = os.umask(0o027)
    try:
        assert main(["run", "non-modular", "--out", str(tmp_path / "r"), *SINGLE]) == 0
    finally:
        os.umask(before)
    assert _mode(tmp_path / "r") == 0o750
    assert {_mode(p) for p in (tmp_path / "r").iterdir()} == {0o640}


# ------------------------------------------------------------------------------------- one-line errors
@pytest.mark.parametrize("argv, message", [
    (["--jobs", "0"], "n_jobs=0: expected a positive number of workers, or -1 for every core"),
    (["--seed", "-5"], "seed=-5: expected an integer >= 0 (or None for fresh entropy)"),
])
def test_ncut_bad_jobs_and_seed_are_one_line(run_dir, argv, message, capsys):
    assert main(["ncut", str(run_dir), "--shuffles", "2", *argv]) == 2
    assert capsys.readouterr().err == f"sculpt ncut: error: {message}\n"


def test_relative_clusterability_seed_none_is_fresh_and_reported(run_dir):
    from sculpt.nets import PrunedNet
    from sculpt.spectral import relative_clusterability, summary

    net = PrunedNet.load(run_dir / "net.npz")
    first = relative_clusterability(net, k=2, n_shuffles=3, seed=None, progress=False)
    again = relative_clusterability(net, k=2, n_shuffles=3, seed=first.seed, progress=False)
    assert first.seed >= 2 ** 32  # OS entropy (128 bits), not a default
    assert np.array_equal(first.shuffled, again.shuffled) and first.ncut == again.ncut
    assert first.to_dict()["seed"] == first.seed
    s = summary(net, k=2, n_shuffles=2, seed=None)
    assert s == summary(net, k=2, n_shuffles=2, seed=s["seed"])


def test_bad_seed_is_refused_before_any_work(monkeypatch):
    from sculpt.spectral import relative
    from sculpt.spectral import relative_clusterability

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the seed was checked")

    monkeypatch.setattr(relative, "weight_graph", no_work)
    for seed, jobs in ((-1, 1), (1.5, 1), (True, 1), (0, 0), (0, -2)):
        with pytest.raises(ConfigError):
            relative_clusterability([np.ones((2, 2))], k=2, seed=seed, n_jobs=jobs)


def test_unavailable_device_is_one_config_error():
    import torch

    from functiongraphs import Task, catalog
    from sculpt.nets import MaskedMLP
    from sculpt.prune import prune_grid

    if torch.version.cuda is None:
        device, message = "cuda", "device 'cuda': this torch build (.*) has no CUDA support; use device 'cpu'"
    else:  # a CUDA build: a GPU index this machine lacks
        device, message = "cuda:99", "device 'cuda:99': only \\d+ CUDA device"
    with pytest.raises(ConfigError, match=message):
        MaskedMLP([2, 3, 1], device=device)
    with pytest.raises(ConfigError, match=message):
        prune_grid(Task(catalog.get("non-modular")), [4, 8, 4], p_u=[70], p_e=[2.5], device=device,
                   progress=False)
    with pytest.raises(ConfigError, match="device 'gpu': not a torch device name"):
        MaskedMLP([2, 3, 1], device="gpu")


# ------------------------------------------------------------------------------------- render
def test_render_graph_into_a_directory(tmp_path, capsys):
    graph = tmp_path / "mine.fg"
    graph.write_text("inputs x0 x1\ny = and(x0, !x1)\noutputs y\n")
    out = tmp_path / "figs"
    assert main(["render", str(graph), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["mine.gv", "mine.png", "mine.svg"]
    assert (out / "mine.svg").read_text().lstrip().startswith("<?xml")
    out.mkdir(exist_ok=True)
    assert main(["render", "reused", "-o", str(out)]) == 0
    assert (out / "reused.gv").is_file() and (out / "reused.png").read_bytes()[:4] == b"\x89PNG"


def test_render_named_png_without_dot_is_an_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sculpt.render.graphviz_io.shutil.which", lambda name: None)
    monkeypatch.setitem(sys.modules, "pygraphviz", None)  # import fails
    target = tmp_path / "x.png"
    assert main(["render", "reused", "-o", str(target)]) == 2
    assert capsys.readouterr().err == (f"sculpt render: error: cannot write {target}: graphviz 'dot' not found; "
                                       f"wrote {tmp_path / 'x.gv'} only (install graphviz: apt-get install "
                                       "graphviz | brew install graphviz)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.gv"]


def test_failing_dot_is_one_line(tmp_path, capsys, monkeypatch):
    import graphviz

    def broken(self, format=None, **kwargs):
        raise graphviz.CalledProcessError(1, ["dot"], stderr=b"Error: trouble in init_rank\n")

    monkeypatch.setattr(graphviz.Digraph, "pipe", broken)
    assert main(["render", "reused", "-o", str(tmp_path / "x.svg")]) == 2
    assert capsys.readouterr().err == (f"sculpt render: error: cannot render {tmp_path / 'x.svg'}: graphviz dot "
                                       "failed (Error: trouble in init_rank)\n")


# ------------------------------------------------------------------------------------- detect
def test_detect_leaves_a_run_directory_consistent(run_dir, tmp_path, capsys):
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    assert main(["detect", str(run_dir), "--merge-threshold", "0.5"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(f"not written: {run_dir} is a sculpt run directory, whose modules.json belongs "
                                 "with its hierarchy.json, score.json and drawings; save this detection with -o FILE")
    target = tmp_path / "m.json"
    assert main(["detect", str(run_dir / "net.npz"), "--merge-threshold", "0.5", "-o", str(target)]) == 0
    assert json.loads(target.read_text())["source"] == str(run_dir / "net.npz")
    assert main(["detect", str(run_dir), "-o", str(run_dir / "modules.json")]) == 2
    assert capsys.readouterr().err == (f"sculpt detect: error: -o {run_dir / 'modules.json'}: that is a file of the "
                                       f"run directory {run_dir}, written with its other files; choose a file "
                                       "outside the run's own\n")
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before


# ------------------------------------------------------------------------------------- version, logging
def test_version(capsys):
    import numpy
    import torch

    import sculpt

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == (f"sculpt {sculpt.__version__} (torch {torch.__version__}, numpy "
                                       f"{numpy.__version__}, Python {sys.version.split()[0]})\n")


def test_step_messages_follow_quiet_and_verbose(tmp_path, capsys):
    assert main(["run", "non-modular", "--out", str(tmp_path / "a"), "--p-u", "70", "--p-e", "2.5",
                 "--no-spectral"]) == 0
    err = capsys.readouterr().err
    assert "training and pruning non-modular [4, 24, 24, 4]: 1 x 1 (p_u, p_e)\n" in err
    assert "detecting modules\n" in err and "prune non-modular" in err  # the bar
    assert main(["-q", "run", "non-modular", "--out", str(tmp_path / "b"), "--p-u", "70", "--p-e", "2.5",
                 "--no-spectral"]) == 0
    assert capsys.readouterr().err == ""
    assert logging.getLogger("sculpt").level == logging.WARNING
    assert main(["-v", "run", "non-modular", "--out", str(tmp_path / "c"), "--p-u", "70", "--p-e", "2.5",
                 "--no-spectral", "--no-progress"]) == 0
    assert logging.getLogger("sculpt").level == logging.DEBUG
    assert re.search(r"^config \{'graph': 'non-modular', .*\}; writing into .*/\.c\.\w+\.partial$",
                     capsys.readouterr().err, re.M)


def test_pruning_bar_has_a_total(monkeypatch):
    from functiongraphs import Task, catalog
    from sculpt.prune import grid
    from sculpt.prune import prune_grid

    bars = []
    init = grid._Progress.__init__

    def keep(self, *args, **kwargs):
        init(self, *args, **kwargs)
        bars.append(self.bar)

    monkeypatch.setattr(grid._Progress, "__init__", keep)
    prune_grid(Task(catalog.get("non-modular")), [4, 8, 8, 4], p_u=[70, 50], p_e=[2.5, 2, 1], progress=True)
    prune_grid(Task(catalog.get("non-modular")), [4, 8, 8, 4], p_u=None, p_e=[2.5, 2], progress=True)
    assert [(b.total, b.n) for b in bars] == [(2 + 6, 8), (2, 2)]


# ------------------------------------------------------------------------------------- provenance
def test_run_dir_records_its_provenance(run_dir):
    import torch

    import sculpt

    p = json.loads((run_dir / "provenance.json").read_text())
    assert set(p) == {"versions", "commit", "argv", "python", "time"}
    assert p["versions"]["sculpt"] == sculpt.__version__ and p["versions"]["torch"] == torch.__version__
    assert p["argv"] == ["sculpt", "run", "input-separable", "--seed", "0", "--out", str(run_dir), *SINGLE]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", p["time"])
    assert p["commit"] is None or re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", p["commit"])


def test_git_commit_outside_git_is_none(tmp_path, monkeypatch):
    from sculpt import provenance

    monkeypatch.setattr(provenance, "__file__", str(tmp_path / "sculpt" / "provenance.py"))
    provenance.git_commit.cache_clear()
    try:
        assert provenance.git_commit() is None
    finally:
        provenance.git_commit.cache_clear()


def test_grid_records_carry_provenance(tmp_path, capsys):
    exp = tmp_path / "e.toml"
    exp.write_text('name = "e"\nkind = "echo"\n[grid]\nvalue = [1, 2]\n')
    assert main(["grid", str(exp), "--backend", "serial", "--out", str(tmp_path / "o"), "-q"]) == 0
    lines = [json.loads(x) for x in (tmp_path / "o" / "records.jsonl").read_text().splitlines()]
    assert [r["provenance"]["argv"] for r in lines] == [["sculpt", "grid", str(exp), "--backend", "serial",
                                                         "--out", str(tmp_path / "o"), "-q"]] * 2
    assert {r["provenance"]["versions"]["numpy"] for r in lines} == {np.__version__}


# ------------------------------------------------------------------------------------- failed drawings
def test_failed_drawing_keeps_the_run(tmp_path, capsys, monkeypatch):
    from sculpt.errors import RenderError

    def broken(graph, fmt, target):
        raise RenderError(f"cannot render {target}: graphviz dot failed (out of memory)")

    def broken_formats(graph, formats, targets):  # the svg + png of a run come from one dot call
        return broken(graph, formats[0], targets[0])

    monkeypatch.setattr("sculpt.render.graphviz_io._pipe", broken)
    monkeypatch.setattr("sculpt.render.graphviz_io._pipe_formats", broken_formats)
    out = tmp_path / "r"
    assert main(["run", "input-separable", "--out", str(out), "--p-u", "70", "--p-e", "2.5", "--no-spectral"]) == 0
    captured = capsys.readouterr()
    note = ("drawing failed (RenderError: cannot render network.svg: graphviz dot failed (out of memory)); "
            "the run is kept without (all) drawings: redraw with `sculpt render RUN_DIR -o DIR`")
    assert captured.out.rstrip().endswith(note) and note in captured.err
    assert (out / "drawing-failed.txt").read_text() == note + "\n"
    assert (out / "net.npz").is_file() and json.loads((out / "score.json").read_text())["density"] > 0
    assert main(["render", str(out), "-o", str(tmp_path / "d")]) == 2  # dot still "fails": one line


# ------------------------------------------------------------------------------------- unwritable outputs
def _no_space(monkeypatch, name: str):
    """Writing a file called ``name`` fails with ENOSPC (a full disk)."""
    import sculpt.atomic

    real = sculpt.atomic.os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fdopen(fd, mode, **kwargs):
        fh = real(fd, mode, **kwargs)
        return Full(fh) if os.readlink(f"/proc/self/fd/{fd}").split("/")[-1].startswith(f".{name}.") else fh

    monkeypatch.setattr(sculpt.atomic.os, "fdopen", fdopen)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name the file being written")
def test_full_disk_during_a_run_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    _no_space(monkeypatch, "score.json")
    out = tmp_path / "r"
    assert main(["run", "input-separable", "--out", str(out), *SINGLE]) == 2
    assert capsys.readouterr().err == f"sculpt run: error: cannot write {out}/score.json: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name the file being written")
def test_full_disk_for_records_side_files(run_dir, tmp_path, capsys, monkeypatch):
    _no_space(monkeypatch, "s.json")
    assert main(["ncut", str(run_dir), "--shuffles", "2", "--k", "2", "--json", str(tmp_path / "s.json")]) == 2
    assert capsys.readouterr().err.endswith(f"sculpt ncut: error: cannot write {tmp_path / 's.json'}: "
                                            "No space left on device\n")
    assert list(tmp_path.iterdir()) == []


def test_output_where_a_directory_or_file_is_in_the_way(run_dir, tmp_path, capsys):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    assert main(["detect", str(run_dir), "-o", str(tmp_path / "adir")]) == 2
    assert capsys.readouterr().err == f"sculpt detect: error: cannot write {tmp_path / 'adir'}: is a directory, not a file\n"
    assert main(["detect", str(run_dir), "-o", str(tmp_path / "afile" / "m.json")]) == 2
    assert capsys.readouterr().err == (f"sculpt detect: error: cannot write {tmp_path / 'afile' / 'm.json'}: "
                                       "File exists\n")
    assert main(["run", "reused", "--out", str(tmp_path / "afile" / "r"), *SINGLE]) == 2
    assert capsys.readouterr().err.startswith(f"sculpt run: error: cannot write {tmp_path / 'afile' / 'r'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile"] and list((tmp_path / "adir").iterdir()) == []


def test_read_only_directory(run_dir, tmp_path, capsys, monkeypatch):
    """A read-only directory (simulated: the tests may run as root, who can write anyway)."""
    import sculpt.atomic
    from sculpt.errors import OutputError

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(sculpt.atomic.tempfile, "mkstemp", refused)
    assert main(["detect", str(run_dir), "-o", str(tmp_path / "m.json")]) == 2
    assert capsys.readouterr().err == f"sculpt detect: error: cannot write {tmp_path / 'm.json'}: Permission denied\n"
    with pytest.raises(OutputError):
        sculpt.atomic.write_text_atomic(tmp_path / "x.txt", "x")


# ------------------------------------------------------------------------------------- experiment graphs
GRAPH = "inputs x0 x1 x2 x3\na = and(x0, x1)\nb = or(x2, x3)\noutputs a b\n"


def test_experiment_graph_paths_resolve_against_the_experiment_file(tmp_path, monkeypatch):
    from sculpt.experiments.config import load_experiment

    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "g.fg").write_text(GRAPH)
    (folder / "e.toml").write_text('kind = "sculpt"\n[[cells]]\ngraph = "g.fg"\narch = [8]\np_u = [70.0]\n'
                                   'p_e = [2.5]\n')
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    trial = load_experiment(folder / "e.toml").trials[0]
    assert trial.params["graph"] == str(folder / "g.fg")
    moved = tmp_path / "moved"
    folder.rename(moved)  # the same files elsewhere: the same trial
    assert load_experiment(moved / "e.toml").trials[0].trial_id == trial.trial_id


def test_editing_a_graph_changes_its_trial_id_and_resume_runs_it(tmp_path, capsys):
    (tmp_path / "g.fg").write_text(GRAPH)
    exp = tmp_path / "e.toml"
    exp.write_text('kind = "sculpt"\n[[cells]]\ngraph = "g.fg"\narch = [8]\np_u = [70.0]\np_e = [2.5]\n'
                   'epochs = 20\nlr = 0.1\n')
    out = tmp_path / "o"
    assert main(["grid", str(exp), "--backend", "serial", "--out", str(out), "-q"]) == 0
    assert "ran 1 trials (0 failed), skipped 0" in capsys.readouterr().out
    assert main(["grid", str(exp), "--backend", "serial", "--out", str(out), "-q", "--resume"]) == 0
    assert "ran 0 trials (0 failed), skipped 1" in capsys.readouterr().out
    (tmp_path / "g.fg").write_text(GRAPH.replace("or(x2, x3)", "and(x2, !x3)"))
    assert main(["grid", str(exp), "--backend", "serial", "--out", str(out), "-q", "--resume"]) == 0
    assert "ran 1 trials (0 failed), skipped 0" in capsys.readouterr().out
    records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert len({r["trial_id"] for r in records}) == 2 and all(r["status"] == "ok" for r in records)


def test_full_disk_while_appending_a_record_leaves_no_partial_line(tmp_path, capsys, monkeypatch):
    from sculpt.experiments import records

    exp = tmp_path / "e.toml"
    exp.write_text('name = "e"\nkind = "echo"\n[grid]\nvalue = [1, 2, 3]\n')
    real_write, calls = os.write, []

    def write(fd, data):
        calls.append(len(data))
        if len(calls) == 2:  # the second record: half of it reaches the disk, then the disk is full
            real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(records.os, "write", write)
    out = tmp_path / "o"
    assert main(["grid", str(exp), "--backend", "serial", "--out", str(out), "-q"]) == 2
    assert capsys.readouterr().err == f"sculpt grid: error: cannot write {out / 'records.jsonl'}: No space left on device\n"
    lines = (out / "records.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["config"]["value"] == 1
    monkeypatch.setattr(records.os, "write", real_write)
    assert main(["grid", str(exp), "--backend", "serial", "--out", str(out), "-q", "--resume"]) == 0
    assert sorted(json.loads(x)["config"]["value"] for x in (out / "records.jsonl").read_text().splitlines()) == [1, 2, 3]


def test_grid_and_report_outputs_blocked_by_a_file(tmp_path, capsys):
    exp = tmp_path / "e.toml"
    exp.write_text('name = "e"\nkind = "echo"\n[grid]\nvalue = [1]\n')
    blocker = tmp_path / "taken"
    blocker.write_text("mine")
    assert main(["grid", str(exp), "--backend", "serial", "--out", str(blocker), "-q"]) == 2
    assert capsys.readouterr().err == f"sculpt grid: error: cannot write {blocker}: File exists\n"
    assert main(["grid", str(exp), "--backend", "serial", "--out", str(tmp_path / "o"), "-q"]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "o"), "-o", str(blocker)]) == 2
    assert capsys.readouterr().err == f"sculpt report: error: {blocker}: File exists\n"  # any OSError: one line
    assert blocker.read_text() == "mine"


# ------------------------------------------------------------------------------------- locks
def test_lock_is_exclusive_and_leaves_no_file(tmp_path):
    from sculpt.errors import OutputError
    from sculpt.locks import exclusive_output

    lock = tmp_path / ".x.lock"
    with exclusive_output(lock, tmp_path / "x"):
        with pytest.raises(OutputError, match=r"x is being written by another sculpt process \(lock .*\.x\.lock\)"):
            with exclusive_output(lock, tmp_path / "x"):
                pass
    assert list(tmp_path.iterdir()) == []
    with exclusive_output(lock, tmp_path / "x"):  # free again
        assert lock.is_file()


def test_a_lock_taken_on_a_removed_file_is_taken_again(tmp_path, monkeypatch):
    """The race of removing lock files: a lock got on a file no longer at the path does not count."""
    from sculpt import locks

    lock = tmp_path / ".x.lock"
    lock.write_text("")
    fd = os.open(lock, os.O_RDONLY)
    try:
        lock.rename(tmp_path / "old")  # the path now names another file, or none
        with pytest.raises(locks._Stale):
            locks._still_named(lock)(fd)
        lock.write_text("")
        with pytest.raises(locks._Stale):
            locks._still_named(lock)(fd)
    finally:
        os.close(fd)
    (tmp_path / "old").unlink()
    calls = []
    real = locks._still_named

    def stale_once(path):
        check = real(path)

        def first_fails(fd):
            calls.append(fd)
            if len(calls) == 1:
                raise locks._Stale()
            check(fd)
        return first_fails

    monkeypatch.setattr(locks, "_still_named", stale_once)
    with locks.exclusive_output(lock, tmp_path / "x"):
        assert len(calls) == 2  # rolled back, then taken on the current file
    assert list(tmp_path.iterdir()) == []


def test_an_error_raised_while_cleaning_up_after_sigterm_still_exits_143(monkeypatch, capsys):
    # Ray's clean-up can replace our Terminated by an error of its own; the command was terminated.
    import signal
    import time

    import sculpt.commands.catalog as catalog

    def list_then_fail_cleaning_up(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        except KeyboardInterrupt:
            raise RuntimeError("clean-up failed") from None

    monkeypatch.setattr(catalog, "run_list", list_then_fail_cleaning_up)
    assert main(["catalog", "list"]) == 143
    assert capsys.readouterr().err == "sculpt catalog: terminated\n"


def test_an_error_without_sigterm_is_not_reported_as_terminated(monkeypatch):
    import sculpt.commands.catalog as catalog

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(catalog, "run_list", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["catalog", "list"])
