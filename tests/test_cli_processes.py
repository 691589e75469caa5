"""Real processes against one output (issue 16): the lock refuses a second writer with one line,
SIGTERM cleans up like Ctrl-C (no partial run directory, no orphaned grid workers), and
``--resume`` then finishes a grid with every trial recorded exactly once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process trees from /proc")


def sculpt(*argv, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "sculpt", *map(str, argv)], env=env, cwd=kwargs.get("cwd"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float = 120.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, grandchildren...), from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_second_run_is_refused_and_sigterm_leaves_nothing(tmp_path):
    out = tmp_path / "r"
    # long enough to be running still when the second process and the signal arrive
    first = sculpt("run", "input-separable", "--epochs", "3000", "--p-u", "70", "--p-e", "2.5", "--no-spectral",
                   "--no-progress", "--out", out)
    partial = wait_for(lambda: list(tmp_path.glob(".r.*.partial")), what="the first run's partial directory")
    second = sculpt("run", "input-separable", "--p-u", "70", "--p-e", "2.5", "--no-spectral", "--no-progress",
                    "--out", out)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2
    assert err == (f"sculpt run: error: {out} is being written by another sculpt process (lock "
                   f"{tmp_path / '.r.lock'}); wait for it to finish or choose another output\n")
    assert first.poll() is None and partial[0].is_dir()
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 143 and err.endswith("sculpt run: terminated\n")
    assert list(tmp_path.iterdir()) == []  # no OUT, no partial directory, no lock file


N_TRIALS = 24  # 1.5 s each on two workers: 18 s in all, so a loaded machine (slow imports of the
#               second process) still signals the first grid well before it finishes
ECHO = f'name = "e"\nkind = "echo"\n[defaults]\nsleep = 1.5\n[grid]\nvalue = {list(range(1, N_TRIALS + 1))}\n'


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_second_grid_is_refused_sigterm_stops_workers_and_resume_finishes_once(tmp_path):
    exp = tmp_path / "e.toml"
    exp.write_text(ECHO)
    out = tmp_path / "o"
    records = out / "records.jsonl"
    first = sculpt("grid", exp, "--out", out, "--jobs", "2", "-q")
    wait_for(lambda: _records(records), what="the first record")
    workers = wait_for(lambda: descendants(first.pid), what="worker processes")

    second = sculpt("grid", exp, "--out", out, "--jobs", "2", "-q", "--resume")
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2
    assert err == (f"sculpt grid: error: {out} is being written by another sculpt process (lock {out / '.lock'}); "
                   "wait for it to finish or choose another output\n")

    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 143 and err.endswith("sculpt grid: terminated\n"), err[-2000:]
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=30, what="the workers to stop")
    kept = _records(records)
    assert 1 <= len(kept) < N_TRIALS and all(r["status"] == "ok" for r in kept)

    third = sculpt("grid", exp, "--out", out, "--jobs", "2", "-q", "--resume")
    text, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    assert f"ran {N_TRIALS - len(kept)} trials (0 failed), skipped {len(kept)} finished, 0 remaining" in text
    final = _records(records)
    assert final[:len(kept)] == kept  # what was written stays as it was
    assert sorted(r["config"]["value"] for r in final) == list(range(1, N_TRIALS + 1))  # each exactly once


@pytest.mark.skipif(__import__("importlib").util.find_spec("ray") is None,
                    reason="ray is not installed (optional extra: pip install 'neural-sculpt[ray]')")
def test_sigterm_of_a_ray_grid_cancels_its_tasks(tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    exp = tmp_path / "e.toml"
    exp.write_text(ECHO)
    out = tmp_path / "o"
    grid = sculpt("grid", exp, "--backend", "ray", "--out", out, "--jobs", "2", "-q")
    wait_for(lambda: _records(out / "records.jsonl"), timeout=240, what="the first record")
    workers = descendants(grid.pid)
    grid.send_signal(signal.SIGTERM)  # ray.init's own SIGTERM handler (sys.exit) must not win
    _, err = grid.communicate(timeout=120)
    assert grid.returncode == 143 and err.endswith("sculpt grid: terminated\n"), err[-2000:]
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=60, what="the Ray processes to stop")
    kept = _records(out / "records.jsonl")
    assert 1 <= len(kept) < N_TRIALS and all(r["status"] == "ok" for r in kept)
