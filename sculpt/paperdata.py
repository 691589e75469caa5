"""Convert a clone of the paper's repository into the reference data layout (no pickle kept).

The Neural Sculpting repository (ShreyasMalakarjunPatil/Neural-Sculpting) stores every network
behind its Boolean figures as pickles: ``results/<experiment>/unit_edge/[mod]/Masks/[arch]/…_Mask
<seed>.pkl`` (a list of 0/1 torch tensors, one per layer), ``…/Models/…_Model<seed>.pth`` (the
trained ``state_dict``) and its datasets as ``datasets/<family>/boolean[mod].pkl`` (``[X, Y]``).
Which (p_u, p_e) each network used, and its training and detection settings, is only written in
the shell scripts ``shell/<family>/*.sh`` (one ``main.py --experiment module_detection`` line per
network); file names concatenate the numbers without separators, so we build each name from its
shell line instead of parsing it.

The output, read by :mod:`sculpt.reference`, is::

    pruned_networks.jsonl      one record per Boolean shell line, in script order (ids net0000...)
    pruned_networks.npz        netNNNN_mask{l} (bool), _weight{l} (float32), _bias{l} per layer
    truth_tables/<family>/boolean[mod].json   each dataset's complete truth table
    README.md

Every pickle is read by :mod:`sculpt.safepickle`, which rebuilds arrays and tensors only. The
output folder appears at once, complete, or not at all (it is written beside the target and
renamed into place). ``detection_exemplar.jsonl`` (the paper code's own detection output) is not
made here: it needs the paper's code to run.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from pathlib import Path, PurePosixPath

import numpy as np

from sculpt import safepickle
from sculpt.errors import DataError
from sculpt.reference import NETWORKS_JSONL, NETWORKS_NPZ, default_reference_dir

# Script folders in the order the reference ids follow (sorted, as a directory listing gives them).
SCRIPT_FOLDERS = ("exemplars", "increasing_hierarchical_levels", "input_overlap_exp",
                  "non_separable_increasing_use")
DATASET_FOLDERS = ("exemplar", "increasing_hierarchical_levels", "increasing_reuse_non_separable",
                   "input_overlap_exp")
# main.py's argparse defaults for the detection thresholds most lines leave out
DEFAULT_MM_THRESHOLD = 0.2
DEFAULT_MERGE_THRESHOLD = 0.9
REPOSITORY = "ShreyasMalakarjunPatil/Neural-Sculpting"
ROW_ORDER = "row r holds the binary expansion of r with x0 as the most significant bit"


def check_repository(source: str | os.PathLike) -> Path:
    """``source`` if it looks like a clone of the paper's repository, else a :class:`DataError`."""
    path = Path(source).expanduser()
    if not path.is_dir():
        raise DataError(f"{path}: no such directory (expected a clone of {REPOSITORY})")
    missing = [name for name in ("shell", "results", "datasets") if not (path / name).is_dir()]
    if missing:
        raise DataError(f"{path}: not a clone of {REPOSITORY} (missing {', '.join(m + '/' for m in missing)})")
    return path


def _flags(tokens: list[str], where: str) -> dict[str, list[str]]:
    flags: dict[str, list[str]] = {}
    name = None
    for token in tokens:
        if token.startswith("--"):
            name = token[2:]
            flags[name] = []
        elif name is None:
            raise DataError(f"{where}: argument {token!r} before any --flag")
        else:
            flags[name].append(token)
    return flags


def _one(flags: dict, name: str, kind, where: str, default=None):
    values = flags.get(name)
    if values is None:
        if default is None:
            raise DataError(f"{where}: no --{name}")
        return default
    if len(values) != 1:
        raise DataError(f"{where}: --{name} needs one value, got {values}")
    try:
        return kind(values[0])
    except ValueError:
        raise DataError(f"{where}: --{name} {values[0]!r} is not a {kind.__name__}") from None


def _ints(flags: dict, name: str, where: str) -> list[int]:
    try:
        values = [int(v) for v in flags.get(name, [])]
    except ValueError:
        raise DataError(f"{where}: --{name} needs integers, got {flags[name]}") from None
    if not values:
        raise DataError(f"{where}: no --{name}")
    return values


