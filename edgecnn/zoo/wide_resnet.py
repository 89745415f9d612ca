"""Wide ResNets (Zagoruyko & Komodakis 2016): fewer, wider residual layers.

- `wide_resnet28_10`, the CIFAR form: WRN-d-k with (d-4)/6 pre-activation basic blocks (BN-ReLU-conv
  3x3, twice) in each of three groups of 16k, 32k and 64k channels at 32x32, 16x16 and 8x8; a 1x1
  projection on the pre-activated input where the shape changes; `dropout` between the two
  convolutions (0.3 in the paper's dropout rows). Built for 32x32 (no stem to adapt). WRN-28-10 at
  32x32x3 with 10 classes: 36,479,194 trainable parameters, the count of the authors' reference code
  (szagoruyko/wide-residual-networks; the paper's Table: 36.5 M), and 5.24 G multiply-adds counted
  from the graph (the paper publishes none).
- `wide_resnet50_2`, the ImageNet form: ResNet-50's bottlenecks with the 3x3 width times
  `width_factor` (bottleneck.py). At 224x224x3 with 1000 classes: 68,883,240 trainable parameters and
  11.4 G multiply-adds, torchvision.models.wide_resnet50_2's figures.
"""

from edgecnn.errors import UserError
from edgecnn.tf import keras
from edgecnn.zoo.bottleneck import bottleneck_resnet
from edgecnn.zoo.layers import check_int, check_min_size, model_name, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers


def _bn_relu(x, name):
    x = layers.BatchNormalization(epsilon=1e-5, name=name + "_bn")(x)
    return layers.Activation("relu", name=name + "_relu")(x)


def _wide_block(x, filters, stride, dropout, name):
    pre = _bn_relu(x, name + "_1")
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=name + "_0_conv")(pre)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name + "_1_conv")(pre)
    y = _bn_relu(y, name + "_2")
    if dropout:
        y = layers.Dropout(dropout, name=name + "_drop")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name + "_2_conv")(y)
    return layers.Add(name=name + "_add")([shortcut, y])


@register_model(family="wide_resnet", role="baseline", reference_input=(32, 32, 3), reference_classes=10)
def wide_resnet28_10(input_shape=(32, 32, 3), classes=10, weights=None, depth=28, width_factor=10, dropout=0.0):
    """WRN-28-10. depth: 6n+4 (10-100); width_factor: k, 1-16; dropout in [0, 1)."""
    name = "wide_resnet28_10"
    check_int(name, "depth", depth, 10, 100)
    if (depth - 4) % 6:
        raise UserError(f"{name}: depth must be 6n+4 (10, 16, 22, 28, 34, 40, ...), got {depth}.")
    check_int(name, "width_factor", width_factor, 1, 16)
    if not 0 <= dropout < 1:
        raise UserError(f"{name}: dropout must be a number in [0, 1), got {dropout!r}.")
    check_min_size(name, input_shape, 32)
    inputs, x = pixel_input(input_shape)
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="conv1_conv")(x)
    for group, filters in enumerate((16, 32, 64), start=2):
        for i in range(1, (depth - 4) // 6 + 1):
            stride = 2 if i == 1 and group > 2 else 1
            x = _wide_block(x, filters * width_factor, stride, dropout, f"conv{group}_block{i}")
    x = _bn_relu(x, "final")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name(name, weights))


@register_model(family="wide_resnet", role="baseline")
def wide_resnet50_2(input_shape=(224, 224, 3), classes=1000, weights=None, width_factor=2, blocks=(3, 4, 6, 3)):
    """WRN-50-2. width_factor: the bottlenecks' 3x3 width over ResNet-50's, 1-8; blocks: per stage."""
    check_int("wide_resnet50_2", "width_factor", width_factor, 1, 8)
    return bottleneck_resnet("wide_resnet50_2", input_shape, classes, weights, width=64 * width_factor,
                             blocks=blocks)
