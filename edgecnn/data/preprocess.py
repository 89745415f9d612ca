"""Fit images to a model's input: pad or resize to (H, W), convert the channel count. uint8 in, uint8 out."""

import numpy as np

from edgecnn.bench import images
from edgecnn.bench.labelled import DataError
from edgecnn.errors import UserError


def fit_channels(x, channels, where="images"):
    try:
        return images.fit_channels(x, channels, where)
    except DataError as e:
        raise UserError(str(e)) from None


def fit_size(x, size, mode="pad", where="images"):
    """Centre-pad with zeros (`pad`, the image must not be larger) or bilinear-resize (`resize`)."""
    h, w = x.shape[1:3]
    th, tw = size
    if (h, w) == (th, tw):
        return x
    if mode == "pad":
        if h > th or w > tw:
            raise UserError(f"{where} are {h}x{w}, larger than the model input {th}x{tw}, and the recipe pads "
                            f"(dataset.fit: pad); use dataset.fit: resize or smaller images.")
        top, left = (th - h) // 2, (tw - w) // 2
        return np.pad(x, ((0, 0), (top, th - h - top), (left, tw - w - left), (0, 0)))
    from edgecnn.tf import tf

    out = tf.image.resize(x, (th, tw), method="bilinear", antialias=True)
    return np.clip(np.round(out.numpy()), 0, 255).astype(np.uint8)


def fit_images(x, input_shape, mode="pad", where="images"):
    x = fit_channels(x, input_shape[2], where)
    return fit_size(x, input_shape[:2], mode, where)