def parse_shell_line(line: str, where: str) -> dict | None:
    """The run a ``main.py --experiment module_detection --task boolean`` line describes, or None.

    Returns
    -------
    dict or None
        The reference record without ``id`` and ``density``, plus ``result_path`` (a relative
        POSIX path); None for other lines (comments, MNIST).

    Examples
    --------
    >>> r = parse_shell_line("python3 main.py --experiment module_detection --task boolean "
    ...     "--result_path ./results/exemplar/unit_edge/ --modularity 4 2 4 --arch 4 24 4 --lr 0.05 "
    ...     "--batch_size 8 --epochs 15 --seed 0 --unit_pruning_gradient 70.0 --pruning_gradient 2.5 "
    ...     "--feature_step_size 2 --clusterability_step_size 2 "
    ...     "--visualization_path ./visualizations/exemplar/", "x.sh:3")
    >>> r["experiment"], r["arch"], r["p_u"], r["modularity_threshold"], r["other_structure"]
    ('exemplar', [4, 24, 4], 70.0, -0.2, False)
    """
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise DataError(f"{where}: {exc}") from None
    if len(tokens) < 2 or not tokens[0].startswith("python") or tokens[1] != "main.py":
        return None
    flags = _flags(tokens[2:], where)
    if flags.get("experiment") != ["module_detection"] or flags.get("task") != ["boolean"]:
        return None
    result_path = PurePosixPath(_one(flags, "result_path", str, where))
    vis_parts = PurePosixPath(_one(flags, "visualization_path", str, where)).parts
    if len(result_path.parts) < 3 or result_path.parts[0] != "results" or "visualizations" not in vis_parts:
        raise DataError(f"{where}: unexpected --result_path {result_path} or --visualization_path")
    family = list(vis_parts[vis_parts.index("visualizations") + 1:])
    return {
        "experiment": result_path.parts[1],
        "family_folder": family,
        "modularity": _ints(flags, "modularity", where),
        "arch": _ints(flags, "arch", where),
        "seed": _one(flags, "seed", int, where),
        "lr": _one(flags, "lr", float, where),
        "batch_size": _one(flags, "batch_size", int, where),
        "epochs": _one(flags, "epochs", int, where),
        "p_u": _one(flags, "unit_pruning_gradient", float, where),
        "p_e": _one(flags, "pruning_gradient", float, where),
        "feature_step_size": _one(flags, "feature_step_size", int, where),
        "clusterability_step_size": _one(flags, "clusterability_step_size", int, where),
        "modularity_threshold": -_one(flags, "mm_threshold", float, where, DEFAULT_MM_THRESHOLD),
        "merge_threshold": _one(flags, "cluster_merging_threshold", float, where, DEFAULT_MERGE_THRESHOLD),
        "other_structure": "other_structure" in family,
        "result_path": str(result_path),
    }


def shell_runs(repo: Path) -> list[dict]:
    """Every Boolean module-detection line of the repository's shell scripts, in id order."""
    runs = []
    for folder in SCRIPT_FOLDERS:
        scripts = sorted((repo / "shell" / folder).glob("*.sh"))
        if not scripts:
            raise DataError(f"{repo / 'shell' / folder}: no shell scripts (is the clone complete?)")
        for script in scripts:
            text = script.read_text(encoding="utf-8", errors="strict")
            for number, line in enumerate(text.splitlines(), 1):
                run = parse_shell_line(line, f"{script.relative_to(repo)}:{number}")
                if run is not None:
                    runs.append(run)
    return runs


def run_files(repo: Path, run: dict) -> tuple[Path, Path]:
    """The mask pickle and model file the paper's pipeline wrote for ``run`` (named as its code does)."""
    stem = (f"pruneactivation_gradient_productboolean{run['lr']}{run['batch_size']}{run['epochs']}"
            f"{run['p_u']}{run['p_e']}None1.0")
    base = repo / run["result_path"] / str(run["modularity"])
    arch = str(run["arch"])
    return (base / "Masks" / arch / f"{stem}_Mask{run['seed']}.pkl",
            base / "Models" / arch / f"{stem}_Model{run['seed']}.pth")


