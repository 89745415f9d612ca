"""ZFNet (Zeiler & Fergus 2014, Fig. 3): AlexNet with a 7x7/2 first layer instead of 11x11/4 and a
strided second layer, found by visualising what AlexNet's first layers had learnt.

conv 96@7x7/2, pool 3x3/2, conv 256@5x5/2, pool 3x3/2, conv 384, 384, 256 @3x3, pool 3x3/2, FC 4096,
4096, classes; one tower with dense connections in layers 3-5, as in the paper. Contrast
normalisation is left out (as GoogLeNet's LRN here). The pools after conv1 and conv2 round up, as the
paper's 110 -> 55 and 26 -> 13 need. At 224x224x3 with 1000 classes: 62,357,608 parameters and
1.17 G multiply-adds, both counted from Fig. 3's layer sizes (the paper prints neither total). Below
64x64 the first layer is conv 96@3x3 stride 1, so a 32x32 image reaches the classifier at 2x2.
"""

from edgecnn.tf import keras
from edgecnn.zoo.layers import check_int, check_min_size, conv_relu, model_name, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers


@register_model(family="zfnet", role="baseline")
def zfnet(input_shape=(224, 224, 3), classes=1000, weights=None, dropout=0.5, batch_norm=False, fc_width=4096):
    """ZFNet. batch_norm: a BatchNormalization after every convolution (see conv_relu); fc_width: the two hidden
    dense layers (4096 in the paper)."""
    check_min_size("zfnet", input_shape, 32)
    check_int("zfnet", "fc_width", fc_width, 1, 65536)
    small = min(input_shape[:2]) < 64
    inputs, x = pixel_input(input_shape)
    if small:
        x = conv_relu(x, 96, 3, "conv1", batch_norm=batch_norm)
    else:
        x = layers.ZeroPadding2D(1, name="conv1_pad")(x)
        x = conv_relu(x, 96, 7, "conv1", strides=2, padding="valid", batch_norm=batch_norm)
    x = layers.MaxPooling2D(3, 2, padding="same", name="pool1")(x)
    x = conv_relu(x, 256, 5, "conv2", strides=2, padding="same" if small else "valid", batch_norm=batch_norm)
    x = layers.MaxPooling2D(3, 2, padding="same", name="pool2")(x)
    for i, filters in ((3, 384), (4, 384), (5, 256)):
        x = conv_relu(x, filters, 3, f"conv{i}", batch_norm=batch_norm)
    x = layers.MaxPooling2D(3, 2, padding="same" if small else "valid", name="pool5")(x)
    x = layers.Flatten(name="flatten")(x)
    for i in (6, 7):
        x = layers.Dense(fc_width, activation="relu", name=f"fc{i}")(x)
        x = layers.Dropout(dropout, name=f"drop{i}")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name("zfnet", weights))
