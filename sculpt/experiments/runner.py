"""Run an experiment's trials on local cores (joblib/loky), on Ray, or serially, with resumable records.

The parent process is the only writer: workers return a record, the parent appends it (one
fsync'ed JSON line) as soon as that trial finishes, in completion order. Killing the parent loses
at most the trials in flight; ``resume=True`` skips every trial already recorded as finished.

Local cores use joblib/loky with ``return_as="generator_unordered"``. Ray runs the same trial
function as Ray tasks collected with ``ray.wait`` (see :func:`_execute_on_ray` for why not Ray's
joblib backend); ``address`` reaches a cluster, a local Ray node is started otherwise.

One writer per output directory: ``OUT/.lock`` is held for the whole call, and a second grid on
the same ``OUT`` is refused at once (:mod:`sculpt.locks`) instead of running every trial again.
Ctrl-C and SIGTERM (the ``sculpt`` command turns it into an interrupt) stop the workers (loky
processes, Ray tasks) before returning; the records already written stay valid, and ``--resume``
runs the rest exactly once. Each record carries the grid call's ``provenance``
(:func:`sculpt.provenance.provenance`: versions, commit, command line, time).
"""
from __future__ import annotations

import functools
import logging
import os
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from sculpt.errors import ConfigError
from sculpt.experiments.config import Experiment, Trial, load_experiment
from sculpt.experiments.records import RecordWriter, finished_ids, read_records
from sculpt.experiments.trial import trial_kind

log = logging.getLogger(__name__)

BACKENDS = ("loky", "ray", "serial")
RECORDS_NAME = "records.jsonl"
LOCK_NAME = ".lock"
RECORD_VERSION = 1


@dataclass(frozen=True)
class GridResult:
    """What :func:`run_grid` did.

    Attributes
    ----------
    records_path : Path
    ran : int
        Trials run now (successful or not).
    failed : int
        Of those, how many raised (recorded with ``status == "error"``).
    skipped : int
        Trials already finished in the records (resume).
    remaining : int
        Trials still not finished after this call (``limit`` or failures).
    torn_note : str
        Non-empty when a torn last line from an interrupted run was found and cut off.
    wall_s : float
    """

    records_path: Path
    ran: int
    failed: int
    skipped: int
    remaining: int
    torn_note: str
    wall_s: float


