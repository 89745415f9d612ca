"""MobileNetV2 (Sandler et al. 2018), layer for layer as tf_keras.applications.MobileNetV2.

Same layer names (`block_{id}_expand`, ...) and, at 224x224x3 with 1000 classes, the same parameter
count (3,538,984 at alpha 1.0). Two deliberate differences:
- a Rescaling layer first, so the model takes raw [0, 255] pixels (no parameters);
- the stem pads explicitly (1 pixel each side, then a 'valid' stride-2 conv) so the stem matches what
  XNNPACK's sparse path expects; output sizes are unchanged.
BatchNorm momentum defaults to 0.99 (Keras uses 0.999, whose moving statistics lag far behind in a
training run of a few epochs; an option keeps 0.999 available). Small inputs: below 96x96 the stem runs at stride 1 (the usual CIFAR adaptation, as in the
MobileNetV2 CIFAR-10 ports), so a 32x32 image ends at 2x2 instead of 1x1 features.
"""

from edgecnn.errors import UserError
from edgecnn.tf import keras
from edgecnn.zoo.layers import model_name, check_min_size, make_divisible, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers

# (expansion t, output channels c, repeats n, first stride s): Table 2 of the paper.
BLOCKS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


def _bn(x, name, momentum):
    return layers.BatchNormalization(epsilon=1e-3, momentum=momentum, name=name)(x)


def _inverted_residual(x, expansion, filters, stride, block_id, bn_momentum):
    in_channels = x.shape[-1]
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    out = x
    if block_id:
        out = layers.Conv2D(expansion * in_channels, 1, use_bias=False, name=prefix + "expand")(out)
        out = layers.ReLU(6.0, name=prefix + "expand_relu")(_bn(out, prefix + "expand_BN", bn_momentum))
    if stride == 2:
        out = layers.ZeroPadding2D(((0, 1), (0, 1)), name=prefix + "pad")(out)
    out = layers.DepthwiseConv2D(3, strides=stride, use_bias=False, padding="same" if stride == 1 else "valid",
                                 name=prefix + "depthwise")(out)
    out = layers.ReLU(6.0, name=prefix + "depthwise_relu")(_bn(out, prefix + "depthwise_BN", bn_momentum))
    out = layers.Conv2D(filters, 1, use_bias=False, name=prefix + "project")(out)
    out = _bn(out, prefix + "project_BN", bn_momentum)
    if stride == 1 and in_channels == filters:
        out = layers.Add(name=prefix + "add")([x, out])
    return out


@register_model(family="mobilenet", role="edge")
def mobilenet_v2(input_shape=(224, 224, 3), classes=1000, weights=None, alpha=1.0, stem_stride=None,
                 dropout=0.0, bn_momentum=0.99):
    """MobileNetV2. alpha: width multiplier (> 0); stem_stride: 1 or 2 (default: 1 below 96x96)."""
    check_min_size("mobilenet_v2", input_shape, 32)
    if not (isinstance(alpha, (int, float)) and 0 < alpha <= 4):
        raise UserError(f"mobilenet_v2: alpha must be a number in (0, 4], got {alpha!r}.")
    if stem_stride is None:
        stem_stride = 1 if min(input_shape[:2]) < 96 else 2
    if stem_stride not in (1, 2):
        raise UserError(f"mobilenet_v2: stem_stride must be 1 or 2, got {stem_stride!r}.")

    inputs, x = pixel_input(input_shape, weights=weights)
    if stem_stride == 2:      # Keras' 'same' padding for ImageNet's weights, 1 pixel each side otherwise
        x = layers.ZeroPadding2D(((0, 1), (0, 1)) if weights == "imagenet" else 1, name="Conv1_pad")(x)
    x = layers.Conv2D(make_divisible(32 * alpha), 3, strides=stem_stride, use_bias=False,
                      padding="valid" if stem_stride == 2 else "same", name="Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(_bn(x, "bn_Conv1", bn_momentum))

    block_id = 0
    for expansion, channels, repeats, first_stride in BLOCKS:
        for i in range(repeats):
            x = _inverted_residual(x, expansion, make_divisible(int(channels * alpha)),
                                   first_stride if i == 0 else 1, block_id, bn_momentum)
            block_id += 1

    x = layers.Conv2D(make_divisible(1280 * alpha) if alpha > 1.0 else 1280, 1, use_bias=False, name="Conv_1")(x)
    x = layers.ReLU(6.0, name="out_relu")(_bn(x, "Conv_1_bn", bn_momentum))
    x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    name = f"mobilenetv2_{alpha:g}_{input_shape[0]}"
    return keras.Model(inputs, outputs, name=model_name(name, weights))
