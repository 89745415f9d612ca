"""A recipe's dataset as uint8 arrays fitted to the model input: train, validation and test splits."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecnn.bench.labelled import DataError, load_image_folder
from edgecnn.data import fashion_mnist
from edgecnn.data.preprocess import fit_images
from edgecnn.errors import UserError


@dataclass
class Splits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list

    @property
    def classes(self):
        return len(self.class_names)


def validation_split(x, y, fraction, seed=0):
    """Deterministic split: the same seed and data give the same validation images on every machine."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = int(round(len(x) * fraction))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def _image_folder(path, input_shape, fit):
    """<path>/train/<class>/... and <path>/test/<class>/..., or one folder of classes split 80/20."""
    if not path:
        raise UserError("dataset.path is required for dataset.name: image_folder.")
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"dataset.path {root} is not a folder of class sub-folders of images.")
    size = input_shape[:2] if fit == "resize" else None
    try:
        if (root / "train").is_dir() and (root / "test").is_dir():
            x, y, names = load_image_folder(str(root / "train"), size)
            xt, yt, test_names = load_image_folder(str(root / "test"), size)
            if test_names != names:
                raise UserError(f"{root}/test has classes {test_names} but {root}/train has {names}.")
            return (x, y), (xt, yt), names
        x, y, names = load_image_folder(str(root), size)
    except DataError as e:
        raise UserError(str(e)) from None
    x, y, xt, yt = validation_split(x, y, 0.2, seed=1234)
    return (x, y), (xt, yt), names


def load_splits(dataset, seed=0):
    """dataset: the recipe's `dataset` section."""
    if dataset["name"] == "fashion_mnist":
        (x, y), (xt, yt) = fashion_mnist.load(dataset["path"])
        names = fashion_mnist.CLASS_NAMES
    else:
        (x, y), (xt, yt), names = _image_folder(dataset["path"], dataset["input_shape"], dataset["fit"])
    shape, fit = dataset["input_shape"], dataset["fit"]
    x, xt = fit_images(x, shape, fit, "training images"), fit_images(xt, shape, fit, "test images")
    x, y, xv, yv = validation_split(x, y, dataset["validation_split"], seed)
    if dataset["train_samples"]:
        x, y = x[:dataset["train_samples"]], y[:dataset["train_samples"]]
    return Splits(x, y, xv, yv, xt, yt, list(names))
