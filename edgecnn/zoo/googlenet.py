"""GoogLeNet / Inception v1 (Szegedy et al. 2014, Table 1), with its two auxiliary classifiers.

Convolutions with biases and ReLU, no batch norm, as in the paper; local response normalization is
left out (later work found it useless). `aux_classifiers=True` adds the paper's two training heads
(on 4a and 4d: 5x5/3 average pool, 1x1 conv 128, FC 1024, 70 % dropout, classifier): the model then
has three outputs, trained with loss weights 1, 0.3, 0.3; `inference_model` keeps the main output
only, which is what is converted. At 224x224x3 with 1000 classes and no auxiliary heads: 6,998,552
parameters, 1.58 G multiply-adds (the paper: 6.8 M parameters, 1.5 G operations in Table 1, which
rounds each layer). Small inputs: below 96x96 the stem is a 3x3 stride-1 convolution without the two
early max pools, so a 32x32 image reaches inception 5b at 4x4 (the usual CIFAR GoogLeNet, 1.5 G
multiply-adds at 32x32: an epoch of Fashion-MNIST costs 85 minutes on 2 cores). `small_stem_pool=True`
keeps one 3x3/2 max pool after that stem: inception 3 runs at 16x16 and 5b at 2x2, for about a quarter
of the multiply-adds.
"""

from edgecnn.tf import keras
from edgecnn.zoo.layers import model_name, check_min_size, conv_relu, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers

# name: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj); "pool" is a 3x3/2 max pool
INCEPTION = [("3a", (64, 96, 128, 16, 32, 32)), ("3b", (128, 128, 192, 32, 96, 64)), "pool",
             ("4a", (192, 96, 208, 16, 48, 64)), ("4b", (160, 112, 224, 24, 64, 64)),
             ("4c", (128, 128, 256, 24, 64, 64)), ("4d", (112, 144, 288, 32, 64, 64)),
             ("4e", (256, 160, 320, 32, 128, 128)), "pool",
             ("5a", (256, 160, 320, 32, 128, 128)), ("5b", (384, 192, 384, 48, 128, 128))]
AUX_AFTER = ("4a", "4d")


def _conv(x, filters, kernel, name, strides=1, batch_norm=False):
    return conv_relu(x, filters, kernel, name, strides=strides, batch_norm=batch_norm)


def _inception(x, spec, name, bn):
    c1, r3, c3, r5, c5, pp = spec
    b1 = _conv(x, c1, 1, f"inception_{name}_1x1", batch_norm=bn)
    b3 = _conv(_conv(x, r3, 1, f"inception_{name}_3x3_reduce", batch_norm=bn), c3, 3, f"inception_{name}_3x3",
               batch_norm=bn)
    b5 = _conv(_conv(x, r5, 1, f"inception_{name}_5x5_reduce", batch_norm=bn), c5, 5, f"inception_{name}_5x5",
               batch_norm=bn)
    bp = layers.MaxPooling2D(3, 1, padding="same", name=f"inception_{name}_pool")(x)
    bp = _conv(bp, pp, 1, f"inception_{name}_pool_proj", batch_norm=bn)
    return layers.Concatenate(name=f"inception_{name}_output")([b1, b3, b5, bp])


def _aux(x, classes, name):
    pool = 5 if x.shape[1] >= 5 else x.shape[1]
    x = layers.AveragePooling2D(pool, strides=3 if pool == 5 else 1, name=f"{name}_pool")(x)
    x = _conv(x, 128, 1, f"{name}_conv")
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(0.7, name=f"{name}_drop")(x)
    return layers.Dense(classes, activation="softmax", dtype="float32", name=f"{name}_predictions")(x)


@register_model(family="googlenet", role="baseline")
def googlenet(input_shape=(224, 224, 3), classes=1000, weights=None, aux_classifiers=False, dropout=0.4,
              batch_norm=False, small_stem_pool=False):
    """GoogLeNet. aux_classifiers: add the two training heads (three outputs; see inference_model);
    batch_norm: a BatchNormalization after every convolution (see conv_relu); small_stem_pool: below
    96x96, a 3x3/2 max pool after the stem (see the module's docstring)."""
    check_min_size("googlenet", input_shape, 32)
    inputs, x = pixel_input(input_shape)
    if min(input_shape[:2]) < 96:
        x = _conv(x, 192, 3, "conv1", batch_norm=batch_norm)
        if small_stem_pool:
            x = layers.MaxPooling2D(3, 2, padding="same", name="pool1_3x3_s2")(x)
    else:
        x = _conv(x, 64, 7, "conv1_7x7_s2", strides=2, batch_norm=batch_norm)
        x = layers.MaxPooling2D(3, 2, padding="same", name="pool1_3x3_s2")(x)
        x = _conv(x, 64, 1, "conv2_3x3_reduce", batch_norm=batch_norm)
        x = _conv(x, 192, 3, "conv2_3x3", batch_norm=batch_norm)
        x = layers.MaxPooling2D(3, 2, padding="same", name="pool2_3x3_s2")(x)
    aux, pools = [], 3
    for item in INCEPTION:
        if item == "pool":
            x = layers.MaxPooling2D(3, 2, padding="same", name=f"pool{pools}_3x3_s2")(x)
            pools += 1
            continue
        x = _inception(x, item[1], item[0], batch_norm)
        if aux_classifiers and item[0] in AUX_AFTER:
            aux.append(_aux(x, classes, f"aux{len(aux) + 1}"))
    x = layers.GlobalAveragePooling2D(name="pool5")(x)
    x = layers.Dropout(dropout, name="pool5_drop")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, [outputs, *aux] if aux else outputs, name=model_name("googlenet", weights))
