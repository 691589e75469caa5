"""The composite MNIST tasks on synthetic digits whose pixels encode which source image they are."""
from __future__ import annotations

import numpy as np
import pytest

from functiongraphs import Task, mnist
from sculpt.errors import ConfigError, DataError

N_TRAIN, N_TEST, N_VAL = 400, 150, 100
TEST_OFFSET = 1000  # test images carry ids 1000.., train images 0..399


def coded_mnist() -> mnist.MnistData:
    """Images whose top-left pixels store an id (low byte in columns 0-1, high byte in 2-3).

    Columns come in equal pairs so the halves tasks' width-halving keeps the code readable.
    """
    def images(ids):
        x = np.zeros((ids.size, 28, 28), dtype=np.uint8)
        x[:, 0, 0] = x[:, 0, 1] = ids % 256
        x[:, 0, 2] = x[:, 0, 3] = ids // 256
        x[:, 5:20, 10:18] = 200  # some ink
        return x

    return mnist.MnistData(
        x_train=images(np.arange(N_TRAIN)), y_train=(np.arange(N_TRAIN) * 7 % 10).astype(np.uint8),
        x_test=images(np.arange(N_TEST) + TEST_OFFSET), y_test=(np.arange(N_TEST) % 10).astype(np.uint8),
    )


DATA = coded_mnist()