def network_arrays(repo: Path, run: dict) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Masks (bool), weights and biases (float32) of one run, checked against its architecture."""
    mask_path, model_path = run_files(repo, run)
    for path in (mask_path, model_path):
        if not path.is_file():
            raise DataError(f"{path}: missing (named by a shell line of {run['experiment']})")
    arch = run["arch"]
    masks = safepickle.load(mask_path)
    if not isinstance(masks, list) or len(masks) != len(arch) - 1:
        raise DataError(f"{mask_path}: expected a list of {len(arch) - 1} mask tensors")
    state = safepickle.load_torch_zip(model_path)
    bool_masks, weights, biases = [], [], []
    for l, mask in enumerate(masks):
        shape = (arch[l + 1], arch[l])
        if not isinstance(mask, np.ndarray) or mask.shape != shape or not np.isin(mask, (0, 1)).all():
            raise DataError(f"{mask_path}: mask {l} is not a 0/1 array of shape {shape}")
        weight, bias = state.get(f"lin{l + 1}.weight"), state.get(f"lin{l + 1}.bias")
        if not isinstance(weight, np.ndarray) or weight.shape != shape or weight.dtype != np.float32:
            raise DataError(f"{model_path}: lin{l + 1}.weight is not float32 of shape {shape}")
        if not isinstance(bias, np.ndarray) or bias.shape != (arch[l + 1],) or bias.dtype != np.float32:
            raise DataError(f"{model_path}: lin{l + 1}.bias is not float32 of shape {(arch[l + 1],)}")
        bool_masks.append(mask.astype(bool))
        weights.append(weight)
        biases.append(bias)
    return bool_masks, weights, biases


def truth_table_record(repo: Path, path: Path) -> dict:
    """The truth-table JSON of one ``datasets/<family>/boolean[mod].pkl``."""
    rel = path.relative_to(repo).as_posix()
    try:
        modularity = json.loads(path.stem[len("boolean"):])
        assert isinstance(modularity, list) and all(type(m) is int for m in modularity)
    except (ValueError, AssertionError):
        raise DataError(f"{rel}: file name does not end in a modularity list like [4, 2, 4]") from None
    raw = path.read_bytes()
    data = safepickle.loads(raw, source=rel)
    if not (isinstance(data, list) and len(data) == 2 and all(isinstance(a, np.ndarray) for a in data)):
        raise DataError(f"{rel}: expected a list [X, Y] of two tensors")
    X, Y = data
    n, m = modularity[0], modularity[-1]
    if X.ndim != 2 or Y.ndim != 2 or X.shape != (2 ** n, n) or Y.shape != (2 ** n, m):
        raise DataError(f"{rel}: X {X.shape} / Y {Y.shape} is not a complete truth table of"
                        f" {n} inputs and {m} outputs")
    if not (np.isin(X, (0, 1)).all() and np.isin(Y, (0, 1)).all()):
        raise DataError(f"{rel}: X and Y must hold only 0 and 1")
    index = X.astype(np.int64) @ (1 << np.arange(n - 1, -1, -1))
    if len(set(index.tolist())) != 2 ** n:
        raise DataError(f"{rel}: rows repeat, so the truth table is incomplete")
    Y = Y[np.argsort(index)].astype(np.int64)
    columns: list[str] = []
    ids = []
    for j in range(m):
        bits = "".join(str(b) for b in Y[:, j])
        if bits not in columns:
            columns.append(bits)
        ids.append(columns.index(bits))
    rows = np.arange(2 ** n)
    functions = []
    for fid, bits in enumerate(columns):
        f = np.array([int(b) for b in bits])
        support = [i for i in range(n) if (f != f[rows ^ (1 << (n - 1 - i))]).any()]
        functions.append({"id": fid, "truth_table_bits": bits, "n_true_rows": int(f.sum()),
                          "support": support})
    structure = "python list [X, Y] of two CPU torch tensors"
    if raw[:2] == b"\x80\x05" and b"_load_from_bytes" in raw:
        structure += " (legacy torch storage inside pickle protocol 5)"
    return {
        "source": rel, "experiment_folder": path.parent.name, "modularity": modularity,
        "graph_present_in_pickle": False, "pickle_structure": structure,
        "X_dtype": str(X.dtype), "Y_dtype": str(data[1].dtype), "n_inputs": n, "n_outputs": m,
        "rows": 2 ** n, "complete_truth_table": True, "row_order": ROW_ORDER,
        "output_function_ids": ids, "distinct_output_rows": int(len(np.unique(Y, axis=0))),
        "functions": functions,
    }


def _datasets(repo: Path) -> list[Path]:
    found = []
    for folder in DATASET_FOLDERS:
        files = sorted((repo / "datasets" / folder).glob("boolean*.pkl"))
        if not files:
            raise DataError(f"{repo / 'datasets' / folder}: no boolean[...].pkl datasets")
        found.extend(files)
    return found


README = """# Reference data from the Neural Sculpting paper (NeurIPS 2023)

Converted by `sculpt data paper --from {source}` from a clone of the paper's public repository
({repository}); no pickle is kept. {networks} networks, {tables} truth tables.

