"""SqueezeNet 1.0 and 1.1 (Iandola et al. 2016), with the paper's simple and complex bypass.

Fire module: squeeze 1x1 -> expand 1x1 and 3x3, concatenated. No batch norm, as in the paper;
batch_norm=True puts one after every convolution but the classifier (as the baselines' batch_norm option;
the converter folds it): plain SqueezeNet 1.1 stayed at chance (10 %) through the study's epoch, with BN
and the simple bypass it reached 87.5 %.
Parameters at 227x227x3 (Caffe's input, the paper's), 1000 classes: 1,248,424 (1.0) and 1,235,496 (1.1), the paper's and
torchvision's counts. Bypass (section 6 of the paper): "simple" adds identity shortcuts around the
fire modules whose input and output widths match (fire 3, 5, 7, 9; no parameters); "complex" also
adds 1x1-convolution shortcuts around the others (fire 2, 4, 6, 8). Small inputs: below 64x64 the
stem is a 3x3 stride-1 convolution, so a 32x32 image keeps 3x3 features after the three pools.
"""

from edgecnn.errors import UserError
from edgecnn.tf import keras
from edgecnn.zoo.layers import model_name, check_min_size, conv_relu, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers

# (squeeze, expand) per fire module 2..9; "pool" marks a 3x3/2 max pool
V1_0 = dict(stem=(96, 7), fires=["pool", (16, 64), (16, 64), (32, 128), "pool", (32, 128), (48, 192),
                                 (48, 192), (64, 256), "pool", (64, 256)])
V1_1 = dict(stem=(64, 3), fires=["pool", (16, 64), (16, 64), "pool", (32, 128), (32, 128), "pool",
                                 (48, 192), (48, 192), (64, 256), (64, 256)])


def _fire(x, squeeze, expand, name, bypass, batch_norm):
    inp = x
    x = conv_relu(x, squeeze, 1, name + "_squeeze", batch_norm=batch_norm)
    left = conv_relu(x, expand, 1, name + "_expand1x1", batch_norm=batch_norm)
    right = conv_relu(x, expand, 3, name + "_expand3x3", batch_norm=batch_norm)
    x = layers.Concatenate(name=name + "_concat")([left, right])
    if bypass != "none":
        if inp.shape[-1] == 2 * expand:
            x = layers.Add(name=name + "_bypass")([inp, x])
        elif bypass == "complex":
            shortcut = layers.Conv2D(2 * expand, 1, name=name + "_bypass_conv")(inp)
            x = layers.Add(name=name + "_bypass")([shortcut, x])
    return x


def _squeezenet(name, table, input_shape, classes, weights, bypass, dropout, batch_norm):
    check_min_size(name, input_shape, 32)
    if bypass not in ("none", "simple", "complex"):
        raise UserError(f"{name}: bypass must be none, simple or complex, got {bypass!r}.")
    inputs, x = pixel_input(input_shape)
    filters, kernel = table["stem"]
    if min(input_shape[:2]) < 64:
        x = conv_relu(x, filters, 3, "conv1", batch_norm=batch_norm)
    else:
        x = conv_relu(x, filters, kernel, "conv1", strides=2, padding="valid", batch_norm=batch_norm)
    fire = 2
    for i, spec in enumerate(table["fires"]):
        if spec == "pool":
            x = layers.MaxPooling2D(3, 2, name=f"pool{i + 1}")(x)
        else:
            x = _fire(x, *spec, f"fire{fire}", bypass, batch_norm)
            fire += 1
    x = layers.Dropout(dropout, name="drop9")(x)
    x = layers.Conv2D(classes, 1, activation="relu", name="conv10")(x)
    x = layers.GlobalAveragePooling2D(name="avgpool10")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name(name, weights))


@register_model(family="squeezenet", role="edge", reference_input=(227, 227, 3))
def squeezenet1_0(input_shape=(224, 224, 3), classes=1000, weights=None, bypass="none", dropout=0.5,
                  batch_norm=False):
    """SqueezeNet 1.0. bypass: none, simple or complex; batch_norm: BN after every conv but conv10."""
    return _squeezenet("squeezenet1_0", V1_0, input_shape, classes, weights, bypass, dropout, batch_norm)


@register_model(family="squeezenet", role="edge", reference_input=(227, 227, 3))
def squeezenet1_1(input_shape=(224, 224, 3), classes=1000, weights=None, bypass="none", dropout=0.5,
                  batch_norm=False):
    """SqueezeNet 1.1: 3x3 stem and earlier pooling, 2.4x less computation at the same accuracy.
    bypass and batch_norm as in SqueezeNet 1.0."""
    return _squeezenet("squeezenet1_1", V1_1, input_shape, classes, weights, bypass, dropout, batch_norm)
