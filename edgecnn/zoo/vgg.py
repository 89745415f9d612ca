"""VGG16 (Simonyan & Zisserman 2014), layer for layer as tf_keras.applications.VGG16.

138,357,544 parameters at 224x224x3 with 1000 classes. Small inputs: the five 2x2 pools stay; a
32x32 image reaches the classifier at 1x1x512 (the usual CIFAR VGG), with the same 4096-wide FCs.

batch_norm=True adds a BatchNormalization after every convolution (as torchvision's vgg16_bn): from
scratch at Adam 2e-3, plain VGG16 stays at chance (loss 2.30) for the study's first epoch. The converter
folds each BN into its convolution, so the .tflite file has the same operators, size and speed.
"""

from edgecnn.tf import keras
from edgecnn.zoo.layers import check_int, check_min_size, conv_relu, model_name, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers

# (convolutions, filters) per block
VGG16 = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]


@register_model(family="vgg", role="baseline")
def vgg16(input_shape=(224, 224, 3), classes=1000, weights=None, fc_width=4096, dropout=0.0, batch_norm=False):
    """VGG16. fc_width: the two hidden dense layers (4096 in the paper); batch_norm: VGG16-BN."""
    check_min_size("vgg16", input_shape, 32)
    check_int("vgg16", "fc_width", fc_width, 1, 65536)
    inputs, x = pixel_input(input_shape, weights=weights, mode="caffe")
    for block, (convs, filters) in enumerate(VGG16, start=1):
        for i in range(1, convs + 1):
            x = conv_relu(x, filters, 3, f"block{block}_conv{i}", batch_norm=batch_norm)
        x = layers.MaxPooling2D(2, 2, name=f"block{block}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    for i in (1, 2):
        x = layers.Dense(fc_width, activation="relu", name=f"fc{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"drop{i}")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name("vgg16", weights))
