"""Calibration images for int8 post-training quantization, read from a folder such as calib_data/.

A calibration set must look like the training data: the same channel count (grey images may feed a
colour model) and a size the recipe's `dataset.fit` can bring to the model input.
"""

import os
from pathlib import Path

import numpy as np

from edgecnn.bench.labelled import DataError, image_files, read_image
from edgecnn.bench.progress import bar
from edgecnn.data.preprocess import fit_size
from edgecnn.errors import UserError


def all_images(folder):
    """Images directly in `folder` and in its sub-folders (class folders are welcome, labels unused)."""
    paths = []
    for root, dirs, _ in os.walk(folder):
        dirs.sort()
        paths += [os.path.join(root, f) for f in image_files(root)]
    return paths


def load_calibration(folder, input_shape, samples, fit="pad"):
    """`samples` images as uint8 (N, H, W, C) fitted to `input_shape`; UserError naming what is wrong."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"calibration folder {folder} does not exist; put a few hundred training-like "
                        f"images there (see calib_data/README.md).")
    paths = all_images(str(folder))
    if not paths:
        raise UserError(f"calibration folder {folder} has no images (.png, .jpg, ...); "
                        f"see calib_data/README.md for how to fill it.")
    if len(paths) < samples:
        raise UserError(f"calibration folder {folder} has {len(paths)} images but calibration.samples "
                        f"asks for {samples}; add images or lower calibration.samples.")
    channels = input_shape[2]
    images = []
    for path in paths[:samples]:
        try:
            img = read_image(path, input_shape[:2] if fit == "resize" else None)
        except DataError as e:
            raise UserError(str(e)) from None
        if img.shape[2] != channels and not (img.shape[2] == 1 and channels == 3):
            raise UserError(f"calibration image {path} has {img.shape[2]} channels but the model takes "
                            f"{channels}; use images like the training data.")
        img = np.repeat(img, 3, axis=2) if img.shape[2] != channels else img
        images.append(fit_size(img[None], input_shape[:2], fit, f"calibration image {path}")[0])
    return np.stack(images)


def as_files_take(recipe, images):
    """Images as the recipe's .tflite files take them: grey repeated to R = G = B under convert.rgb_input."""
    return np.repeat(images, 3, axis=-1) if recipe["convert"]["rgb_input"] and images.shape[-1] == 1 else images


def for_recipe(recipe):
    """The recipe's calibration images, as its files take them."""
    cal, data = recipe["calibration"], recipe["dataset"]
    return as_files_take(recipe, load_calibration(cal["path"], data["input_shape"], cal["samples"], data["fit"]))


def representative(calibration):
    """The TFLite converter's representative dataset (and the quantization debugger's): one float32 image of
    batch 1 at a time."""
    return lambda: ([img[None].astype(np.float32)] for img in bar("calibrating", calibration))
