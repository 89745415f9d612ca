"""The bottleneck ResNet that SE-ResNet, ResNeXt and Wide ResNet-50 vary, in torchvision's form.

Convolutions without biases, BN epsilon 1e-5, stages of 3-4-6-3 blocks (the `blocks` option). A block: 1x1 to `width` ->
3x3 in `groups` groups -> 1x1 to 4 x filters, a 1x1 projection shortcut on each stage's first block,
squeeze-and-excitation before the addition when `se` is set. `width` is the first stage's 3x3 width and
doubles with each stage (ResNet-50: 64; ResNeXt-50 32x4d: 128 in 32 groups; WRN-50-2: 128). The
stride sits on the 3x3 convolution (torchvision's "v1.5", ResNeXt's and WRN's own code) or on the first
1x1 (Caffe's v1, which SENet's published model and its 3.87 G multiply-adds use). The builders that use
this module hold their own references (senet.py, resnext.py, wide_resnet.py). Small inputs: below 96x96
the stem is a 3x3 stride-1 convolution without the max pool, as resnet.py's, so 32x32 ends at 4x4.
"""

from edgecnn.tf import keras
from edgecnn.zoo.layers import check_blocks, check_min_size, grouped_conv, model_name, pixel_input, squeeze_excite
from edgecnn.zoo.resnet import stem

layers = keras.layers
EPSILON = 1e-5
FILTERS = (64, 128, 256, 512)        # each stage's; 4 x filters leave each block
BLOCKS = (3, 4, 6, 3)                 # blocks per stage of the 50-layer form


def _bn_relu(x, name, relu=True):
    x = layers.BatchNormalization(epsilon=EPSILON, name=name + "_bn")(x)
    return layers.Activation("relu", name=name + "_relu")(x) if relu else x


def _block(x, filters, width, groups, stride, projection, se, stride_on_3x3, name, model, split):
    shortcut = x
    if projection:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, use_bias=False, name=name + "_0_conv")(x)
        shortcut = _bn_relu(shortcut, name + "_0", relu=False)
    first, middle = (1, stride) if stride_on_3x3 else (stride, 1)
    x = layers.Conv2D(width, 1, strides=first, use_bias=False, name=name + "_1_conv")(x)
    x = _bn_relu(x, name + "_1")
    if middle == 2:
        x = layers.ZeroPadding2D(1, name=name + "_2_pad")(x)
    x = grouped_conv(x, width, 3, groups, name + "_2_conv", model, strides=middle,
                     padding="valid" if middle == 2 else "same", split=split)
    x = _bn_relu(x, name + "_2")
    x = layers.Conv2D(4 * filters, 1, use_bias=False, name=name + "_3_conv")(x)
    x = _bn_relu(x, name + "_3", relu=False)
    if se:
        x = squeeze_excite(x, se, name)
    x = layers.Add(name=name + "_add")([shortcut, x])
    return layers.Activation("relu", name=name + "_out")(x)


def bottleneck_resnet(name, input_shape, classes, weights, width=64, groups=1, se=0, stride_on_3x3=True,
                      split=False, blocks=BLOCKS):
    """A bottleneck ResNet, 50 layers with the default blocks per stage (3-4-6-3; 3-4-23-3 is the 101-layer
    form): `se` is the squeeze-excite reduction (0: none); split: the grouped convolutions as SplitGroupConv2D."""
    blocks = check_blocks(name, "blocks", blocks, 4)
    check_min_size(name, input_shape, 32)
    inputs, x = pixel_input(input_shape)
    x = stem(x, min(input_shape[:2]) < 96, False, EPSILON)
    for stage, (filters, count) in enumerate(zip(FILTERS, blocks), start=2):
        stage_width = width * 2 ** (stage - 2)
        for i in range(1, count + 1):
            stride = 2 if i == 1 and stage > 2 else 1
            x = _block(x, filters, stage_width, groups, stride, i == 1, se, stride_on_3x3,
                       f"conv{stage}_block{i}", name, split)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name(name, weights))
