"""Training-time image regularizers on float batches of raw [0, 255] pixels: padded random crop, random
erasing, mixup and CutMix (edgecnn/train/options.py says what each recipe key means).

Crop is Keras' own RandomTranslation with nearest-pixel sampling and zero fill: padding by p pixels and
cropping back at a random place is a shift of at most p pixels with zeros coming in. Erasing and the two
mixes have no Keras layer in Keras 2; they are a few tensor operations each, per image, on the batch.
"""

import math

from edgecnn.tf import keras, tf

ERASE_AREA = (0.02, 0.4)        # Zhong et al. 2017: share of the image erased, and the aspect range
ERASE_ASPECT = (0.3, 1 / 0.3)


def is_mixing(cfg):
    """True when labels are mixed (mixup or CutMix), so they travel as one-hot vectors."""
    return bool(cfg.get("mixup") or cfg.get("cutmix"))


def crop_layer(padding, shape, seed):
    """Shift each image by up to `padding` pixels each way, zeros coming in (pad-and-crop)."""
    return keras.layers.RandomTranslation(padding / shape[0], padding / shape[1], fill_mode="constant",
                                          interpolation="nearest", seed=seed)


def erase(x, probability):
    """Each image, with `probability`, gets one rectangle of uniform noise in [0, 255]."""
    n, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    uniform = tf.random.uniform        # stateful: reproducible under keras.utils.set_random_seed
    area = uniform([n], *ERASE_AREA) * tf.cast(h * w, tf.float32)
    aspect = tf.exp(uniform([n], math.log(ERASE_ASPECT[0]), math.log(ERASE_ASPECT[1])))
    eh = tf.minimum(tf.cast(tf.round(tf.sqrt(area * aspect)), tf.int32), h)
    ew = tf.minimum(tf.cast(tf.round(tf.sqrt(area / aspect)), tf.int32), w)
    top = tf.cast(uniform([n]) * tf.cast(h - eh + 1, tf.float32), tf.int32)
    left = tf.cast(uniform([n]) * tf.cast(w - ew + 1, tf.float32), tf.int32)
    on = uniform([n]) < probability
    mask = _box_mask(h, w, top, left, eh, ew) & on[:, None, None]
    noise = uniform(tf.shape(x), 0.0, 255.0)
    return tf.where(mask[..., None], noise, x)


def _box_mask(h, w, top, left, bh, bw):
    """(n, h, w) booleans: True inside each image's box."""
    rows = tf.range(h)[None, :, None]
    cols = tf.range(w)[None, None, :]
    inside_rows = (rows >= top[:, None, None]) & (rows < (top + bh)[:, None, None])
    inside_cols = (cols >= left[:, None, None]) & (cols < (left + bw)[:, None, None])
    return inside_rows & inside_cols


def _beta(alpha):
    """One draw of Beta(alpha, alpha), as the ratio of two Gamma(alpha) draws."""
    g1, g2 = tf.random.gamma([], alpha), tf.random.gamma([], alpha)
    return g1 / (g1 + g2)


def mix(x, y, kind, alpha):
    """Mixup or CutMix of a batch with itself shuffled; `y` one-hot, mixed in proportion to the pixels."""
    uniform = tf.random.uniform
    n = tf.shape(x)[0]
    perm = tf.argsort(uniform([n]))
    lam = _beta(alpha)
    if kind == "mixup":
        return lam * x + (1 - lam) * tf.gather(x, perm), lam * y + (1 - lam) * tf.gather(y, perm)
    h, w = tf.shape(x)[1], tf.shape(x)[2]
    side = tf.sqrt(1.0 - lam)                          # the patch covers 1 - lam of the image, clipped at edges
    bh, bw = tf.cast(side * tf.cast(h, tf.float32), tf.int32), tf.cast(side * tf.cast(w, tf.float32), tf.int32)
    cy = tf.cast(uniform([]) * tf.cast(h, tf.float32), tf.int32)
    cx = tf.cast(uniform([]) * tf.cast(w, tf.float32), tf.int32)
    top, bottom = tf.maximum(cy - bh // 2, 0), tf.minimum(cy + bh // 2, h)
    left, right = tf.maximum(cx - bw // 2, 0), tf.minimum(cx + bw // 2, w)
    mask = _box_mask(h, w, top[None], left[None], (bottom - top)[None], (right - left)[None])[0]
    pasted = tf.cast((bottom - top) * (right - left), tf.float32) / tf.cast(h * w, tf.float32)
    x = tf.where(mask[None, :, :, None], tf.gather(x, perm), x)
    return x, (1 - pasted) * y + pasted * tf.gather(y, perm)
