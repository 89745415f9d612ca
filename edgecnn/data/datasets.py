"""A recipe's dataset as uint8 arrays fitted to the model input: train, validation and test splits.

Image folders: <path>/train/<class>/... and <path>/test/<class>/..., or one folder of class folders of
which a fixed 20 % (seed 1234) becomes the test split. `dataset.classes` keeps the named classes, in
that order (labels 0, 1, ...); `dataset.samples_per_class` keeps the first N training images of each.
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecnn.bench.labelled import DataError, list_image_folder, load_image_folder
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


def _folder_root(path):
    if not path:
        raise UserError("dataset.path is required for dataset.name: image_folder.")
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"dataset.path {root} is not a folder of class sub-folders of images.")
    return root


def _split_folders(root):
    """[train folder, test folder] for the train/test layout, else [root]."""
    return [root / "train", root / "test"] if (root / "train").is_dir() and (root / "test").is_dir() else [root]


def data_files(dataset):
    """(class names, every file the dataset reads): checks the layout without decoding an image."""
    if dataset["name"] == "fashion_mnist":
        folder = fashion_mnist.locate(dataset["path"])
        files = [fashion_mnist._find(folder, stem) for pair in fashion_mnist.FILES.values() for stem in pair] \
            if folder else []
        return list(fashion_mnist.CLASS_NAMES), [str(f) for f in files]
    root = _folder_root(dataset["path"])
    try:
        listed = [list_image_folder(str(folder)) for folder in _split_folders(root)]
    except DataError as e:
        raise UserError(str(e)) from None
    names = listed[0][0]
    if len(listed) == 2 and listed[1][0] != names:
        raise UserError(f"{root}/test has classes {listed[1][0]} but {root}/train has {names}; "
                        f"the two must have the same class folders.")
    return names, [p for _, paths, _ in listed for p in paths]


def selected_classes(dataset, names):
    """Indices into `names` of dataset.classes (names or indices), or all; UserError naming a bad one."""
    wanted = dataset.get("classes")
    if not wanted:
        return list(range(len(names)))
    out = []
    for c in wanted:
        if isinstance(c, int) and not isinstance(c, bool) and 0 <= c < len(names):
            out.append(c)
        elif isinstance(c, str) and c in names:
            out.append(names.index(c))
        else:
            raise UserError(f"dataset.classes: {c!r} is not one of the data's classes (names or indices 0-"
                            f"{len(names) - 1}): {', '.join(names)}.")
    if len(set(out)) != len(out) or len(out) < 2:
        raise UserError(f"dataset.classes must name at least two different classes, got {wanted}.")
    return out


def fingerprint(paths):
    """sha256 of each file's path, size and modification time (not its content: that would read every image
    at every `edgecnn check`); a file added, removed, replaced or touched changes it."""
    h = hashlib.sha256()
    for p in sorted(map(str, paths)):
        st = os.stat(p)
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _image_folder(path, input_shape, fit, progress=None):
    root = _folder_root(path)
    size = input_shape[:2] if fit == "resize" else None
    folders = _split_folders(root)
    data_files({"name": "image_folder", "path": path})      # the layout checks, before any decoding
    try:
        if len(folders) == 2:
            x, y, names = load_image_folder(str(folders[0]), size, progress)
            xt, yt, _ = load_image_folder(str(folders[1]), size, progress)
            return (x, y), (xt, yt), names
        x, y, names = load_image_folder(str(root), size, progress)
    except DataError as e:
        raise UserError(str(e)) from None
    x, y, xt, yt = validation_split(x, y, 0.2, seed=1234)
    return (x, y), (xt, yt), names


def _keep(x, y, keep):
    """Only the labels in `keep`, relabelled 0.. in that order."""
    mask = np.isin(y, keep)
    relabel = np.zeros(int(max(keep)) + 1, np.int64)
    relabel[keep] = np.arange(len(keep))
    return x[mask], relabel[y[mask]]


def _per_class(x, y, n, classes):
    """The first n images of each class (in the split's shuffled order), their order kept."""
    rows = np.sort(np.concatenate([np.flatnonzero(y == c)[:n] for c in range(classes)]))
    return x[rows], y[rows]


def load_splits(dataset, seed=0, progress=None):
    """dataset: the recipe's `dataset` section."""
    if dataset["name"] == "fashion_mnist":
        (x, y), (xt, yt) = fashion_mnist.load(dataset["path"])
        names = fashion_mnist.CLASS_NAMES
    else:
        (x, y), (xt, yt), names = _image_folder(dataset["path"], dataset["input_shape"], dataset["fit"], progress)
    keep = selected_classes(dataset, list(names))
    if len(keep) != len(names) or keep != sorted(keep):
        (x, y), (xt, yt) = _keep(x, y, keep), _keep(xt, yt, keep)
        names = [names[k] for k in keep]
    shape, fit = dataset["input_shape"], dataset["fit"]
    x, xt = fit_images(x, shape, fit, "training images"), fit_images(xt, shape, fit, "test images")
    x, y, xv, yv = validation_split(x, y, dataset["validation_split"], seed)
    if dataset.get("samples_per_class"):
        x, y = _per_class(x, y, dataset["samples_per_class"], len(names))
    if dataset["train_samples"]:
        x, y = x[:dataset["train_samples"]], y[:dataset["train_samples"]]
    return Splits(x, y, xv, yv, xt, yt, list(names))
