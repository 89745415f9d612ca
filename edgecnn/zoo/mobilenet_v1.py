"""MobileNet v1 (Howard et al. 2017), layer for layer as tf_keras.applications.MobileNet.

4,253,864 parameters at 224x224x3, 1000 classes, alpha 1.0 (the classifier is a Dense layer where
Keras uses a 1x1 convolution: same weights). Options: alpha (width), depth_multiplier (of the
depthwise convolutions); the paper's resolution multiplier is the input size. Small inputs: below
96x96 the stem runs at stride 1, so a 32x32 image ends at 2x2 features.
"""

from edgecnn.errors import UserError
from edgecnn.tf import keras
from edgecnn.zoo.layers import model_name, check_min_size, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers

# (pointwise filters, depthwise stride) for the 13 depthwise-separable blocks
BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
          (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


def _bn_relu6(x, name):
    x = layers.BatchNormalization(name=name + "_bn")(x)
    return layers.ReLU(6.0, name=name + "_relu")(x)


@register_model(family="mobilenet", role="edge")
def mobilenet_v1(input_shape=(224, 224, 3), classes=1000, weights=None, alpha=1.0, depth_multiplier=1,
                 dropout=1e-3, stem_stride=None):
    """MobileNet v1. alpha: width (> 0); depth_multiplier: int >= 1; stem_stride: 1 or 2 (default: 1 below 96x96)."""
    check_min_size("mobilenet_v1", input_shape, 32)
    if not (isinstance(alpha, (int, float)) and 0 < alpha <= 4):
        raise UserError(f"mobilenet_v1: alpha must be a number in (0, 4], got {alpha!r}.")
    if not (isinstance(depth_multiplier, int) and depth_multiplier >= 1):
        raise UserError(f"mobilenet_v1: depth_multiplier must be an integer >= 1, got {depth_multiplier!r}.")
    stem_stride = stem_stride or (1 if min(input_shape[:2]) < 96 else 2)
    if stem_stride not in (1, 2):
        raise UserError(f"mobilenet_v1: stem_stride must be 1 or 2, got {stem_stride!r}.")
    inputs, x = pixel_input(input_shape, weights=weights)
    x = layers.Conv2D(int(32 * alpha), 3, strides=stem_stride, padding="same", use_bias=False, name="conv1")(x)
    x = _bn_relu6(x, "conv1")
    for i, (filters, stride) in enumerate(BLOCKS, start=1):
        if stride == 2:
            x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{i}")(x)
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same" if stride == 1 else "valid",
                                   depth_multiplier=depth_multiplier, use_bias=False, name=f"conv_dw_{i}")(x)
        x = _bn_relu6(x, f"conv_dw_{i}")
        x = layers.Conv2D(int(filters * alpha), 1, use_bias=False, name=f"conv_pw_{i}")(x)
        x = _bn_relu6(x, f"conv_pw_{i}")
    x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name(f"mobilenet_v1_{alpha:g}_{input_shape[0]}", weights))
