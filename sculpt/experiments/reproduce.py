"""Every Boolean experiment of the paper, from scratch, into one folder per figure, plus the index.

:data:`STEPS` names the experiments (``examples/experiments/<name>.toml``) and the folders they
fill (``docs/<folder>/``: ``records.jsonl``, the report, its figures). :func:`plan` says what
is behind each folder without running anything; :func:`reproduce` runs what is missing (always
resuming: every finished trial is kept), rewrites each report and writes ``docs/paper/index.md``
(:mod:`sculpt.experiments.paper_index`). Each run appends its wall time, the load average before
and after, and per-step counts to ``docs/paper/runs.jsonl``; a run stopped by Ctrl-C or SIGTERM logs
the steps it finished and what the one under way recorded (``stopped_in``), then stops.

Tables 2-3 take two steps: the epoch pre-step (dense networks only, records in
``docs/tables2_3/epochs/``, :mod:`sculpt.experiments.epochs`) and then the trials of the cells it
gave epochs to. Until the pre-step has finished, the second step's trials are not known; the
plan gives their upper bound.

A records file larger than :data:`GZIP_ABOVE` bytes is stored gzip-compressed
(``records.jsonl.gz``, byte-stable) and unpacked again before a run resumes it.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from sculpt.atomic import write_atomic, write_bytes_atomic, write_text_atomic
from sculpt.errors import ConfigError
from sculpt.experiments.config import Experiment, load_experiment
from sculpt.experiments.records import finished_ids, read_packed_records, read_records, unpack_records

RECORDS = "records.jsonl"
GZIP_ABOVE = 4 * 1024 * 1024
EPOCHS_FOLDER = "epochs"
CHOICE_NAME = "choice.json"
PAPER_CODE_RATES = Path("fidelity") / "paper_code_rates.json"
RUNS_LOG = Path("paper") / "runs.jsonl"


@dataclass(frozen=True)
class Step:
    """One experiment and the docs folder it fills."""

    name: str
    folder: str
    epoch_prestep: bool = False


STEPS: tuple[Step, ...] = (
    Step("figure7", "figure7"),
    Step("figure8", "figure8"),
    Step("figure10", "figure10"),
    Step("figure12", "figure12"),
    Step("tables2_3", "tables2_3", epoch_prestep=True),
    Step("section2", "section2"),
)


@dataclass
class Stage:
    """What one experiment (or the epoch pre-step) puts behind one folder.

    Attributes
    ----------
    step : str
    folder : Path
    experiment : Experiment or None
        None while it cannot be known (Tables 2-3 before its pre-step finished).
    finished : int
        Of the experiment's trials, how many the folder's records already hold.
    stale : int
        Records in the folder of trials that are not in the experiment (older settings or code).
    upper_bound : int
        Without ``experiment``: the most trials it can have.
    """

    step: str
    folder: Path
    experiment: Experiment | None
    finished: int = 0
    stale: int = 0
    upper_bound: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def trials(self) -> int:
        return len(self.experiment) if self.experiment is not None else 0


def steps_named(only: list[str] | None) -> list[Step]:
    """The steps to run, in :data:`STEPS` order; ``only`` names a subset."""
    if not only:
        return list(STEPS)
    known = {s.name for s in STEPS}
    unknown = [n for n in only if n not in known]
    if unknown:
        raise ConfigError(f"unknown experiment '{unknown[0]}'; choose from {', '.join(s.name for s in STEPS)}")
    return [s for s in STEPS if s.name in only]


def plan(experiments_dir: str | Path = "examples/experiments", docs_dir: str | Path = "docs",
         only: list[str] | None = None) -> list[Stage]:
    """The trials behind every docs folder, with how many are already recorded there.

    Parameters
    ----------
    experiments_dir : path-like
        Holds ``<step>.toml`` for every step.
    docs_dir : path-like
        Holds ``<folder>/records.jsonl`` (or ``.gz``) of every step.
    only : list of str, optional
        Step names (default: all).

    Returns
    -------
    list of Stage
        One per step, two for Tables 2-3 (its pre-step first).
    """
    experiments_dir, docs_dir = Path(experiments_dir), Path(docs_dir)
    stages = []
    for step in steps_named(only):
        experiment = load_experiment(experiments_dir / f"{step.name}.toml")
        folder = docs_dir / step.folder
        if step.epoch_prestep:
            from sculpt.experiments.epochs import choose_epochs, dense_experiment, with_chosen_epochs

            pre = dense_experiment(experiment)
            pre_stage = _stage(step.name + " (epoch pre-step)", folder / EPOCHS_FOLDER, pre)
            stages.append(pre_stage)
            if pre_stage.finished == len(pre):
                choice = choose_epochs(_records(folder / EPOCHS_FOLDER), seeds=_seeds(experiment))
                stages.append(_stage(step.name, folder, with_chosen_epochs(experiment, choice)))
            else:
                stage = Stage(step.name, folder, None, upper_bound=len(experiment))
                stage.notes.append("its trials are known once the epoch pre-step has finished")
                stages.append(stage)
            continue
        stages.append(_stage(step.name, folder, experiment))
    return stages


def _seeds(experiment: Experiment) -> list[int]:
    return sorted({int(t.params["seed"]) for t in experiment.trials})


def _stage(name: str, folder: Path, experiment: Experiment) -> Stage:
    recorded = finished_ids(_records(folder))
    wanted = {t.trial_id for t in experiment.trials}
    return Stage(name, folder, experiment, finished=len(wanted & recorded), stale=len(recorded - wanted))


def _records(folder: Path) -> list[dict]:
    """Records of a folder, read from ``records.jsonl`` or its gzip copy."""
    plain, packed = folder / RECORDS, folder / (RECORDS + ".gz")
    if plain.exists() or not packed.exists():
        return read_records(plain).records
    return read_packed_records(packed).records  # checked like the plain file: no zlib.error, no FIFO


def format_plan(stages: list[Stage], list_trials: bool = False) -> str:
    """The dry-run listing: per stage its folder and counts (and each trial with ``list_trials``)."""
    from sculpt.experiments.config import canonical_json

    lines = []
    for s in stages:
        if s.experiment is None:
            lines.append(f"{s.step}: {s.folder}: at most {s.upper_bound} trials ({'; '.join(s.notes)})")
            continue
        stale = f", {s.stale} stale records (trials not in the experiment)" if s.stale else ""
        lines.append(f"{s.step}: {s.folder}: {s.trials} trials, {s.finished} finished, "
                     f"{s.trials - s.finished} to run{stale}")
        if list_trials:
            lines += [f"  {t.trial_id} {canonical_json(t.params)}" for t in s.experiment.trials]
    known = [s for s in stages if s.experiment is not None]
    total, done = sum(s.trials for s in known), sum(s.finished for s in known)
    pending = sum(s.upper_bound for s in stages if s.experiment is None)
    lines.append(f"total: {total} trials, {done} finished, {total - done} to run"
                 + (f"; plus at most {pending} once the epoch pre-step has finished" if pending else ""))
    return "\n".join(lines)


@dataclass(frozen=True)
class StepResult:
    """What :func:`reproduce` did for one stage."""

    step: str
    folder: Path
    ran: int
    failed: int
    skipped: int
    remaining: int
    wall_s: float


def reproduce(experiments_dir: str | Path = "examples/experiments", docs_dir: str | Path = "docs", *,
              only: list[str] | None = None, backend: str = "loky", jobs: int | None = None,
              address: str | None = None, restart: bool = False, progress: bool = True,
              paper_code: str | Path | None = None) -> list[StepResult]:
    """Run every step's missing trials, rewrite its report, and write the paper index.

    Parameters
    ----------
    experiments_dir, docs_dir, only
        As for :func:`plan`.
    backend, jobs, address
        As for :func:`sculpt.experiments.runner.run_grid`.
    restart : bool
        Delete a folder's records first when they hold trials that are not in its experiment
        (records of older settings); without it such a folder is an error, so records of two
        different codes are never mixed.
    progress : bool
    paper_code : path-like, optional
        Rates of the paper's own code from scratch for the reports' extra column; default
        ``<docs_dir>/fidelity/paper_code_rates.json`` when it exists.

    Returns
    -------
    list of StepResult
    """
    from sculpt.experiments.paper_index import write_paper_index
    from sculpt.experiments.runner import run_grid

    experiments_dir, docs_dir = Path(experiments_dir), Path(docs_dir)
    paper_code = _paper_code_rates(docs_dir, paper_code)
    results = []
    started, load_before = time.perf_counter(), _load()
    running = {}  # the step under way: what a stopped run logs of it

    def run(name: str, experiment: Experiment, folder: Path) -> None:
        _prepare(folder, experiment, restart)
        running.update(name=name, folder=folder, experiment=experiment, start=time.perf_counter(),
                       before=_recorded_ids(folder))
        grid = run_grid(experiment, backend=backend, jobs=jobs, resume=True, address=address, out=folder,
                        progress=progress)
        running.clear()
        results.append(StepResult(name, folder, grid.ran, grid.failed, grid.skipped, grid.remaining, grid.wall_s))

    try:
        _run_steps(only, experiments_dir, docs_dir, run, paper_code)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM through the CLI: the records written so far stay valid
        stopped = _stopped_step(running) if running else None
        _log_run(docs_dir, results + ([stopped] if stopped else []), time.perf_counter() - started, load_before,
                 backend, jobs, stopped_in=stopped.step if stopped else "between steps")
        raise
    _log_run(docs_dir, results, time.perf_counter() - started, load_before, backend, jobs)
    write_paper_index(docs_dir)
    return results


def _run_steps(only, experiments_dir: Path, docs_dir: Path, run, paper_code) -> None:
    """Each step: its epoch pre-step where it has one, its trials, its report."""
    from sculpt.experiments.epochs import choose_epochs, dense_experiment, with_chosen_epochs
    from sculpt.experiments.report import build_report

    for step in steps_named(only):
        experiment = load_experiment(experiments_dir / f"{step.name}.toml")
        folder = docs_dir / step.folder
        choice = None
        if step.epoch_prestep:
            pre_folder = folder / EPOCHS_FOLDER
            run(step.name + " (epoch pre-step)", dense_experiment(experiment), pre_folder)
            choice = choose_epochs(_records(pre_folder), seeds=_seeds(experiment))
            write_text_atomic(pre_folder / CHOICE_NAME, json.dumps(choice, indent=1, sort_keys=True) + "\n")
            _pack(pre_folder)
            experiment = with_chosen_epochs(experiment, choice)
        run(step.name, experiment, folder)
        if (folder / RECORDS).exists():  # absent only when no trial could run (every Tables 2-3 cell X)
            build_report(folder / RECORDS, folder, paper_code=paper_code, epoch_choice=choice,
                         planned=len(experiment))
        _pack(folder)


def _recorded_ids(folder: Path) -> dict[str, str]:
    """trial id -> status of every record in ``folder`` (plain records; :func:`_prepare` unpacked them)."""
    return {r["trial_id"]: r.get("status") for r in read_records(folder / RECORDS).records if "trial_id" in r}


def _stopped_step(running: dict) -> StepResult:
    """The step a stopped run was in: the trials it recorded before the stop."""
    now = _recorded_ids(running["folder"])
    new = {tid: status for tid, status in now.items() if tid not in running["before"]}
    ok = {tid for tid, status in now.items() if status == "ok"}
    return StepResult(running["name"], running["folder"], ran=len(new),
                      failed=sum(status != "ok" for status in new.values()),
                      skipped=sum(status == "ok" for status in running["before"].values()),
                      remaining=sum(t.trial_id not in ok for t in running["experiment"].trials),
                      wall_s=time.perf_counter() - running["start"])


def rewrite_reports(experiments_dir: str | Path = "examples/experiments", docs_dir: str | Path = "docs", *,
                    only: list[str] | None = None, paper_code: str | Path | None = None) -> list[Path]:
    """Rewrite each folder's report from the records it holds, without running anything, then the index.

    For reading a run that was stopped midway: a folder with fewer records than its experiment has
    trials gets a report marked partial (rates over the finished trials, with their intervals).
    Tables 2-3 use the epoch choice its pre-step saved; before that exists they are left alone.

    Returns
    -------
    list of Path
        The reports written.
    """
    from sculpt.experiments.epochs import with_chosen_epochs
    from sculpt.experiments.paper_index import write_paper_index
    from sculpt.experiments.report import build_report

    experiments_dir, docs_dir = Path(experiments_dir), Path(docs_dir)
    paper_code = _paper_code_rates(docs_dir, paper_code)
    written = []
    for step in steps_named(only):
        folder = docs_dir / step.folder
        records = next((p for p in (folder / RECORDS, folder / (RECORDS + ".gz")) if p.is_file()), None)
        choice_file = folder / EPOCHS_FOLDER / CHOICE_NAME
        if records is None or (step.epoch_prestep and not choice_file.is_file()):
            continue
        experiment, choice = load_experiment(experiments_dir / f"{step.name}.toml"), None
        if step.epoch_prestep:
            choice = json.loads(choice_file.read_text(encoding="utf-8"))
            experiment = with_chosen_epochs(experiment, choice)
        written.append(build_report(records, folder, paper_code=paper_code, epoch_choice=choice,
                                    planned=len(experiment)))
    write_paper_index(docs_dir)
    return written


def _paper_code_rates(docs_dir: Path, paper_code):
    """``paper_code``, else ``<docs_dir>/fidelity/paper_code_rates.json`` when it exists, else None."""
    if paper_code is None and (docs_dir / PAPER_CODE_RATES).is_file():
        return docs_dir / PAPER_CODE_RATES
    return paper_code


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # not available on this platform
        return None


def _log_run(docs_dir: Path, results: list[StepResult], wall_s: float, load_before, backend: str,
             jobs: int | None, stopped_in: str | None = None) -> None:
    """Append this run's wall time, load and per-step counts to ``<docs>/paper/runs.jsonl``.

    ``stopped_in``: the step during which the run was stopped (its entry counts what it recorded).
    """
    entry = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "wall_s": round(wall_s, 1),
             "load_before": load_before, "load_after": _load(), "cpus": os.cpu_count(), "backend": backend,
             "jobs": jobs, "steps": [{"step": r.step, "ran": r.ran, "failed": r.failed, "skipped": r.skipped,
                                      "remaining": r.remaining, "wall_s": round(r.wall_s, 1)} for r in results]}
    if stopped_in:
        entry["stopped_in"] = stopped_in
    target = docs_dir / RUNS_LOG
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")


def _prepare(folder: Path, experiment: Experiment, restart: bool) -> None:
    """Unpack gzipped records; refuse (or, with ``restart``, clear) records of other trials."""
    plain, packed = folder / RECORDS, folder / (RECORDS + ".gz")
    if packed.exists() and not plain.exists():
        write_bytes_atomic(plain, unpack_records(packed))  # checked: no zlib.error, no FIFO, no bomb
        packed.unlink()
    recorded = finished_ids(read_records(plain).records)
    stale = recorded - {t.trial_id for t in experiment.trials}
    if stale and not restart:
        raise ConfigError(f"{plain} holds {len(stale)} finished trials that are not in experiment "
                          f"'{experiment.name}' (older settings or code); pass --restart to start this "
                          "folder afresh, or move the records away")
    if stale:
        plain.unlink()


def _pack(folder: Path) -> None:
    """gzip ``records.jsonl`` when it is larger than :data:`GZIP_ABOVE` (mtime 0: byte-stable)."""
    plain = folder / RECORDS
    if not plain.exists() or plain.stat().st_size <= GZIP_ABOVE:
        return
    def compress(raw) -> None:
        with open(plain, "rb") as source, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as target:
            shutil.copyfileobj(source, target)

    write_atomic(folder / (RECORDS + ".gz"), compress)
    plain.unlink()