def decode(X: np.ndarray, width: int, left_col: int, right_col: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Source image ids of the left and right digit of every row."""
    img = np.rint(X.reshape(X.shape[0], 28, width) * 255).astype(int)
    left = img[:, 0, left_col] + 256 * img[:, 0, left_col + step]
    right = img[:, 0, right_col] + 256 * img[:, 0, right_col + step]
    return left, right


def label_of(ids: np.ndarray) -> np.ndarray:
    return np.where(ids >= TEST_OFFSET, DATA.y_test[np.clip(ids - TEST_OFFSET, 0, N_TEST - 1)],
                    DATA.y_train[np.clip(ids, 0, N_TRAIN - 1)])


def side_ids(task: Task, split: str):
    return decode(getattr(task, split).X, 56, 0, 28, 2)


def halves_ids(task: Task, split: str):
    return decode(getattr(task, split).X, 28, 0, 14, 1)


def two_digits(**kw):
    return mnist.two_digits(DATA, validation_images=N_VAL, **kw)


# --- shapes, types, targets ---------------------------------------------------------------------

def test_two_digits_shapes_and_metadata():
    task = two_digits(pairs_per_class=4, seed=3)
    assert (task.name, task.n_inputs, task.n_outputs) == ("mnist-two-digits", 1568, 20)
    assert (len(task.train), len(task.validation), len(task.test)) == (400, 100, 100)
    assert task.output_blocks == ((0, 10), (10, 20)) and task.acceptance == "block"
    assert task.noise == 0.0
    for split in (task.train, task.validation, task.test):
        assert split.X.dtype == np.float32 and split.Y.dtype == np.float32
        assert split.X.min() >= 0.0 and split.X.max() <= 1.0
    assert task.train.X[0].reshape(28, 56)[5, 10] == np.float32(200 / 255)


def test_two_digits_targets_match_the_source_digits():
    task = two_digits(pairs_per_class=3, validation_pairs_per_class=2, test_pairs_per_class=5, seed=0)
    for split in ("train", "validation", "test"):
        left, right = side_ids(task, split)
        Y = getattr(task, split).Y
        assert np.array_equal(Y[:, :10].argmax(1), label_of(left))
        assert np.array_equal(Y[:, 10:].argmax(1), label_of(right))
        assert np.array_equal(Y.sum(1), np.full(len(Y), 2.0, np.float32))
    # Pairs are grouped by class (a, b) in order, each class pairs_per_class times.
    Y = task.train.Y
    assert [(int(r[:10].argmax()), int(r[10:].argmax())) for r in Y[::3]] == [(a, b) for a in range(10) for b in range(10)]


def test_pixels_are_the_source_images_side_by_side():
    task = two_digits(pairs_per_class=1, seed=0)
    left, right = side_ids(task, "train")
    expected = np.concatenate([DATA.x_train[left], DATA.x_train[right]], axis=2).reshape(100, -1) / np.float32(255)
    assert np.array_equal(task.train.X, expected.astype(np.float32))


def test_hierarchical_targets_are_xor_bits_of_digits_0_to_7():
    task = mnist.hierarchical(DATA, pairs_per_class=2, validation_images=N_VAL, seed=1)
    assert (task.n_inputs, task.n_outputs, len(task.train), task.acceptance) == (1568, 3, 128, "row")
    assert task.output_blocks is None
    for split in ("train", "validation", "test"):
        left, right = side_ids(task, split)
        a, b = label_of(left), label_of(right)
        assert a.max() <= 7 and b.max() <= 7
        expected = np.array([mnist.xor_code(x, y) for x, y in zip(a, b)], dtype=np.float32)
        assert np.array_equal(getattr(task, split).Y, expected)


def test_xor_code_is_msb_first():
    assert mnist.xor_code(5, 3) == (1, 1, 0)
    assert mnist.xor_code(1, 0) == (0, 0, 1)
    assert mnist.xor_code(7, 7) == (0, 0, 0)


@pytest.mark.parametrize("kind", ["same", "diff"])
def test_halves_tasks(kind):
    task = mnist.TASKS[f"mnist-halves-{kind}"](DATA, pairs_per_class=3, validation_images=N_VAL, seed=2)
    n_classes = 10 if kind == "same" else 100
    assert (task.name, task.n_inputs, task.n_outputs) == (f"mnist-halves-{kind}", 784, 10)
    assert len(task.train) == 3 * n_classes and task.output_blocks == ((0, 10),) and task.acceptance == "block"
    for split in ("train", "validation", "test"):
        left, right = halves_ids(task, split)
        a, b = label_of(left), label_of(right)
        label = getattr(task, split).Y.argmax(1)
        if kind == "same":
            assert np.array_equal(a, b) and np.array_equal(label, a)
            assert np.all(left != right)  # two different images of the class
        else:
            assert np.array_equal(label, (a + b) % 10)


def test_halves_image_averages_column_pairs():
    data = mnist.MnistData(x_train=np.tile(np.arange(28, dtype=np.uint8) * 9, (2, 28, 1)),
                           y_train=np.array([1, 2], np.uint8),
                           x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    img = mnist.halves_image(data, np.array([0]), np.array([1]), "train").reshape(28, 28)
    row = np.arange(14) * 18 + 4.5  # mean of 9*(2j) and 9*(2j+1)
    assert np.array_equal(img[3], (np.concatenate([row, row]) / 255).astype(np.float32))


# --- splits without leakage ---------------------------------------------------------------------

def test_splits_draw_from_disjoint_source_images():
    task = two_digits(pairs_per_class=6, seed=0)
    train = np.concatenate(side_ids(task, "train"))
    val = np.concatenate(side_ids(task, "validation"))
    test = np.concatenate(side_ids(task, "test"))
    assert train.min() >= 0 and train.max() < N_TRAIN - N_VAL
    assert val.min() >= N_TRAIN - N_VAL and val.max() < N_TRAIN
    assert test.min() >= TEST_OFFSET
    assert not set(train) & set(val) and not set(train) & set(test) and not set(val) & set(test)


def test_images_repeat_only_after_all_of_their_digit_are_used():
    task = two_digits(pairs_per_class=3, seed=0)
    left, right = side_ids(task, "train")
    # 300 training images, 30 per digit; each digit is drawn 3*10 times left and 30 times right.
    ids = np.concatenate([left, right])
    assert np.array_equal(np.bincount(ids, minlength=300), np.full(300, 2))
    # Digit 0's stream serves class (0, 0) left then right, then the left of (0, 1), (0, 2), ...:
    # its first 30 draws are every training image of digit 0 once.
    first_pass = np.concatenate([left[:3], right[:3], left[3:27]])
    assert sorted(first_pass) == sorted(np.flatnonzero(DATA.y_train[:300] == 0))


def test_split_pools_and_their_errors():
    pools = mnist.split_pools(DATA, 100)
    assert pools["train"].tolist() == list(range(300))
    assert pools["validation"].tolist() == list(range(300, 400))
    assert pools["test"].tolist() == list(range(150))
    with pytest.raises(ValueError, match="validation_images must be between 1 and 399"):
        mnist.split_pools(DATA, 400)


def test_a_digit_missing_from_a_pool_is_a_data_error():
    labels = np.array([0, 1, 1, 0], dtype=np.uint8)
    with pytest.raises(DataError, match="no image of digit 2"):
        mnist.sample_pairs(labels, np.arange(4), [(0, 2)], 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="pairs per class must be at least 1, got 0"):
        mnist.sample_pairs(labels, np.arange(4), [(0, 1)], 0, np.random.default_rng(0))


# --- determinism --------------------------------------------------------------------------------

def test_same_seed_same_task_bit_for_bit():
    a, b = two_digits(pairs_per_class=2, seed=7), two_digits(pairs_per_class=2, seed=7)
    for split in ("train", "validation", "test"):
        assert np.array_equal(getattr(a, split).X, getattr(b, split).X)
        assert np.array_equal(getattr(a, split).Y, getattr(b, split).Y)
    c = two_digits(pairs_per_class=2, seed=8)
    assert not np.array_equal(a.train.X, c.train.X)


def test_test_size_does_not_change_the_training_pairs():
    a = two_digits(pairs_per_class=2, test_pairs_per_class=1, seed=0)
    b = two_digits(pairs_per_class=2, test_pairs_per_class=3, seed=0)
    assert np.array_equal(a.train.X, b.train.X) and np.array_equal(a.validation.X, b.validation.X)
    assert len(a.test) == 100 and len(b.test) == 300


# --- structure ----------------------------------------------------------------------------------

def test_two_digit_structure_partitions_pixels_into_left_and_right_images():
    s = mnist.two_digits_structure()
    left, right = s.input_groups
    assert (s.n_inputs, s.n_outputs, len(left), len(right)) == (1568, 20, 784, 784)
    assert left[:3] == (0, 1, 2) and left[27:29] == (27, 56) and right[:2] == (28, 29)
    assert sorted(left + right) == list(range(1568))
    assert s.output_groups == s.output_support_groups == (tuple(range(10)), tuple(range(10, 20)))
    assert s.subfunctions == {"left_digit": left, "right_digit": right}


def test_hierarchical_structure_is_figure_13a():
    s = mnist.hierarchical_structure()
    assert s.input_groups == mnist.two_digits_structure().input_groups
    assert s.output_groups == ((0,), (1,), (2,)) and s.output_support_groups == ((0, 1, 2),)
    assert s.levels == {**{f"{side}_bit{k}": 1 for k in range(3) for side in ("left", "right")},
                        "xor0": 2, "xor1": 2, "xor2": 2}
    assert s.to_dict()["subfunctions"]["xor1"] == list(range(1568))


def test_halves_structure_splits_the_28x28_image_at_column_14():
    left, right = mnist.halves_structure().input_groups
    assert left[:15] == tuple(range(14)) + (28,) and right[:2] == (14, 15) and len(left) == len(right) == 392


def test_task_registry():
    assert sorted(mnist.TASKS) == sorted(mnist.DESCRIPTIONS) == [
        "mnist-halves-diff", "mnist-halves-same", "mnist-hierarchical", "mnist-two-digits"]
    task = mnist.get_task("mnist-two-digits", DATA, pairs_per_class=1, validation_images=N_VAL)
    assert task.structure == mnist.two_digits_structure()
    with pytest.raises(ConfigError, match="unknown MNIST task 'mnist-three'"):
        mnist.get_task("mnist-three", DATA)
    with pytest.raises(ValueError, match="halves kind must be 'same' or 'diff'"):
        mnist.halves("other", DATA)
