"""LeNet-5 (LeCun et al. 1998) at its native 32x32x1.

C1 6@5x5, S2 2x2 average pooling, C3 16@5x5 (fully connected to S2, not the paper's sparse table),
S4, C5 120@5x5, F6 84, output. tanh activations as in the paper, softmax instead of RBF units.
Parameters with 10 classes: 61,706 (the paper's "about 60,000").
"""

from edgecnn.tf import keras
from edgecnn.zoo.layers import model_name, check_min_size, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers


@register_model(family="lenet", role="baseline", reference_input=(32, 32, 1), reference_classes=10)
def lenet5(input_shape=(32, 32, 1), classes=10, weights=None, activation="tanh"):
    """LeNet-5. activation: tanh (the paper) or relu."""
    check_min_size("lenet5", input_shape, 28)
    inputs, x = pixel_input(input_shape)
    pad = "same" if min(input_shape[:2]) < 32 else "valid"       # 28x28 MNIST: pad C1, as LeCun padded to 32
    x = layers.Conv2D(6, 5, padding=pad, activation=activation, name="c1")(x)
    x = layers.AveragePooling2D(2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="c3")(x)
    x = layers.AveragePooling2D(2, name="s4")(x)
    x = layers.Conv2D(120, 5, activation=activation, name="c5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation=activation, name="f6")(x)
    outputs = layers.Dense(classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name("lenet5", weights))
