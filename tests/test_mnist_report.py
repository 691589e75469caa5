"""docs/mnist report: rates with Wilson intervals against the paper, cell means, pixel-module drawings."""
from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from sculpt.detect import detect_modules
from sculpt.errors import SnapshotError
from sculpt.experiments import mnist_report as mr
from sculpt.stats import wilson_interval

LEFT = [r * 56 + c for r in range(28) for c in range(28)]
RIGHT = [r * 56 + c for r in range(28) for c in range(28, 56)]


@functools.lru_cache(maxsize=None)
def modules_of(pixels: tuple, n_out: int) -> str:
    """Detection (as JSON) of a [1568, 4, n_out] mask network: left pixels -> units 0-1, right -> 2-3."""
    first = np.zeros((4, 1568), dtype=bool)
    for unit in range(4):
        first[unit, [p for p in pixels if (p % 56 < 28) == (unit < 2)]] = True
    detection = detect_modules([first, np.ones((n_out, 4), dtype=bool)], modularity_threshold=-0.3,
                               merge_threshold=0.6)
    return json.dumps(detection.to_dict())


def record(graph, arch, seed, score, *, accuracy=97.5, density=0.0012, seconds=600.0, status="ok", pixels=None):
    pixels = tuple(sorted(pixels if pixels is not None else LEFT[100:110] + RIGHT[200:205]))
    key, n_out = ("block", 20) if graph == mr.TWO_DIGITS else ("row", 3)
    return {"trial_id": f"{graph}-{len(arch)}-{seed}", "status": status, "experiment": "x", "figure": "",
            "config": {"graph": graph, "arch": arch, "seed": seed},
            "score": score, "metrics": {"accuracy": {key: accuracy, "bit": 99.5}},
            "densities": {"weights": density}, "timings": {"total_s": seconds},
            "modules": json.loads(modules_of(pixels, n_out))}


def two_digit_records():
    # 2 HL: 4 of 4; 3 HL: 3 of 4 -> 7 of 8 pooled
    out = [record(mr.TWO_DIGITS, [392, 392], s, {"two_digits_success": True}) for s in (0, 1, 2, 5)]
    out += [record(mr.TWO_DIGITS, [784] * 3, s, {"two_digits_success": s != 1}, accuracy=97.0 + s,
                   density=0.001 * (s + 1), seconds=100.0 * (s + 1)) for s in (0, 1, 2, 5)]
    return out


def hier_records():
    # 4 HL, 4 seeds: input separability 4/4, output modules 2/4, middle 0/4
    return [record(mr.HIERARCHICAL, [784] * 4, s,
                   {"fig13b_input_separability": True, "fig13b_output_modules": s in (0, 1),
                    "fig13b_middle_separability": False}, accuracy=98.0) for s in (0, 1, 2, 5)]


def test_rates_counts_intervals_and_the_papers_values():
    rows = {(r.graph, r.criterion, r.hidden_layers): r for r in mr.rate_rows(two_digit_records() + hier_records())}
    pooled = rows[(mr.TWO_DIGITS, "two_digits_success", None)]
    assert (pooled.successes, pooled.trials, pooled.paper) == (7, 8, 0.9167)
    assert pooled.interval == wilson_interval(7, 8) and pooled.paper_inside is True
    assert (rows[(mr.TWO_DIGITS, "two_digits_success", 3)].successes, rows[(mr.TWO_DIGITS, "two_digits_success", 3)].paper) == (3, None)
    out = rows[(mr.HIERARCHICAL, "fig13b_output_modules", 4)]
    assert (out.successes, out.trials, out.paper) == (2, 4, 0.83)
    assert out.paper_inside is True  # Wilson(2, 4) = [0.15, 0.85]
    middle = rows[(mr.HIERARCHICAL, "fig13b_middle_separability", 4)]
    assert (middle.successes, middle.paper, middle.paper_inside) == (0, 0.0, True)
    inputs = rows[(mr.HIERARCHICAL, "fig13b_input_separability", 4)]
    assert (inputs.successes, inputs.paper, inputs.paper_inside) == (4, 1.0, True)
    assert len(rows) == 3 + 3


def test_failed_trials_and_other_tasks_are_not_counted():
    records = two_digit_records() + [record(mr.TWO_DIGITS, [392, 392], 9, {"two_digits_success": True}, status="error"),
                                     record("input-separable", [24], 0, {"two_digits_success": True})]
    pooled = [r for r in mr.rate_rows(records) if r.hidden_layers is None][0]
    assert (pooled.successes, pooled.trials) == (7, 8)
    assert "1 failed records not counted" in mr.report_markdown(records)


def test_cell_means_of_accuracy_density_and_time():
    cells = {c.arch: c for c in mr.cell_rows(two_digit_records())}
    three = cells[(784, 784, 784)]
    assert three.trials == 4 and three.accuracy == pytest.approx(np.mean([97, 98, 99, 102]))
    assert three.density == pytest.approx(0.001 * np.mean([1, 2, 3, 6]))
    assert three.seconds == pytest.approx(100 * np.mean([1, 2, 3, 6]))
    assert list(cells) == [(392, 392), (784, 784, 784)]


def test_pixel_map_is_the_two_images_coloured_by_module():
    rec = record(mr.TWO_DIGITS, [392, 392], 0, {}, pixels=[0, 55, 56 * 27 + 27, 56 * 27 + 28])
    image = mr.pixel_modules(rec["modules"])
    assert image.shape == (28, 56) and (image >= 0).sum() == 4
    left, right = image[0, 0], image[0, 55]
    assert left != right and (image[27, 27], image[27, 28], image[5, 5]) == (left, right, -1)
    with pytest.raises(SnapshotError, match="input units in 0..1567"):
        mr.pixel_modules({"layers": [{"units": [1568], "labels_after_merge": [0]}]})


def test_write_report_writes_markdown_and_drawings(tmp_path):
    import matplotlib.image

    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in two_digit_records() + hier_records()))
    written = mr.write_report(path, tmp_path / "out")
    assert [p.name for p in written] == ["report.md", "modules_two-digits.png", "modules_hierarchical.png"]
    text = written[0].read_text()
    lo, hi = wilson_interval(7, 8)
    assert f"| mnist-two-digits | two_digits_success | all | 7 / 8 | 0.88 | [{lo:.2f}, {hi:.2f}] | 0.92 | yes |" in text
    assert "| mnist-hierarchical | fig13b_output_modules | 4 | 2 / 4 | 0.50 |" in text
    assert "| mnist-two-digits | [784, 784, 784] | 4 | 99.00 (per digit) | 0.300 | 300 |" in text
    two = matplotlib.image.imread(written[1])
    assert two.shape[0] > two.shape[1] / 2 > 100  # two rows of 28 x 56 maps (one per depth)


def test_a_damaged_record_names_its_line_and_writes_nothing(tmp_path):
    path = tmp_path / "records.jsonl"
    bad = hier_records()
    bad[2]["modules"]["layers"][0]["units"][0] = 5000
    path.write_text("".join(json.dumps(r) + "\n" for r in bad))
    with pytest.raises(SnapshotError, match="records.jsonl:3"):
        mr.write_report(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps(record("input-separable", [24], 0, {})) + "\n")
    with pytest.raises(SnapshotError, match="no finished MNIST trial"):
        mr.write_report(empty, tmp_path / "out")
    assert mr.main([str(empty), str(tmp_path / "out")]) == 2
