"""Fashion-MNIST (Xiao et al. 2017): 60,000 + 10,000 grey 28x28 images, 10 classes. Offline first.

Where the idx files are looked for: the recipe's `dataset.path` if set, else $EDGECNN_FASHION_MNIST if
set, else Debian's package `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist). A folder the
user named is never silently replaced by another. Only with EDGECNN_DOWNLOAD=1 does a missing data set
fall back to keras.datasets, which downloads.
"""

import os
from pathlib import Path

from edgecnn.data.idx import read_idx
from edgecnn.errors import UserError

DEBIAN_PATH = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(folder, stem):
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def where(path=None):
    """The folder to read: the one the user named, else Debian's."""
    return Path(path or os.environ.get("EDGECNN_FASHION_MNIST") or DEBIAN_PATH)


def locate(path=None):
    """The folder holding the four idx files, or None."""
    folder = where(path)
    return folder if all(_find(folder, stem) for pair in FILES.values() for stem in pair) else None


def load(path=None):
    """(x_train, y_train), (x_test, y_test) as uint8 arrays of shape (N, 28, 28, 1) and (N,)."""
    folder = locate(path)
    if folder is None:
        if os.environ.get("EDGECNN_DOWNLOAD") == "1":
            from edgecnn.tf import keras

            (xt, yt), (xv, yv) = keras.datasets.fashion_mnist.load_data()
            return (xt[..., None], yt), (xv[..., None], yv)
        raise UserError(f"Fashion-MNIST not found in {where(path)}: install it with "
                        f"'apt-get install dataset-fashion-mnist' (as root), or set EDGECNN_FASHION_MNIST "
                        f"to a folder with the four idx .gz files (EDGECNN_DOWNLOAD=1 allows a download).")
    out = []
    for split in ("train", "test"):
        images, labels = (read_idx(_find(folder, stem)) for stem in FILES[split])
        if images.shape[0] != labels.shape[0]:
            raise UserError(f"{folder}: {split} has {images.shape[0]} images but {labels.shape[0]} labels.")
        out.append((images[..., None], labels.astype("int64")))
    return tuple(out)


def write_samples(per_class, out):
    """The first `per_class` training images of each class as PNG files under out/<label>_<name>/ (the
    calibration sets of calib_data/ are made this way)."""
    from PIL import Image

    from edgecnn.artifacts import atomic_path

    (x, y), _ = load()
    for label, name in enumerate(CLASS_NAMES):
        folder = Path(out) / f"{label}_{name.replace('/', '-').replace(' ', '_').lower()}"
        folder.mkdir(parents=True, exist_ok=True)
        for index in [int(i) for i in (y == label).nonzero()[0][:per_class]]:
            with atomic_path(folder / f"train_{index:05d}.png") as tmp:
                Image.fromarray(x[index, :, :, 0], mode="L").save(tmp, format="PNG", optimize=True)
