"""Fold a model's input scaling into its stem convolution, so a file's first compute op is the stem.

The zoo's models take raw 0-255 pixels and scale them in their first layers (Rescaling to [-1, 1];
EfficientNet's 1/255 then mean/std; grey repeated to RGB under ImageNet weights; the files' own RGB to
grey under convert.rgb_input). Every one of those is an affine map per pixel, x' = M x + b, so the stem
sees conv(x') = conv_W(M x + b): the kernel becomes W M and the bias gains sum(W b), exactly.

Padding is where it is not free: the stem pads x' with zeros, and a zero in x' is the raw pixel v with
M v + b = 0 (127.5 for the [-1, 1] scaling), not 0. So the folded stem pads the raw input with v
itself (one PAD op; per-channel values as constant strips) and convolves without padding, which keeps
the border exact too. A model whose first layers are anything else is named and left unfolded.
"""

import numpy as np

from edgecnn.tf import keras, tf

FOLDABLE = ("Rescaling", "Normalization", "Concatenate", "ZeroPadding2D")


class NotFoldable(ValueError):
    pass


@keras.utils.register_keras_serializable("edgecnn")
class FoldedAway(keras.layers.Layer):
    """A layer whose work now lives in the stem's kernel: it passes its (first) input on unchanged."""

    def call(self, inputs):
        return inputs[0] if isinstance(inputs, (list, tuple)) else inputs


def constant_pad(x, pads, values):
    """x padded by pads ((top, bottom), (left, right)) with a constant per channel (`values`)."""
    (top, bottom), (left, right) = pads
    if len(set(values)) == 1:
        return tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], constant_values=values[0])
    fill = tf.constant(np.asarray(values, np.float32).reshape(1, 1, 1, -1))

    def strip(height, width):
        return tf.broadcast_to(fill, tf.stack([tf.shape(x)[0], height, width, len(values)]))

    height = tf.shape(x)[1]
    x = tf.concat([t for t in (strip(height, left) if left else None, x,
                               strip(height, right) if right else None) if t is not None], axis=2)
    width = tf.shape(x)[2]
    return tf.concat([t for t in (strip(top, width) if top else None, x,
                                  strip(bottom, width) if bottom else None) if t is not None], axis=1)


@keras.utils.register_keras_serializable("edgecnn")
class PaddedConv2D(keras.layers.Conv2D):
    """The folded stem: pads the raw input with the pixel values that scale to zero, then a valid conv."""

    def __init__(self, pads=((0, 0), (0, 0)), pad_values=(0.0,), **kwargs):
        super().__init__(**kwargs)
        self.pads = tuple(tuple(int(p) for p in pair) for pair in pads)
        self.pad_values = [float(v) for v in pad_values]

    def call(self, inputs):
        if any(any(pair) for pair in self.pads):
            inputs = constant_pad(inputs, self.pads, self.pad_values)
        return super().call(inputs)

    def get_config(self):
        return {**super().get_config(), "pads": self.pads, "pad_values": self.pad_values}


