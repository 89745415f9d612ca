"""Labelled image sets: an .npz file (arrays `x` and `y`) or a folder of class sub-folders of images.

numpy only; images in a folder are decoded with Pillow when it is installed.
"""

import os

import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


class DataError(ValueError):
    """A labelled set that cannot be read or does not fit a model; the message is one sentence."""


def image_files(folder):
    return sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS)
                  and os.path.isfile(os.path.join(folder, f)))


def read_image(path, size=None):
    """One image as uint8 (H, W, C): C=1 for grey images, 3 for colour. `size` (h, w) resizes."""
    try:
        from PIL import Image
    except ImportError as e:
        raise DataError(f"reading {path} needs Pillow ('pip install pillow'), or pass an .npz set.") from e
    try:
        with Image.open(path) as img:
            img = img.convert("L" if img.mode in ("L", "I;16", "I", "1", "LA") else "RGB")
            if size is not None and img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), Image.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read image {path}: {e}.") from e
    return arr[..., None] if arr.ndim == 2 else arr


def stack_images(paths, size=None, progress=None):
    """Images of one shape stacked into (N, H, W, C); a differing one is named. `progress(label, items)`
    may wrap the iteration (a progress bar)."""
    items = progress("reading images", paths) if progress else paths
    images = [read_image(p, size) for p in items]
    for path, img in zip(paths, images):
        if img.shape != images[0].shape:
            raise DataError(f"{path} is {_shape(img)} but {paths[0]} is {_shape(images[0])}; "
                            f"all images of a set must have one size and channel count.")
    return np.stack(images)


def list_image_folder(folder):
    """(class names, image paths, labels) of a folder of class sub-folders; a class folder without images
    and a folder with fewer than two classes are refused (a classifier needs two, each with examples)."""
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    paths, labels = [], []
    for label, name in enumerate(classes):
        files = image_files(os.path.join(folder, name))
        if not files:
            raise DataError(f"class folder {os.path.join(folder, name)} has no images ({', '.join(IMAGE_EXTENSIONS)}); "
                            f"add images or remove the folder.")
        paths += [os.path.join(folder, name, f) for f in files]
        labels += [label] * len(files)
    if not paths:
        raise DataError(f"{folder} has no images in class sub-folders (expected {folder}/<class>/<image>.png).")
    if len(classes) < 2:
        raise DataError(f"{folder} has one class folder ({classes[0]}); a classifier needs at least two, "
                        f"one sub-folder of images per class.")
    return classes, paths, labels


def load_image_folder(folder, size=None, progress=None):
    """x (N, H, W, C) uint8, y (N,) int64, class names (sorted sub-folder names)."""
    classes, paths, labels = list_image_folder(folder)
    return stack_images(paths, size, progress), np.asarray(labels, dtype=np.int64), classes


def load_npz(path):
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f or "y" not in f:
                raise DataError(f"{path} must hold arrays 'x' (images) and 'y' (labels); it has {list(f.keys())}.")
            x, y = f["x"], f["y"]
            names = [str(n) for n in f["class_names"]] if "class_names" in f else None
    except (OSError, ValueError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"cannot read {path} as an .npz labelled set: {e}.") from e
    if len(x) != len(y) or y.ndim != 1:
        raise DataError(f"{path}: 'x' has {len(x)} images but 'y' has shape {y.shape}; expected one label each.")
    if not len(y):
        raise DataError(f"{path} holds no images ('x' and 'y' are empty); give a labelled set with at least one.")
    return x, y.astype(np.int64), names


def load_labelled(path):
    """Load a labelled set from an .npz file or an image folder."""
    if os.path.isdir(path):
        return load_image_folder(path)
    if not os.path.isfile(path):
        raise DataError(f"labelled set {path} does not exist (give an .npz file or a folder of class folders).")
    return load_npz(path)


def _shape(img):
    return "x".join(str(d) for d in img.shape)
