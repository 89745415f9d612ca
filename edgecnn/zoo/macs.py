"""Multiply-accumulates of a Keras model, counted layer by layer from the graph at its input size.

Counted as the papers count "multiply-adds": convolutions (grouped and depthwise included) and
dense layers. Pooling, activations, batch norm and element-wise ops are left out unless
`pooling=True`, which adds one operation per pooled input element (the window reads).
"""

import numpy as np

from edgecnn.tf import keras

layers = keras.layers


def _shape(value):
    return tuple(int(d) for d in value[1:])


def layer_macs(layer, pooling=False):
    if isinstance(layer, keras.Model):
        return count_macs(layer, pooling)
    try:
        in_shape, out_shape = layer.input_shape, layer.output_shape
    except (AttributeError, RuntimeError):
        return 0
    if isinstance(in_shape, list) or isinstance(out_shape, list):
        in_shape = in_shape[0] if isinstance(in_shape, list) else in_shape
        out_shape = out_shape[0] if isinstance(out_shape, list) else out_shape
    out = _shape(out_shape)
    if isinstance(layer, layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return int(np.prod(out)) * kh * kw
    if isinstance(layer, layers.SeparableConv2D):
        kh, kw = layer.kernel_size
        inner = out[0] * out[1] * _shape(in_shape)[-1] * layer.depth_multiplier
        return inner * kh * kw + inner * out[-1]
    if isinstance(layer, layers.Conv2D):
        kh, kw = layer.kernel_size
        return int(np.prod(out)) * kh * kw * _shape(in_shape)[-1] // layer.groups
    if isinstance(layer, layers.Dense):
        return int(np.prod(out)) * _shape(in_shape)[-1]
    if pooling and isinstance(layer, (layers.AveragePooling2D, layers.MaxPooling2D)):
        kh, kw = layer.pool_size
        return int(np.prod(out)) * kh * kw
    if pooling and isinstance(layer, (layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D)):
        return int(np.prod(_shape(in_shape)))
    return 0


def count_macs(model, pooling=False):
    return sum(layer_macs(layer, pooling) for layer in model.layers)
