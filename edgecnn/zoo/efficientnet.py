"""EfficientNet B0-B3 (Tan & Le 2019) and EfficientNet-Lite0-Lite2 (its edge form), from one block table.

B0-B3 are layer for layer tf_keras.applications.EfficientNetB0..B3: the same parameter counts at their
native resolutions (224, 240, 260, 300) with 1000 classes, preprocessing (Rescaling + Normalization)
included. Lite (tensorflow/tpu models/official/efficientnet/lite): no squeeze-excite, ReLU6 instead of
swish, stem and head not scaled, first and last stage repeats not scaled; Keras has no Lite, so its
parameter count is checked against tensorflow/tpu's EfficientNet-Lite0 (4,652,008 trainable
parameters, as timm's tf_efficientnet_lite0 counts them). Lite0 counts 385 M multiply-adds here
against the 407 M of the Lite README, and B1-B3 count 0.62, 0.86 and 1.63 G against the paper's
0.70, 1.0 and 1.8 B FLOPs (B0: 0.386 G against 0.39 B); these gaps are not explained yet. Small inputs: below 96x96 the stem runs at
stride 1, so a 32x32 image ends at 2x2 features.
"""

import math

from edgecnn.errors import UserError
from edgecnn.tf import keras
from edgecnn.zoo.layers import model_name, check_min_size, make_divisible, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers

# (kernel, repeats, filters in, filters out, expansion, stride): the B0 baseline, Table 1 of the paper
BLOCKS = [(3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
          (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1)]
# name: (width coefficient, depth coefficient, native resolution, dropout)
SCALING = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
           "b3": (1.2, 1.4, 300, 0.3), "lite0": (1.0, 1.0, 224, 0.2), "lite1": (1.0, 1.1, 240, 0.2),
           "lite2": (1.1, 1.2, 260, 0.3)}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_VAR = (0.229 ** 2, 0.224 ** 2, 0.225 ** 2)
