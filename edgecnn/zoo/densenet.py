"""DenseNet-121 (Huang et al. 2017), layer for layer as tf_keras.applications.DenseNet121.

Four dense blocks of 6, 12, 24 and 16 layers; each layer is BN-ReLU-conv 1x1 (4k) -> BN-ReLU-conv 3x3
(k, the growth rate) and is concatenated onto everything before it in its block, so a block's
channels grow by k per layer; transitions halve the channels (1x1 conv) and the size (2x2 average
pool). A concatenation-heavy graph: 58 CONCATENATION ops in the .tflite file. At 224x224x3 with 1000
classes: 8,062,504 parameters, the count of Keras' DenseNet121 (compared live), and 2.83 G
multiply-adds (torchvision.models.densenet121's published 2.83 GFLOPS). The stem has 2k filters as in
the paper (Keras' 64 at k=32). Small inputs: below 96x96 the stem is a 3x3 stride-1 convolution without
the max pool (the CIFAR DenseNet stem), so 32x32 reaches the last block at 4x4.
"""

from edgecnn.tf import keras
from edgecnn.zoo.layers import check_blocks, check_int, check_min_size, model_name, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers
EPSILON = 1.001e-5
BLOCKS = (6, 12, 24, 16)


def _bn_relu(x, name):
    x = layers.BatchNormalization(epsilon=EPSILON, name=name + "_bn")(x)
    return layers.Activation("relu", name=name + "_relu")(x)


def _dense_layer(x, growth_rate, name):
    y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=name + "_1_conv")(_bn_relu(x, name + "_0"))
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=name + "_2_conv")(_bn_relu(y, name + "_1"))
    return layers.Concatenate(name=name + "_concat")([x, y])


def _transition(x, name):
    x = layers.Conv2D(x.shape[-1] // 2, 1, use_bias=False, name=name + "_conv")(_bn_relu(x, name))
    return layers.AveragePooling2D(2, strides=2, name=name + "_pool")(x)


@register_model(family="densenet", role="baseline")
def densenet121(input_shape=(224, 224, 3), classes=1000, weights=None, growth_rate=32, blocks=BLOCKS):
    """DenseNet-121. growth_rate: k, the channels each layer adds, 1-128 (32 in the paper); blocks: the layers of
    each dense block (6-12-24-16; DenseNet-169 is 6-12-32-32)."""
    check_int("densenet121", "growth_rate", growth_rate, 1, 128)
    blocks = check_blocks("densenet121", "blocks", blocks, 4)
    check_min_size("densenet121", input_shape, 32)
    inputs, x = pixel_input(input_shape)
    if min(input_shape[:2]) < 96:
        x = layers.Conv2D(2 * growth_rate, 3, padding="same", use_bias=False, name="conv1_conv")(x)
        x = _bn_relu(x, "conv1")
    else:
        x = layers.ZeroPadding2D(3, name="conv1_pad")(x)
        x = layers.Conv2D(2 * growth_rate, 7, strides=2, use_bias=False, name="conv1_conv")(x)
        x = _bn_relu(x, "conv1")
        x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, count in enumerate(blocks, start=2):
        for i in range(1, count + 1):
            x = _dense_layer(x, growth_rate, f"conv{stage}_block{i}")
        if stage < 5:
            x = _transition(x, f"pool{stage}")
    x = _bn_relu(x, "final")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name("densenet121", weights))