def run_grid(experiment: Experiment | str | Path, backend: str = "loky", jobs: int | None = None,
             resume: bool = False, limit: int | None = None, address: str | None = None,
             keep_runs: bool = False, out: str | Path | None = None,
             progress: bool = True) -> GridResult:
    """Run every trial of an experiment and append one record per finished trial.

    Parameters
    ----------
    experiment : Experiment or path-like
        An expanded experiment or the path of its TOML file.
    backend : {"loky", "ray", "serial"}
        ``loky``: joblib worker processes on this machine (default). ``ray``: joblib's Ray
        backend on a local Ray node or the cluster at ``address``. ``serial``: in this process.
    jobs : int, optional
        Parallel workers; default: every CPU (loky, ray) or 1 (serial).
    resume : bool
        Continue an existing records file, skipping finished trials. Without it an existing,
        non-empty records file is an error (nothing is overwritten).
    limit : int, optional
        Run at most this many of the pending trials.
    address : str, optional
        Ray cluster address for ``ray.init`` (``"auto"``, ``"ray://host:10001"``); local when None.
    keep_runs : bool
        Save each trial's network under ``OUT/runs/<trial_id>/``.
    out : path-like, optional
        Output directory; default ``runs/<experiment name>``. Records go to ``OUT/records.jsonl``.
    progress : bool
        Show a tqdm bar on stderr.

    Returns
    -------
    GridResult
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    if jobs is not None and jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}")
    if limit is not None and limit < 0:
        raise ConfigError(f"limit must be at least 0, got {limit}")
    out_dir = Path(out) if out is not None else Path("runs") / experiment.name
    from sculpt.locks import exclusive_output

    with exclusive_output(out_dir / LOCK_NAME, out_dir):
        return _run_locked(experiment, out_dir, backend, jobs, resume, limit, address, keep_runs, progress)


def _run_locked(experiment: Experiment, out_dir: Path, backend: str, jobs, resume: bool, limit, address,
                keep_runs: bool, progress: bool) -> GridResult:
    """:func:`run_grid` once ``out_dir`` is locked for this process."""
    from sculpt.provenance import provenance

    records_path = out_dir / RECORDS_NAME
    existing = read_records(records_path)
    if (existing.records or existing.torn_tail is not None) and not resume:
        raise ConfigError(f"{records_path} already holds {len(existing.records)} records; pass --resume to "
                          "continue it or choose another output directory")
    torn_note = existing.describe_torn_tail(records_path)
    if torn_note:
        print(f"sculpt grid: {torn_note}; the trial will run again", file=sys.stderr)

    done = finished_ids(existing.records)
    pending = [t for t in experiment.trials if t.trial_id not in done]
    skipped = len(experiment.trials) - len(pending)
    if limit is not None:
        pending = pending[:limit]
    log.debug("%s: %d trials, %d finished before, %d to run now on %s (%s jobs) into %s", experiment.name,
              len(experiment.trials), skipped, len(pending), backend, jobs or "all", records_path)
    start = time.perf_counter()
    ran = failed = 0
    origin = provenance()
    with RecordWriter(records_path, truncate_at=existing.torn_offset) as writer:
        results = _execute(experiment, pending, backend, jobs, address,
                           out_dir / "runs" if keep_runs else None)
        try:
            for record in _with_progress(results, len(pending), experiment.name, progress):
                writer.write({**record, "provenance": origin})
                ran += 1
                failed += record["status"] != "ok"
        finally:
            # On Ctrl-C / SIGTERM: closing joblib's generator aborts the loky workers, closing
            # the Ray generator shuts its node down; no trial keeps running as an orphan.
            close = getattr(results, "close", None)
            if close is not None:
                close()
    finished_now = finished_ids(read_records(records_path).records)
    remaining = sum(t.trial_id not in finished_now for t in experiment.trials)
    return GridResult(records_path, ran, failed, skipped, remaining, torn_note, time.perf_counter() - start)


def execute_trial(kind: str, params: dict, trial_id: str, experiment: str, figure: str,
                  run_dir: str | None, limit_threads: bool, run=None) -> dict:
    """Run one trial and return its record (never raises for a failing trial).

    Parameters
    ----------
    kind, params, trial_id
        The trial (see :class:`sculpt.experiments.config.Trial`).
    experiment, figure : str
        Copied into the record so a records file describes itself.
    run_dir : str or None
        Where to save the trial's network, if anywhere.
    limit_threads : bool
        Run torch on one thread during the trial (one trial per core, no oversubscription; on
        16-256-row tasks threads only add overhead). The previous setting is restored.
    run : callable(params, run_dir) -> dict, optional
        Replaces the kind's ``run`` (:func:`execute_pack` passes the finishing step of a packed trial).

    Returns
    -------
    dict
        ``trial_id, experiment, figure, kind, config, status`` plus the kind's ``metrics,
        densities, modules, score, timings`` (or ``error`` when it raised).
    """
    trial = trial_kind(kind)
    record = {"version": RECORD_VERSION, "trial_id": trial_id, "experiment": experiment,
              "figure": figure, "kind": kind, "config": {"kind": kind, **params}}
    start = time.perf_counter()
    try:
        with _one_torch_thread(limit_threads and trial.uses_torch):
            result = (run or trial.run)(params, Path(run_dir) if run_dir else None)
    except Exception as exc:  # a failing trial is data, not a reason to stop the grid
        last = traceback.extract_tb(exc.__traceback__)[-1]
        record.update(status="error", error=f"{type(exc).__name__}: {exc} ({Path(last.filename).name}:{last.lineno})",
                      timings={"total_s": time.perf_counter() - start})
        return record
    record.update(status="ok", **result)
    record["timings"] = {**result.get("timings", {}), "wall_s": time.perf_counter() - start}
    return record


def execute_pack(kind: str, params_list: list, trial_ids: list, experiment: str, figure: str,
                 run_dirs: list, limit_threads: bool) -> list[dict]:
    """Run trials that share a stack (see :func:`pack_trials`) and return one record per trial.

    Each record is what :func:`execute_trial` returns for that trial alone (timings aside): the
    kind's ``run_pack`` trains them together and hands back one finishing step per trial, run
    here under the same error handling. If the shared part itself raises, every trial of the
    pack gets that error.
    """
    trial = trial_kind(kind)
    if trial.run_pack is None or len(params_list) == 1:
        return [execute_trial(kind, p, tid, experiment, figure, d, limit_threads)
                for p, tid, d in zip(params_list, trial_ids, run_dirs)]
    start = time.perf_counter()
    dirs = [Path(d) if d else None for d in run_dirs]
    try:
        with _one_torch_thread(limit_threads and trial.uses_torch):
            finishers = trial.run_pack(list(params_list), dirs)
    except Exception as exc:  # the whole pack failed: each of its trials records the error
        finishers = [_reraise(exc)] * len(params_list)
    records = []
    for params, tid, finish in zip(params_list, trial_ids, finishers):
        records.append(execute_trial(kind, params, tid, experiment, figure, None, limit_threads,
                                     run=lambda p, d, finish=finish: finish()))
        records[-1]["timings"]["pack_wall_s"] = time.perf_counter() - start
    return records


def _reraise(exc: Exception):
    def finish():
        raise exc
    return finish


@contextmanager
def _one_torch_thread(enabled: bool):
    """Run torch on one thread (restored afterwards): tiny matmuls only lose from threading, and
    parallel trials must not oversubscribe the cores."""
    if not enabled:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _execute(experiment: Experiment, trials: list[Trial], backend: str, jobs: int | None,
             address: str | None, runs_dir: Path | None) -> Iterator[dict]:
    n_jobs = (jobs or os.cpu_count() or 1) if backend != "serial" else 1
    calls = [_call_args(experiment, pack, runs_dir, limit_threads=True)
             for pack in pack_trials(trials, n_jobs)]
    if not calls:
        return iter(())
    if backend == "serial":
        return (record for args in calls for record in execute_pack(*args))
    if backend == "loky":
        from joblib import Parallel, delayed

        return (record for records in Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(
            delayed(execute_pack)(*args) for args in calls) for record in records)
    return _execute_on_ray(calls, jobs, address)


def _call_args(experiment: Experiment, pack: list[Trial], runs_dir: Path | None, limit_threads: bool) -> tuple:
    run_dirs = [str(runs_dir / t.trial_id) if runs_dir is not None else None for t in pack]
    return (pack[0].kind, [t.params for t in pack], [t.trial_id for t in pack], experiment.name,
            experiment.figure, run_dirs, limit_threads)


# Packing bound: the floats one training step of the edge stage touches (per member: weights,
# gradients and the two Adam moments, and three activations per unit of a batch). Past a few MB the
# step leaves the CPU caches: a step of [8, 36, 36, 4] members cost 9.9 us per member in a stack of
# 70 and 22 us in a stack of 140 (bench/speed.py's numbers), so a pack stays below this.
PACK_MAX_FLOATS = 1_500_000


def pack_trials(trials: list[Trial], jobs: int = 1) -> list[list[Trial]]:
    """Group trials that can share a stack (same ``pack_key``), largest estimated cost first.

    A group is split into packs of at most ``PACK_MAX_FLOATS`` floats (cache-sized steps) and, with several
    workers, small enough that the ``jobs`` workers get about two packs each (balance).
    Trials of kinds without packing, or with a ``None`` key, form packs of one.
    """
    groups: dict[tuple, list[Trial]] = {}
    for number, t in enumerate(trials):
        kind = trial_kind(t.kind)
        key = kind.pack_key(t.params) if kind.pack_key is not None else None
        groups.setdefault((t.kind, key) if key is not None else (t.kind, number), []).append(t)
    total = max(1, len(trials))
    packs = []
    for group in groups.values():
        floats = _pack_floats(group[0])
        by_memory = max(1, PACK_MAX_FLOATS // max(1, floats))
        # ceil: this group's share of about two packs per worker (one worker: one pack)
        wanted = 1 if jobs <= 1 else -(-2 * jobs * len(group) // total)
        by_balance = max(1, -(-len(group) // wanted))
        size = min(by_memory, by_balance)
        packs.extend(group[i:i + size] for i in range(0, len(group), size))
    return sorted(packs, key=lambda p: -_pack_cost(p))


def _trial_shape(t: Trial) -> tuple[int, int, int]:
    """(members per trial, floats per member, rows) of a sculpt-like trial; (1, 1, 1) otherwise."""
    params = t.params
    if "arch" not in params or "p_e" not in params:
        return 1, 1, 1
    try:
        from functiongraphs import mnist

        if params["graph"] in mnist.TASKS:  # not packed; the largest trials: run them first
            arch, rows = [1568, *params["arch"], 20], 12800
        else:
            n_in, n_out, rows = _task_size(params["graph"], params["noise"])
            arch = [n_in, *params["arch"], n_out]
    except Exception:  # the trial reports its own error when it runs
        return 1, 1, 1
    n_w = sum(a * b for a, b in zip(arch[:-1], arch[1:]))
    members = max(1, len(params.get("p_u") or [0])) * max(1, len(params["p_e"]))
    batch = min(rows, int(params.get("batch_size", rows)))
    return members, 4 * n_w + 3 * batch * sum(arch), rows


@functools.lru_cache(maxsize=None)
def _task_size(graph: str, noise: float) -> tuple[int, int, int]:
    from sculpt.experiments.trial import build_task

    task = build_task(graph, noise)
    return task.n_inputs, task.n_outputs, int(task.train.X.shape[0])


def _pack_floats(t: Trial) -> int:
    members, per_member, _ = _trial_shape(t)
    return members * per_member


def _pack_cost(pack: list[Trial]) -> float:
    members, per_member, rows = _trial_shape(pack[0])
    # a step's work times the steps (rows per epoch, epochs): the order in which packs start
    return len(pack) * members * per_member * rows * float(pack[0].params.get("epochs", 1))


def _execute_on_ray(calls: list[tuple], jobs: int | None, address: str | None) -> Iterator[dict]:
    """Ray tasks, yielded as they finish.

    Ray's joblib backend (``register_ray`` + ``parallel_config(backend="ray")``) only returns
    results when the whole batch is done (it does not support ``return_as="generator*"``), which
    would lose every record on a crash. Native tasks plus ``ray.wait`` run the same
    :func:`execute_trial` and stream records, one per finished trial.
    """
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        with _keep_sigterm_handler():  # ray.init installs sys.exit for SIGTERM; ours cleans up first
            if address is None:
                ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
    pending = []
    try:
        remote_pack = ray.remote(num_cpus=1, max_retries=0)(execute_pack)
        pending = [remote_pack.remote(*args) for args in calls]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield from ray.get(ref)
    finally:
        for ref in pending:  # interrupted: a cluster would otherwise run them to no one
            try:
                ray.cancel(ref, force=True)
            except Exception:  # a task that already ended or a worker already gone: nothing to stop
                pass
        if started_here:
            ray.shutdown()


@contextmanager
def _keep_sigterm_handler():
    """Put back the SIGTERM handler a call replaced (main thread only: elsewhere none can be set)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)


def _import_ray():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray backend needs Ray: pip install 'neural-sculpt[ray]' (or pip install ray)") from None
    return ray


def _with_progress(records: Iterable[dict], total: int, name: str, enabled: bool) -> Iterator[dict]:
    if not enabled or total == 0:
        yield from records
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=name, unit="trial", file=sys.stderr, dynamic_ncols=True) as bar:
        for record in records:
            bar.update(1)
            if record["status"] != "ok":
                bar.write(f"trial {record['trial_id']} failed: {record.get('error')}", file=sys.stderr)
            yield record