# a config, not an instance: Keras makes a fresh initializer per layer from it
CONV_INIT = {"class_name": "VarianceScaling",
             "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}


def _preprocess(input_shape, lite, weights):
    """Lite: (x - 127.5) / 127.5 like the other edge models. B0-B3: Keras' Rescaling + Normalization with
    ImageNet's mean and variance (Keras' file stores the standard deviations as the variance and adds a
    Rescaling; the product is the same), grey repeated to RGB first under ImageNet's weights."""
    if lite:
        return pixel_input(input_shape, weights=weights)
    inputs = keras.Input(shape=input_shape, name="pixels")
    x = inputs
    if weights == "imagenet" and input_shape[-1] == 1:
        x = layers.Concatenate(name="grey_to_rgb")([x, x, x])
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(x)
    norm = layers.Normalization(axis=-1, name="normalization")
    x = norm(x)
    channels = x.shape[-1]
    mean = IMAGENET_MEAN if channels == 3 else (sum(IMAGENET_MEAN) / 3,)
    var = IMAGENET_VAR if channels == 3 else (sum(IMAGENET_VAR) / 3,)
    norm.set_weights([norm.get_weights()[0] * 0 + mean, norm.get_weights()[1] * 0 + var, norm.get_weights()[2]])
    return inputs, x


def _stride2_pad(x, kernel, name):
    """Keras' correct_pad: k//2 on each side, one less before on an even side, so an odd size rounds up
    (15 -> 8) as TensorFlow's 'same' does; B1-B3 at 240-300 have odd sizes."""
    before = [kernel // 2 - (1 - size % 2) for size in x.shape[1:3]]
    return layers.ZeroPadding2D(((before[0], kernel // 2), (before[1], kernel // 2)), name=name)(x)


def _block(x, kernel, f_in, f_out, expansion, stride, act, se, drop, name):
    inp, width = x, f_in * expansion
    if expansion != 1:
        x = layers.Conv2D(width, 1, use_bias=False, kernel_initializer=CONV_INIT, name=name + "expand_conv")(x)
        x = layers.Activation(act, name=name + "expand_activation")(layers.BatchNormalization(name=name + "expand_bn")(x))
    if stride == 2:
        x = _stride2_pad(x, kernel, name + "dwconv_pad")
    x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same" if stride == 1 else "valid", use_bias=False,
                               depthwise_initializer=CONV_INIT, name=name + "dwconv")(x)
    x = layers.Activation(act, name=name + "activation")(layers.BatchNormalization(name=name + "bn")(x))
    if se:
        s = layers.GlobalAveragePooling2D(keepdims=True, name=name + "se_squeeze")(x)
        s = layers.Conv2D(max(1, int(f_in * 0.25)), 1, activation=act, kernel_initializer=CONV_INIT,
                          name=name + "se_reduce")(s)
        s = layers.Conv2D(width, 1, activation="sigmoid", kernel_initializer=CONV_INIT, name=name + "se_expand")(s)
        x = layers.Multiply(name=name + "se_excite")([x, s])
    x = layers.Conv2D(f_out, 1, use_bias=False, kernel_initializer=CONV_INIT, name=name + "project_conv")(x)
    x = layers.BatchNormalization(name=name + "project_bn")(x)
    if stride == 1 and f_in == f_out:
        if drop > 0:
            x = layers.Dropout(drop, noise_shape=(None, 1, 1, 1), name=name + "drop")(x)
        x = layers.Add(name=name + "add")([x, inp])
    return x


def _efficientnet(variant, input_shape, classes, weights, dropout, drop_connect, stem_stride):
    name = f"efficientnet_{variant}"
    check_min_size(name, input_shape, 32)
    width, depth, _, default_dropout = SCALING[variant]
    lite = variant.startswith("lite")
    dropout = default_dropout if dropout is None else dropout
    if not 0 <= drop_connect < 1:
        raise UserError(f"{name}: drop_connect must be in [0, 1), got {drop_connect!r}.")
    stem_stride = stem_stride or (1 if min(input_shape[:2]) < 96 else 2)
    if stem_stride not in (1, 2):
        raise UserError(f"{name}: stem_stride must be 1 or 2, got {stem_stride!r}.")
    act = "relu6" if lite else "swish"

    def filters(f):
        return make_divisible(f * width)

    def repeats(n, stage):
        return n if lite and stage in (0, len(BLOCKS) - 1) else int(math.ceil(depth * n))

    inputs, x = _preprocess(input_shape, lite, weights)
    if stem_stride == 2:
        x = _stride2_pad(x, 3, "stem_conv_pad")
    x = layers.Conv2D(32 if lite else filters(32), 3, strides=stem_stride,
                      padding="same" if stem_stride == 1 else "valid", use_bias=False, kernel_initializer=CONV_INIT,
                      name="stem_conv")(x)
    x = layers.Activation(act, name="stem_activation")(layers.BatchNormalization(name="stem_bn")(x))
    total = sum(repeats(b[1], i) for i, b in enumerate(BLOCKS))
    done = 0
    for stage, (kernel, n, f_in, f_out, expansion, stride) in enumerate(BLOCKS):
        f_in = x.shape[-1] if stage else (32 if lite else filters(f_in))
        for j in range(repeats(n, stage)):
            x = _block(x, kernel, f_in if j == 0 else filters(f_out), filters(f_out), expansion,
                       stride if j == 0 else 1, act, not lite, drop_connect * done / total,
                       f"block{stage + 1}{chr(j + 97)}_")
            done += 1
    x = layers.Conv2D(1280 if lite else filters(1280), 1, use_bias=False, kernel_initializer=CONV_INIT,
                      name="top_conv")(x)
    x = layers.Activation(act, name="top_activation")(layers.BatchNormalization(name="top_bn")(x))
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="top_dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name(name, weights))


def _register(variant):
    resolution = SCALING[variant][2]

    def builder(input_shape=(resolution, resolution, 3), classes=1000, weights=None, dropout=None,
                drop_connect=0.2, stem_stride=None):
        return _efficientnet(variant, input_shape, classes, weights, dropout, drop_connect, stem_stride)

    builder.__name__ = builder.__qualname__ = f"efficientnet_{variant}"
    builder.__doc__ = (f"EfficientNet-{variant.capitalize()} (native {resolution}x{resolution}). dropout: before the "
                       f"classifier (default {SCALING[variant][3]}); drop_connect: stochastic depth rate.")
    return register_model(family="efficientnet", role="edge", reference_input=(resolution, resolution, 3))(builder)


for _variant in SCALING:
    globals()[f"efficientnet_{_variant}"] = _register(_variant)
