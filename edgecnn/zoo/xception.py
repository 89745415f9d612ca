"""Xception (Chollet 2017), layer for layer as tf_keras.applications.Xception.

Inception's modules taken to the limit: every convolution after the stem is a depthwise separable one
(SeparableConv2D: a 3x3 depthwise convolution, then a 1x1 pointwise one, which TFLite runs as
DEPTHWISE_CONV_2D + CONV_2D), in 14 blocks with residual connections: the entry flow (blocks 2-4, each
halving the size with a strided max pool and a strided 1x1 shortcut), the middle flow (blocks 5-12,
three 728-wide separable convolutions each) and the exit flow (13-14). MobileNet v1 is the same
factorisation at mobile width. At 299x299x3 with 1000 classes: 22,910,480 parameters and 8.36 G
multiply-adds, equal to Keras' Xception's (compared live; the paper publishes neither figure
exactly). Keras names the shortcut convolutions by counter; here they are `block<n>_shortcut`. Small
inputs: below 96x96 the stem's two 3x3 convolutions run at stride 1 with 'same' padding, so 32x32
reaches the exit flow at 2x2 (Keras' stem would leave 1x1).
"""

from edgecnn.tf import keras
from edgecnn.zoo.layers import check_int, check_min_size, model_name, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers


def _conv_bn(x, filters, name, strides=1, padding="valid"):
    x = layers.Conv2D(filters, 3, strides=strides, padding=padding, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=name + "_bn")(x)
    return layers.Activation("relu", name=name + "_act")(x)


def _sep_bn(x, filters, name):
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(name=name + "_bn")(x)


def _down_block(x, filters, block, relu_first=True):
    """Two separable convolutions and a 3x3/2 max pool, added to a strided 1x1 shortcut."""
    name = f"block{block}"
    shortcut = layers.Conv2D(filters[-1], 1, strides=2, padding="same", use_bias=False, name=name + "_shortcut")(x)
    shortcut = layers.BatchNormalization(name=name + "_shortcut_bn")(shortcut)
    if relu_first:
        x = layers.Activation("relu", name=name + "_sepconv1_act")(x)
    x = _sep_bn(x, filters[0], name + "_sepconv1")
    x = layers.Activation("relu", name=name + "_sepconv2_act")(x)
    x = _sep_bn(x, filters[1], name + "_sepconv2")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=name + "_pool")(x)
    return layers.Add(name=name + "_add")([x, shortcut])


@register_model(family="xception", role="baseline", reference_input=(299, 299, 3))
def xception(input_shape=(299, 299, 3), classes=1000, weights=None, middle_blocks=8):
    """Xception: entry, middle (middle_blocks blocks of 728, 8 in the paper, 1-64) and exit flow."""
    check_int("xception", "middle_blocks", middle_blocks, 1, 64)
    check_min_size("xception", input_shape, 32)
    small = min(input_shape[:2]) < 96
    inputs, x = pixel_input(input_shape)
    x = _conv_bn(x, 32, "block1_conv1", strides=1 if small else 2, padding="same" if small else "valid")
    x = _conv_bn(x, 64, "block1_conv2", padding="same" if small else "valid")
    x = _down_block(x, (128, 128), 2, relu_first=False)
    x = _down_block(x, (256, 256), 3)
    x = _down_block(x, (728, 728), 4)
    for block in range(5, 5 + middle_blocks):
        shortcut, name = x, f"block{block}"
        for i in (1, 2, 3):
            x = layers.Activation("relu", name=f"{name}_sepconv{i}_act")(x)
            x = _sep_bn(x, 728, f"{name}_sepconv{i}")
        x = layers.Add(name=name + "_add")([x, shortcut])
    x = _down_block(x, (728, 1024), 13)
    for i, filters in ((1, 1536), (2, 2048)):
        x = _sep_bn(x, filters, f"block14_sepconv{i}")
        x = layers.Activation("relu", name=f"block14_sepconv{i}_act")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name("xception", weights))
