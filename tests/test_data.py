import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, last_line, run_cli
from edgecnn.data import fashion_mnist
from edgecnn.data.calibration import load_calibration
from edgecnn.data.datasets import load_splits, validation_split
from edgecnn.data.idx import read_idx
from edgecnn.data.preprocess import fit_images
from edgecnn.errors import UserError


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_round_trip_and_truncation(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), array)
    with gzip.open(tmp_path / "b.gz", "wb") as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 1, 100) + b"\0" * 10)
    with pytest.raises(UserError, match="truncated"):
        read_idx(tmp_path / "b.gz")


def test_real_fashion_mnist():
    (x, y), (xt, yt) = fashion_mnist.load()
    assert x.shape == (60000, 28, 28, 1) and x.dtype == np.uint8
    assert xt.shape == (10000, 28, 28, 1)
    assert np.bincount(y).tolist() == [6000] * 10 and np.bincount(yt).tolist() == [1000] * 10


def test_missing_dataset_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_PATH", str(tmp_path / "none"))
    monkeypatch.delenv("EDGECNN_FASHION_MNIST", raising=False)
    monkeypatch.delenv("EDGECNN_DOWNLOAD", raising=False)
    with pytest.raises(UserError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist.load()


def test_a_named_folder_without_the_files_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGECNN_FASHION_MNIST", str(tmp_path))
    with pytest.raises(UserError, match=f"Fashion-MNIST not found in {tmp_path}"):
        fashion_mnist.load()
    proc = run_cli("testset", ROOT / "recipes" / "fashion_mnist_mobilenet_v2.yaml", cwd=tmp_path,
                   env={"EDGECNN_FASHION_MNIST": str(tmp_path)})
    assert proc.returncode == 2
    assert last_line(proc.stderr).startswith(f"edgecnn: error: Fashion-MNIST not found in {tmp_path}: install it")
    assert not (tmp_path / "build" / "fashion_mnist_mobilenet_v2" / "testset.npz").exists()


def test_environment_variable_names_another_folder(tmp_path, monkeypatch):
    for split, n in (("train", 6), ("t10k", 4)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", np.full((n, 28, 28), 7))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    monkeypatch.setenv("EDGECNN_FASHION_MNIST", str(tmp_path))
    (x, y), (xt, yt) = fashion_mnist.load()
    assert x.shape == (6, 28, 28, 1) and xt.shape == (4, 28, 28, 1) and y.tolist() == [0, 1, 2, 3, 4, 5]


def test_validation_split_is_deterministic_and_disjoint():
    x = np.arange(1000)[:, None]
    y = np.arange(1000)
    a = validation_split(x, y, 0.1, seed=3)
    b = validation_split(x, y, 0.1, seed=3)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert len(a[2]) == 100 and not set(a[1]) & set(a[3]) and len(set(a[1]) | set(a[3])) == 1000


def test_fit_pads_resizes_and_converts_channels():
    x = np.full((2, 28, 28, 1), 200, np.uint8)
    padded = fit_images(x, (32, 32, 1), "pad")
    assert padded.shape == (2, 32, 32, 1) and padded[0, 0, 0, 0] == 0 and padded[0, 2, 2, 0] == 200
    resized = fit_images(x, (64, 64, 3), "resize")
    assert resized.shape == (2, 64, 64, 3) and resized.dtype == np.uint8 and resized[0, 32, 32, 1] == 200
    with pytest.raises(UserError, match="larger than the model input"):
        fit_images(np.zeros((1, 40, 40, 1), np.uint8), (32, 32, 1), "pad")


def test_splits_of_the_demo_dataset():
    dataset = {"name": "fashion_mnist", "path": None, "input_shape": [32, 32, 3], "fit": "pad",
               "validation_split": 0.1, "train_samples": 1000}
    s = load_splits(dataset)
    assert s.x_train.shape == (1000, 32, 32, 3) and s.x_val.shape == (6000, 32, 32, 3)
    assert s.x_test.shape == (10000, 32, 32, 3) and s.classes == 10


def _png(path, mode="L", size=(28, 28)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, 128).save(path)


def test_image_folder_dataset(tmp_path):
    for cls in ("cat", "dog"):
        for i in range(5):
            _png(tmp_path / cls / f"{i}.png", "RGB", (20, 24))
    dataset = {"name": "image_folder", "path": str(tmp_path), "input_shape": [32, 32, 3], "fit": "resize",
               "validation_split": 0.25, "train_samples": None}
    s = load_splits(dataset)
    assert s.class_names == ["cat", "dog"] and len(s.y_test) == 2 and len(s.y_train) + len(s.y_val) == 8
    assert s.x_train.shape[1:] == (32, 32, 3)


def test_calibration_set_of_the_repo():
    images = load_calibration(ROOT / "calib_data" / "fashion_mnist", (32, 32, 1), 300)
    assert images.shape == (300, 32, 32, 1) and images.dtype == np.uint8 and images.max() > 200


@pytest.mark.parametrize("setup, expected", [
    (lambda d: None, "has no images"),
    (lambda d: (d / "x.png").write_bytes(b"not a png"), "cannot read image"),
    (lambda d: _png(d / "c.png", "RGB"), "has 3 channels but the model takes 1"),
    (lambda d: _png(d / "big.png", "L", (64, 64)), "larger than the model input 32x32"),
])
def test_bad_calibration_folders(tmp_path, setup, expected):
    setup(tmp_path)
    with pytest.raises(UserError, match=expected):
        load_calibration(tmp_path, (32, 32, 1), 1)


def test_too_few_calibration_images(tmp_path):
    _png(tmp_path / "a.png")
    with pytest.raises(UserError, match="has 1 images but calibration.samples asks for 5"):
        load_calibration(tmp_path, (32, 32, 1), 5)
    with pytest.raises(UserError, match="does not exist"):
        load_calibration(tmp_path / "missing", (32, 32, 1), 5)


def test_the_synthetic_shapes_set_is_an_image_folder_of_png_and_jpeg_files_fixed_by_its_seed(tmp_path):
    from edgecnn.data.datasets import load_splits
    from edgecnn.data.synthetic import SHAPES, draw, write
    from edgecnn.schema import validate

    a, b = (write(tmp_path / name, train=6, test=3, size=32, seed=3) for name in ("a", "b"))
    files = sorted(p.relative_to(a) for p in a.rglob("*.*"))
    assert files == sorted(p.relative_to(b) for p in b.rglob("*.*")) and len(files) == 27
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert {f.suffix for f in files} == {".png", ".jpg"}
    dataset = validate({"model": {"name": "micro_cnn"}, "dataset": {"name": "image_folder", "path": str(a),
                                                                   "input_shape": [32, 32, 3]}}, "r.yaml")["dataset"]
    splits = load_splits(dataset)
    assert splits.class_names == sorted(SHAPES) and splits.x_test.shape == (9, 32, 32, 3)
    rng = np.random.default_rng(0)
    for _ in range(20):                        # a square fills its box: 9-49 % of the image, in another colour
        image = draw("square", 64, rng).astype(int)
        inside = np.abs(image - np.median(image.reshape(-1, 3), axis=0)).max(axis=2) > 48
        assert 0.08 < inside.mean() < 0.5
