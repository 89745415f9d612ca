"""MobileNet v3 Small and Large (Howard et al. 2019), layer for layer as tf_keras.applications.

Same parameter counts as MobileNetV3Small/Large(weights=None) at 224x224x3 with 1000 classes
(2,554,968 and 5,507,432 at alpha 1.0), preprocessing included. Differences: hard-swish and
hard-sigmoid are single layers (HardSwish, HardSigmoid) instead of TFOpLambda ops, so the model
loads in safe_mode and quantization can target them; the classifier's 1x1 convolutions on the pooled
1x1 map are Dense layers (the same weights). `minimalistic=True` is the paper's minimalistic form:
3x3 kernels, ReLU and no squeeze-excite, which quantizes better. Small inputs: below 96x96 the stem
runs at stride 1, so a 32x32 image ends at 2x2 features.
"""

from edgecnn.errors import UserError
from edgecnn.tf import keras
from edgecnn.zoo.layers import model_name, HardSigmoid, HardSwish, check_min_size, make_divisible, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers

# (expansion, filters, kernel: 3 or "k" (5, or 3 when minimalistic), stride, squeeze-excite, activation:
#  "relu" or "hs" (hard-swish, ReLU when minimalistic)): Tables 1 and 2 of the paper.
SMALL = [(1, 16, 3, 2, True, "relu"), (72 / 16, 24, 3, 2, False, "relu"), (88 / 24, 24, 3, 1, False, "relu"),
         (4, 40, "k", 2, True, "hs"), (6, 40, "k", 1, True, "hs"), (6, 40, "k", 1, True, "hs"),
         (3, 48, "k", 1, True, "hs"), (3, 48, "k", 1, True, "hs"), (6, 96, "k", 2, True, "hs"),
         (6, 96, "k", 1, True, "hs"), (6, 96, "k", 1, True, "hs")]
LARGE = [(1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"), (3, 24, 3, 1, False, "relu"),
         (3, 40, "k", 2, True, "relu"), (3, 40, "k", 1, True, "relu"), (3, 40, "k", 1, True, "relu"),
         (6, 80, 3, 2, False, "hs"), (2.5, 80, 3, 1, False, "hs"), (2.3, 80, 3, 1, False, "hs"),
         (2.3, 80, 3, 1, False, "hs"), (6, 112, 3, 1, True, "hs"), (6, 112, 3, 1, True, "hs"),
         (6, 160, "k", 2, True, "hs"), (6, 160, "k", 1, True, "hs"), (6, 160, "k", 1, True, "hs")]


def _act(x, kind, name):
    return HardSwish(name=name)(x) if kind == "hs" else layers.ReLU(name=name)(x)


def _bn(x, name):
    return layers.BatchNormalization(epsilon=1e-3, momentum=0.99, name=name)(x)


def _block(x, expansion, filters, kernel, stride, se, act, block_id):
    prefix = f"expanded_conv_{block_id}/" if block_id else "expanded_conv/"
    inp, in_ch = x, x.shape[-1]
    width = make_divisible(in_ch * expansion)
    if block_id:
        x = layers.Conv2D(width, 1, use_bias=False, name=prefix + "expand")(x)
        x = _act(_bn(x, prefix + "expand/BatchNorm"), act, prefix + "expand/act")
    if stride == 2:
        x = layers.ZeroPadding2D(((kernel // 2 - 1, kernel // 2), (kernel // 2 - 1, kernel // 2)),
                                 name=prefix + "depthwise/pad")(x)
    x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same" if stride == 1 else "valid", use_bias=False,
                               name=prefix + "depthwise")(x)
    x = _act(_bn(x, prefix + "depthwise/BatchNorm"), act, prefix + "depthwise/act")
    if se:
        s = layers.GlobalAveragePooling2D(keepdims=True, name=prefix + "squeeze_excite/AvgPool")(x)
        s = layers.Conv2D(make_divisible(width * 0.25), 1, name=prefix + "squeeze_excite/Conv")(s)
        s = layers.ReLU(name=prefix + "squeeze_excite/Relu")(s)
        s = layers.Conv2D(width, 1, name=prefix + "squeeze_excite/Conv_1")(s)
        s = HardSigmoid(name=prefix + "squeeze_excite/HardSigmoid")(s)
        x = layers.Multiply(name=prefix + "squeeze_excite/Mul")([x, s])
    x = layers.Conv2D(filters, 1, use_bias=False, name=prefix + "project")(x)
    x = _bn(x, prefix + "project/BatchNorm")
    if stride == 1 and in_ch == filters:
        x = layers.Add(name=prefix + "Add")([inp, x])
    return x


def _mobilenet_v3(name, table, last_point, input_shape, classes, weights, alpha, minimalistic, dropout, stem_stride):
    check_min_size(name, input_shape, 32)
    if not (isinstance(alpha, (int, float)) and 0 < alpha <= 4):
        raise UserError(f"{name}: alpha must be a number in (0, 4], got {alpha!r}.")
    stem_stride = stem_stride or (1 if min(input_shape[:2]) < 96 else 2)
    if stem_stride not in (1, 2):
        raise UserError(f"{name}: stem_stride must be 1 or 2, got {stem_stride!r}.")
    top = "relu" if minimalistic else "hs"
    inputs, x = pixel_input(input_shape, weights=weights)
    if stem_stride == 2:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name="Conv/pad")(x)
    x = layers.Conv2D(16, 3, strides=stem_stride, padding="same" if stem_stride == 1 else "valid", use_bias=False,
                      name="Conv")(x)
    x = _act(_bn(x, "Conv/BatchNorm"), top, "Conv/act")
    for i, (t, c, k, s, se, act) in enumerate(table):
        k = (3 if minimalistic else 5) if k == "k" else k
        x = _block(x, t, make_divisible(c * alpha), k, s, se and not minimalistic,
                   "relu" if minimalistic else act, i)
    x = layers.Conv2D(make_divisible(x.shape[-1] * 6), 1, use_bias=False, name="Conv_1")(x)
    x = _act(_bn(x, "Conv_1/BatchNorm"), top, "Conv_1/act")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dense(make_divisible(last_point * alpha) if alpha > 1.0 else last_point, name="Conv_2")(x)
    x = _act(x, top, "Conv_2/act")
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="Logits")(x)
    return keras.Model(inputs, outputs, name=model_name(name, weights))


@register_model(family="mobilenet", role="edge")
def mobilenet_v3_small(input_shape=(224, 224, 3), classes=1000, weights=None, alpha=1.0, minimalistic=False,
                       dropout=0.2, stem_stride=None):
    """MobileNet v3 Small. minimalistic: no hard-swish, no squeeze-excite, 3x3 kernels."""
    return _mobilenet_v3("mobilenet_v3_small", SMALL, 1024, input_shape, classes, weights, alpha, minimalistic,
                         dropout, stem_stride)


@register_model(family="mobilenet", role="edge")
def mobilenet_v3_large(input_shape=(224, 224, 3), classes=1000, weights=None, alpha=1.0, minimalistic=False,
                       dropout=0.2, stem_stride=None):
    """MobileNet v3 Large. minimalistic: no hard-swish, no squeeze-excite, 3x3 kernels."""
    return _mobilenet_v3("mobilenet_v3_large", LARGE, 1280, input_shape, classes, weights, alpha, minimalistic,
                         dropout, stem_stride)
