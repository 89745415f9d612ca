"""A VGG-style stack sized for microcontrollers: stages of 3x3 conv + BN + ReLU, 2x2 max pooling between
stages, global average pooling and one Dense classifier.

Why a family of its own: at 32x32x1 the zoo's smallest edge models do not fit a Cortex-M4/M7 board
class (256 KB flash, 128 KB RAM): MobileNet v2 0.35's int8 file is 0.6 MB and TFLite Micro needs a
134 KB arena for it (docs/microcontrollers.md has the measurements). Plain 3x3 convolutions are the
operators TFLite Micro's optimized kernels (CMSIS-NN) handle best, and BN folds into them at conversion.
Parameters with the defaults, 32x32x1 and 10 classes: 163,234 (162,562 trainable), as built here.
"""

from edgecnn.errors import UserError
from edgecnn.tf import keras
from edgecnn.zoo.layers import model_name, check_min_size, conv_relu, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers


@register_model(family="micro", role="edge", reference_input=(32, 32, 1), reference_classes=10)
def micro_cnn(input_shape=(32, 32, 1), classes=10, weights=None, widths=(24, 48, 96), convs_per_stage=2,
              dropout=0.2):
    """widths: filters of each stage (a max pooling between stages); convs_per_stage: 3x3 convs per stage."""
    if not (isinstance(widths, (list, tuple)) and widths and all(isinstance(w, int) and w >= 1 for w in widths)):
        raise UserError(f"micro_cnn: widths must be a list of positive integers, got {widths!r}.")
    if not (isinstance(convs_per_stage, int) and convs_per_stage >= 1):
        raise UserError(f"micro_cnn: convs_per_stage must be an integer >= 1, got {convs_per_stage!r}.")
    if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        raise UserError(f"micro_cnn: dropout must be a number in [0, 1), got {dropout!r}.")
    check_min_size("micro_cnn", input_shape, 2 ** (len(widths) - 1))
    inputs, x = pixel_input(input_shape)
    for stage, filters in enumerate(widths, start=1):
        if stage > 1:
            x = layers.MaxPooling2D(2, name=f"pool{stage - 1}")(x)
        for i in range(1, convs_per_stage + 1):
            x = conv_relu(x, filters, 3, f"conv{stage}_{i}", batch_norm=True)
    x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    name = "micro_cnn_" + "_".join(map(str, widths))
    return keras.Model(inputs, outputs, name=model_name(name, weights))