| file | what it is |
|---|---|
| `pruned_networks.jsonl` | one record per Boolean `main.py --experiment module_detection` line of the repository's `shell/` scripts, in script order: experiment, visualisation folder, modularity list, arch, seed, training and pruning settings, detection thresholds (`modularity_threshold` is minus the code's `mm_threshold`), density, and `other_structure` (the line draws an alternative among equally sparse networks) |
| `pruned_networks.npz` | for network `netNNNN` and weight layer l: `netNNNN_mask{{l}}` (bool, out x in), `netNNNN_weight{{l}}` and `netNNNN_bias{{l}}` (float32) from the stored mask and model. Read it with `np.load(path)` (allow_pickle stays False) |
| `truth_tables/<family>/boolean[...].json` | each dataset's complete truth table: rows in binary counting order (x0 = most significant bit), each distinct output function as a bit string with its support |

The data belongs to the paper's authors; their repository carries no licence file. Do not
redistribute it or commit it to a repository.
"""


def convert_paper_repository(source: str | os.PathLike, target: str | os.PathLike | None = None, *,
                             force: bool = False, progress: bool = True) -> Path:
    """Convert a clone of the paper's repository into ``target`` (default: the reference cache).

    Parameters
    ----------
    source : path
        A clone (or ``git archive``) of ShreyasMalakarjunPatil/Neural-Sculpting.
    target : path, optional
        Output folder; default :func:`sculpt.reference.default_reference_dir` (``$SCULPT_REFERENCE``,
        else ``reference/`` in the user cache).
    force : bool, default=False
        Replace an earlier conversion in ``target``. A folder that holds anything else is never
        replaced.
    progress : bool, default=True
        A progress bar on stderr.

    Returns
    -------
    Path
        ``target``, complete.

    Raises
    ------
    DataError
        For a path that is not such a clone, a missing or malformed file, any pickle holding more
        than arrays and tensors, or an existing ``target`` (without ``force``). Nothing is left
        behind in that case.
    """
    from tqdm import tqdm

    repo = check_repository(source)
    target = Path(target).expanduser() if target is not None else default_reference_dir()
    _check_target(target, force)
    runs = shell_runs(repo)
    datasets = _datasets(repo)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        work.chmod(0o777 & ~_umask())  # mkdtemp makes it 0700; the result is an ordinary folder
        arrays: dict[str, np.ndarray] = {}
        lines = []
        for number, run in enumerate(tqdm(runs, desc="paper networks", unit="net", disable=not progress)):
            net_id = f"net{number:04d}"
            masks, weights, biases = network_arrays(repo, run)
            for l, (mask, weight, bias) in enumerate(zip(masks, weights, biases)):
                arrays[f"{net_id}_mask{l}"] = mask
                arrays[f"{net_id}_weight{l}"] = weight
                arrays[f"{net_id}_bias{l}"] = bias
            arch = run["arch"]
            kept = sum(int(m.sum()) for m in masks)
            record = {"id": net_id, **{k: v for k, v in run.items() if k != "result_path"}}
            record["density"] = kept / sum(a * b for a, b in zip(arch, arch[1:]))
            record["other_structure"] = record.pop("other_structure")
            lines.append(json.dumps(record) + "\n")
        np.savez_compressed(work / NETWORKS_NPZ, **arrays)
        (work / NETWORKS_JSONL).write_text("".join(lines), encoding="utf-8")
        for path in tqdm(datasets, desc="truth tables", unit="table", disable=not progress):
            out = work / "truth_tables" / path.parent.name / f"{path.stem}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(truth_table_record(repo, path), indent=1) + "\n", encoding="utf-8")
        (work / "README.md").write_text(README.format(source=repo, repository=REPOSITORY,
                                                      networks=len(runs), tables=len(datasets)),
                                        encoding="utf-8")
        _move_into_place(work, target, force)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_target(target: Path, force: bool) -> None:
    if not target.exists():
        return
    if not target.is_dir() or not (target / NETWORKS_JSONL).is_file():
        if target.is_dir() and not any(target.iterdir()):
            return
        raise DataError(f"{target} exists and is not an earlier conversion; refusing to replace it")
    if not force:
        raise DataError(f"{target} already holds converted reference data; pass --force to replace it")


def _move_into_place(work: Path, target: Path, force: bool) -> None:
    _check_target(target, force)
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists():
        os.rename(work, target)
        return
    # Swap: the old conversion moves to a name only we use, the new one takes its place.
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.rename(target, old / "previous")
    os.rename(work, target)
    shutil.rmtree(old, ignore_errors=True)
