"""AlexNet, one tower (Krizhevsky 2014, "One weird trick"; torchvision's layout), 227x227x3.

conv 64@11x11/4, pool, conv 192@5x5, pool, conv 384, 256, 256 @3x3, pool, FC 4096, 4096, classes.
Parameters at 227x227x3, 1000 classes: 61,100,840, the count of torchvision.models.alexnet (the
two-tower 2012 network has ~60.9 M). Below 64x64 the stem is conv 64@5x5 stride 1 (CIFAR-style
AlexNets) so a 32x32 image still reaches the classifier at 3x3; the classifier then starts from 3x3.
"""

from edgecnn.tf import keras
from edgecnn.zoo.layers import check_int, check_min_size, conv_relu, model_name, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers


@register_model(family="alexnet", role="baseline", reference_input=(227, 227, 3))
def alexnet(input_shape=(227, 227, 3), classes=1000, weights=None, dropout=0.5, batch_norm=False, fc_width=4096):
    """AlexNet (one tower). batch_norm: a BatchNormalization after every convolution (see conv_relu); fc_width:
    the two hidden dense layers (4096 in the paper)."""
    check_min_size("alexnet", input_shape, 32)
    check_int("alexnet", "fc_width", fc_width, 1, 65536)
    small = min(input_shape[:2]) < 64
    inputs, x = pixel_input(input_shape)
    if small:
        x = conv_relu(x, 64, 5, "conv1", batch_norm=batch_norm)
    else:
        x = conv_relu(x, 64, 11, "conv1", strides=4, padding="valid", batch_norm=batch_norm)
    x = layers.MaxPooling2D(3, 2, name="pool1")(x)
    x = conv_relu(x, 192, 5, "conv2", batch_norm=batch_norm)
    x = layers.MaxPooling2D(3, 2, name="pool2")(x)
    x = conv_relu(x, 384, 3, "conv3", batch_norm=batch_norm)
    x = conv_relu(x, 256, 3, "conv4", batch_norm=batch_norm)
    x = conv_relu(x, 256, 3, "conv5", batch_norm=batch_norm)
    x = layers.MaxPooling2D(3, 2, name="pool5")(x)
    x = layers.Flatten(name="flatten")(x)
    for i in (6, 7):
        x = layers.Dropout(dropout, name=f"drop{i}")(x)
        x = layers.Dense(fc_width, activation="relu", name=f"fc{i}")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name("alexnet", weights))
