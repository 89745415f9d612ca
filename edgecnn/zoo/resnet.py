"""ResNet (He et al. 2015): ResNet50 with bottleneck blocks, ResNet18 with basic blocks.

ResNet50 is layer for layer tf_keras.applications.ResNet50 (convolutions with biases, BN epsilon
1.001e-5): 25,636,712 parameters at 224x224x3, 1000 classes. ResNet18 follows torchvision
(convolutions without biases): 11,689,512 parameters. Small inputs: below 96x96 the stem is a 3x3
stride-1 convolution without the max pool (the CIFAR ResNet stem), so 32x32 ends at 4x4.
"""

from edgecnn.tf import keras
from edgecnn.zoo.layers import check_blocks, check_min_size, model_name, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers


def _bn(x, name, epsilon):
    return layers.BatchNormalization(epsilon=epsilon, name=name)(x)


def stem(x, small, bias, epsilon):
    """7x7/2 + 3x3/2 max pool; small inputs: 3x3 stride 1, no pool (the CIFAR ResNet stem)."""
    if small:
        x = layers.Conv2D(64, 3, padding="same", use_bias=bias, name="conv1_conv")(x)
        return layers.Activation("relu", name="conv1_relu")(_bn(x, "conv1_bn", epsilon))
    x = layers.ZeroPadding2D(3, name="conv1_pad")(x)
    x = layers.Conv2D(64, 7, strides=2, use_bias=bias, name="conv1_conv")(x)
    x = layers.Activation("relu", name="conv1_relu")(_bn(x, "conv1_bn", epsilon))
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)


def _bottleneck(x, filters, stride, shortcut_conv, name):
    """Keras' block1: 1x1 (stride) -> 3x3 -> 1x1 x4, projection shortcut on the first block of a stage."""
    eps = 1.001e-5
    if shortcut_conv:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(x)
        shortcut = _bn(shortcut, name + "_0_bn", eps)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=name + "_1_conv")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(_bn(x, name + "_1_bn", eps))
    x = layers.Conv2D(filters, 3, padding="same", name=name + "_2_conv")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(_bn(x, name + "_2_bn", eps))
    x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    x = _bn(x, name + "_3_bn", eps)
    x = layers.Add(name=name + "_add")([shortcut, x])
    return layers.Activation("relu", name=name + "_out")(x)


def _basic(x, filters, stride, shortcut_conv, name):
    """torchvision's BasicBlock: 3x3 (stride) -> 3x3, 1x1 projection when the shape changes."""
    eps = 1e-5
    shortcut = x
    if shortcut_conv:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=name + "_0_conv")(x)
        shortcut = _bn(shortcut, name + "_0_bn", eps)
    if stride == 2:
        x = layers.ZeroPadding2D(1, name=name + "_1_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, padding="same" if stride == 1 else "valid", use_bias=False,
                      name=name + "_1_conv")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(_bn(x, name + "_1_bn", eps))
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name + "_2_conv")(x)
    x = _bn(x, name + "_2_bn", eps)
    x = layers.Add(name=name + "_add")([shortcut, x])
    return layers.Activation("relu", name=name + "_out")(x)


def _resnet(name, block, blocks, expansion, bias, epsilon, input_shape, classes, weights):
    blocks = check_blocks(name, "blocks", blocks, 4)
    check_min_size(name, input_shape, 32)
    inputs, x = pixel_input(input_shape, weights=weights, mode="caffe")
    x = stem(x, min(input_shape[:2]) < 96, bias, epsilon)
    channels = 64
    for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), blocks), start=2):
        for i in range(1, count + 1):
            stride = 2 if i == 1 and stage > 2 else 1
            projection = i == 1 and (stride == 2 or channels != filters * expansion)
            x = block(x, filters, stride, projection, f"conv{stage}_block{i}")
            channels = filters * expansion
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name(name, weights))


@register_model(family="resnet", role="baseline")
def resnet50(input_shape=(224, 224, 3), classes=1000, weights=None, blocks=(3, 4, 6, 3)):
    """ResNet50 (v1, bottleneck blocks 3-4-6-3; blocks: per stage, 3-4-23-3 the 101-layer form)."""
    return _resnet("resnet50", _bottleneck, blocks, 4, True, 1.001e-5, input_shape, classes, weights)


@register_model(family="resnet", role="baseline")
def resnet18(input_shape=(224, 224, 3), classes=1000, weights=None, blocks=(2, 2, 2, 2)):
    """ResNet18 (basic blocks 2-2-2-2; blocks: per stage, 3-4-6-3 the 34-layer form)."""
    return _resnet("resnet18", _basic, blocks, 1, False, 1e-5, input_shape, classes, weights)
