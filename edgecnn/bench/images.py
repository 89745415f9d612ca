"""Images fitted to a model's input, numpy and Pillow only (the bench and `predict` run on devices).

The way training fits them (edgecnn/data/preprocess.py): grey repeated to RGB or RGB weighted to grey;
then `pad` (centred zeros: the image must not be larger) or `resize` (bilinear, as training reads a folder).
`auto` pads an image that fits and resizes one that does not.
"""

import numpy as np

from edgecnn.bench.labelled import DataError, read_image

FITS = ("auto", "pad", "resize")


def fit_channels(x, channels, where="images"):
    have = x.shape[-1]
    if have == channels:
        return x
    if have == 1 and channels == 3:
        return np.repeat(x, 3, axis=-1)
    if have == 3 and channels == 1:
        grey = x.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return np.round(grey).astype(np.uint8)[..., None]
    raise DataError(f"{where} have {have} channels; the model takes {channels} (1 or 3 can be converted).")


def pad_to(img, size, where):
    h, w = img.shape[:2]
    th, tw = size
    if h > th or w > tw:
        raise DataError(f"{where} is {h}x{w}, larger than the model input {th}x{tw}, and padding cannot shrink "
                        f"it; fit it by resizing instead.")
    top, left = (th - h) // 2, (tw - w) // 2
    return np.pad(img, ((top, th - h - top), (left, tw - w - left), (0, 0)))


def read_fitted(path, input_shape, fit="auto"):
    """One image file as uint8 (H, W, C) at the model's `input_shape` (H, W, C)."""
    h, w, c = (int(d) for d in input_shape)
    img = read_image(path)
    larger = img.shape[0] > h or img.shape[1] > w
    if fit == "resize" or (fit == "auto" and larger):
        img = read_image(path, (h, w))
    img = fit_channels(img, c, f"image {path}")
    return pad_to(img, (h, w), f"image {path}")


def read_folder_fitted(folder, input_shape, fit="auto", progress=None):
    """A folder of class folders, every image fitted: x (N, H, W, C) uint8, y (N,), class names."""
    from edgecnn.bench.labelled import list_image_folder

    classes, paths, labels = list_image_folder(folder)
    items = progress("reading images", paths) if progress else paths
    x = np.stack([read_fitted(p, input_shape, fit) for p in items])
    return x, np.asarray(labels, dtype=np.int64), classes