def same_pads(size, kernel, stride):
    """TensorFlow's SAME padding for one dimension: (before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _chain(model):
    """(layers between the input and the stem, the stem Conv2D); NotFoldable naming what is in the way."""
    layer, chain = model.layers[0], []
    while True:
        nodes = list({id(n): n for n in layer._outbound_nodes}.values())     # x, x, x into one node: one
        if len(nodes) != 1:
            raise NotFoldable(f"'{layer.name}' feeds {len(nodes)} layers, not one stem convolution")
        node = nodes[0]
        nxt = node.outbound_layer
        kind = type(nxt).__name__
        if kind == "Conv2D":
            return chain, nxt
        if kind not in FOLDABLE:
            raise NotFoldable(f"its first layer after the input scaling is {kind} '{nxt.name}', not a Conv2D")
        if kind == "Concatenate" and (nxt.axis not in (-1, 3) or
                                      any(t is not node.keras_inputs[0] for t in node.keras_inputs)):
            raise NotFoldable(f"'{nxt.name}' concatenates different tensors, not one image repeated")
        if chain and type(chain[-1]).__name__ == "ZeroPadding2D":
            raise NotFoldable(f"'{nxt.name}' follows an explicit padding; only the stem may follow one")
        chain.append(nxt)
        layer = nxt


def _affine(chain, m, b):
    """Compose the chain's per-pixel maps onto x' = m x + b (m: out x raw channels)."""
    pads = np.zeros((2, 2), int)
    for layer in chain:
        kind = type(layer).__name__
        if kind == "Concatenate":
            repeats = len(layer.input) if isinstance(layer.input, list) else 1
            m, b = np.tile(m, (repeats, 1)), np.tile(b, repeats)
        elif kind == "Rescaling":
            scale = np.broadcast_to(np.asarray(layer.scale, np.float64), b.shape)
            offset = np.broadcast_to(np.asarray(layer.offset, np.float64), b.shape)
            m, b = scale[:, None] * m, scale * b + offset
        elif kind == "Normalization":
            if layer.invert or tuple(layer.axis) not in ((-1,), (3,)):
                raise NotFoldable(f"'{layer.name}' is not a per-channel normalization of the input")
            mean = np.asarray(layer.mean, np.float64).reshape(-1)
            std = np.maximum(np.sqrt(np.asarray(layer.variance, np.float64).reshape(-1)), keras.backend.epsilon())
            m, b = m / std[:, None], (b - mean) / std
        else:                                                        # ZeroPadding2D, last before the stem
            pads += np.asarray(layer.padding)
    return m, b, pads


def _pad_values(m, b):
    """Raw pixel values v with m v + b = 0: one value for every channel where one exists."""
    ones = m @ np.ones(m.shape[1])
    if ones @ ones > 0:
        uniform = -(ones @ b) / (ones @ ones)
        if np.allclose(m @ np.full(m.shape[1], uniform) + b, 0, atol=1e-6 * (1 + np.abs(b).max())):
            return [float(uniform)] * m.shape[1]
    v = np.linalg.lstsq(m, -b, rcond=None)[0]
    if not np.allclose(m @ v + b, 0, atol=1e-6 * (1 + np.abs(b).max())):
        raise NotFoldable("no raw pixel value scales to the zero its stem pads with")
    return [float(t) for t in v]


def passes(chain, grey):
    """How many ops over the whole input the chain costs in a .tflite file: MUL and ADD for a Rescaling
    (each only when it does something), SUB and MUL for a Normalization, the CONCATENATION of a grey
    image repeated; with grey computed inside (one 1x1 CONV_2D) the converter fuses a Rescaling into it."""
    count = 1 if grey else 0
    for layer in chain:
        kind = type(layer).__name__
        if kind == "Rescaling" and not grey:
            count += int(np.any(np.asarray(layer.scale) != 1)) + int(np.any(np.asarray(layer.offset) != 0))
        elif kind in ("Normalization", "Concatenate"):
            count += 2 if kind == "Normalization" else 1
    return count


# An unfolded stem pads with zeros, which XNNPACK does inside the convolution; the folded stem pads with
# the pixel value v, one more pass over the input. Measured (docs/speed.md): that pass costs more than a
# two-op scaling (MobileNet v2/v3 at 224x224x3: 1.02-1.08x) and less than EfficientNet's three ops.
WORTH_A_PAD = 3


def fold_input(model, grey_weights=None, always=False, gpu=False):
    """(model with its input scaling folded into the stem, None), or (model unchanged, why not).

    grey_weights: the file takes RGB and computes grey inside (convert.rgb_input): the RGB-to-grey
    weights are folded into the stem too, and the returned model takes 3 channels. Where the folded
    stem must pad with a pixel value other than 0, it folds only when that removes WORTH_A_PAD or more
    passes over the input, or `always`; never for a `gpu` file: LiteRT 2.3's GPU accelerator computes a
    PADV2 with a non-zero value before a convolution as zero padding (docs/gpu.md).
    """
    if any("Quantize" in type(layer).__name__ for layer in model.layers):
        return model, "a quantization-aware model keeps its layers as trained"
    try:
        chain, stem = _chain(model)
        channels = model.input_shape[-1]
        if grey_weights is not None and channels == 1:
            m = np.asarray(grey_weights, np.float64).reshape(1, 3)
        else:
            m = np.eye(channels)
        if not chain and grey_weights is None:
            return model, "nothing to fold: its stem takes the input as it is"
        cfg = stem.get_config()
        if tuple(cfg["dilation_rate"]) != (1, 1) or cfg.get("groups", 1) != 1 or cfg["data_format"] != "channels_last":
            raise NotFoldable(f"its stem '{stem.name}' is dilated, grouped or channels-first")
        m, b, pads = _affine(chain, m, np.zeros(m.shape[0]))
    except NotFoldable as e:
        return model, str(e)
    if cfg["padding"] == "same":
        size = stem.input_shape[1:3]
        pads = pads + np.asarray([same_pads(size[i], cfg["kernel_size"][i], cfg["strides"][i]) for i in (0, 1)])
    try:
        values = _pad_values(m, b) if pads.any() else [0.0] * m.shape[1]
    except NotFoldable as e:
        return model, str(e)
    removed = passes(chain, grey_weights is not None)
    if any(values) and gpu:
        return model, (f"kept unfolded in the GPU's file: folded, its stem would pad with the pixel value "
                       f"{values[0]:g} (a PADV2), which LiteRT's GPU accelerator computes as zero padding (docs/gpu.md)")
    if any(values) and not always and removed < WORTH_A_PAD:
        return model, (f"kept as {removed} op(s) over the input: folded, its stem would pad with the pixel value "
                       f"{values[0]:g}, a pass of its own that costs more (docs/speed.md)")
    kernel, *bias = stem.get_weights()
    new_kernel = np.einsum("hwco,cr->hwro", kernel.astype(np.float64), m).astype(np.float32)
    new_bias = ((bias[0] if bias else 0.0) + np.einsum("hwco,c->o", kernel.astype(np.float64), b)).astype(np.float32)

    def clone(layer):
        if layer in chain:
            return FoldedAway(name=layer.name)
        if layer is stem:
            return PaddedConv2D(pads=pads.tolist(), pad_values=values,
                                **{**cfg, "padding": "valid", "use_bias": True})
        return layer.__class__.from_config(layer.get_config())

    inputs = keras.Input(shape=(*model.input_shape[1:3], m.shape[1]), name=model.inputs[0].name.split(":")[0])
    folded = keras.models.clone_model(model, input_tensors=inputs, clone_function=clone)
    for layer in folded.layers:
        if layer.name == stem.name:
            layer.set_weights([new_kernel, new_bias])
        elif layer.weights and not isinstance(layer, FoldedAway):
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return folded, None

