"""Pieces every family shares: width rounding, the preprocessing head, weight loading, conv + ReLU."""

from contextlib import contextmanager

from edgecnn.errors import UserError
from edgecnn.tf import keras, tf

layers = keras.layers


def make_divisible(value, divisor=8, min_value=None):
    """Round a channel count to a multiple of `divisor`, never dropping more than 10 % (Keras/TF-slim rule)."""
    min_value = min_value or divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)


def pixel_input(input_shape, name="pixels", weights=None, mode="tf"):
    """Input that takes raw pixels in [0, 255]; scaling to [-1, 1] is the model's first layer.

    Keeping preprocessing inside the model lets an int8 file take uint8 camera bytes as they are.
    With weights="imagenet" the first layers are the ones the weights were trained behind: grey images
    repeated to RGB, then Keras' preprocess_input for the family (`mode`): "tf" scales to [-1, 1],
    "caffe" subtracts the ImageNet mean (its BGR order lives in the first conv's kernel, pretrained.py).
    """
    inputs = keras.Input(shape=input_shape, name=name)
    x = inputs
    if weights == "imagenet" and input_shape[-1] == 1:
        x = keras.layers.Concatenate(name="grey_to_rgb")([x, x, x])
    if weights == "imagenet" and mode == "caffe":
        return inputs, keras.layers.Rescaling(1.0, offset=[-m for m in CAFFE_MEAN_RGB], name="rescale")(x)
    return inputs, keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(x)


def model_name(name, weights):
    """The Keras model's name; built in ImageNet's layout it says so (pretrained.source_layout reads it)."""
    return name + ("_imagenet" if weights == "imagenet" else "")


def check_min_size(name, input_shape, minimum):
    h, w = input_shape[:2]
    if h < minimum or w < minimum:
        raise UserError(f"{name} needs an input of at least {minimum}x{minimum}, got {h}x{w}.")


@keras.utils.register_keras_serializable("edgecnn")
class HardSigmoid(keras.layers.Layer):
    """relu6(x + 3) / 6 as one named layer (Keras builds it from TFOpLambda ops, which tfmot cannot
    annotate and safe_mode refuses to load). The TFLite converter still sees the same math."""

    def call(self, x):
        return keras.activations.relu(x + 3.0, max_value=6.0) * (1.0 / 6.0)


@keras.utils.register_keras_serializable("edgecnn")
class HardSwish(keras.layers.Layer):
    """x * relu6(x + 3) / 6, MobileNetV3's activation; converts to TFLite's HARD_SWISH.

    XNNPACK runs HARD_SWISH in float but not in int8, where each one splits the graph (MobileNetV3
    Small's int8 file: 20 partitions, slower than fp32). Under `hard_swish_for_int8()` (convert.py
    uses it for integer files) the same math is written relu6(x + 3) * x * (1/6), an order the converter
    does not fuse into HARD_SWISH: ADD with RELU6, MUL, and the 1/6 folded into the next convolution.
    """

    decomposed = False

    def call(self, x):
        if HardSwish.decomposed:
            return tf.nn.relu6(x + 3.0) * x * (1.0 / 6.0)
        return x * keras.activations.relu(x + 3.0, max_value=6.0) * (1.0 / 6.0)


@contextmanager
def hard_swish_for_int8():
    """HardSwish layers traced inside this block as ops XNNPACK runs in int8 (see HardSwish)."""
    HardSwish.decomposed = True
    try:
        yield
    finally:
        HardSwish.decomposed = False


def has_hard_swish(model):
    """Whether a HardSwish layer is anywhere in the model (nested models included): only then does
    hard_swish_for_int8 change how it traces."""
    return any(isinstance(module, HardSwish) for module in model.submodules)


def conv_relu(x, filters, kernel, name, strides=1, padding="same", batch_norm=False):
    """Conv2D + ReLU, as the plain baselines have it; batch_norm=True puts a BatchNormalization between
    them (the conv then has no bias). Plain VGG16 and SqueezeNet 1.1 stayed at chance through the study's
    epoch at Adam 2e-3; with BN they reached 62 % and 87.5 %. The converter folds BN into the conv: the
    .tflite file has the same ops, size and speed (tests/test_zoo_convert.py)."""
    if not batch_norm:
        return layers.Conv2D(filters, kernel, strides=strides, padding=padding, activation="relu", name=name)(x)
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def check_int(model, option, value, low, high):
    """An integer option in [low, high], or one sentence naming the model, the option and the range."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UserError(f"{model}: {option} must be an integer in [{low}, {high}], got {value!r}.")


def check_blocks(model, option, value, count, high=64):
    """A list of `count` block counts, each in [1, high], or one sentence naming the model, the option and what
    it takes."""
    ok = isinstance(value, (list, tuple)) and len(value) == count and all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= high for v in value)
    if not ok:
        raise UserError(f"{model}: {option} must be a list of {count} block counts, each an integer in [1, {high}], "
                        f"got {value!r}.")
    return tuple(value)


def grouped_conv(x, filters, kernel, groups, name, model, strides=1, padding="same", split=False):
    """Conv2D(groups=...) without bias, or with split=True the same convolution as SplitGroupConv2D;
    channels that do not divide into the groups are named with their numbers (Keras' own ValueError names
    neither the layer nor the option behind it)."""
    channels = x.shape[-1]
    if channels % groups or filters % groups:
        raise UserError(f"{model}: the grouped convolution {name} has {channels} input and {filters} output "
                        f"channels, which do not divide into {groups} groups (cardinality): choose a cardinality "
                        f"that divides both, or a width that it divides.")
    kind = SplitGroupConv2D if split and groups > 1 else layers.Conv2D
    return kind(filters, kernel, strides=strides, padding=padding, groups=groups, use_bias=False, name=name)(x)


@keras.utils.register_keras_serializable("edgecnn")
class SplitGroupConv2D(keras.layers.Conv2D):
    """A grouped Conv2D written as SPLIT -> one CONV_2D per group -> CONCATENATION, with the same kernel
    (so the same weights) as Conv2D(groups=g). For runtimes without grouped CONV_2D (grouped_form),
    and for training on a CPU: Keras compiles a grouped Conv2D with XLA there, whose training step is tens
    of times slower than this form's (docs/zoo.md)."""

    def convolution_op(self, inputs, kernel):
        parts = zip(tf.split(inputs, self.groups, axis=-1), tf.split(kernel, self.groups, axis=-1))
        return tf.concat([super(SplitGroupConv2D, self).convolution_op(p, k) for p, k in parts], axis=-1)

    def _jit_compiled_convolution_op(self, inputs, kernel):      # Keras compiles grouped convs with XLA
        return self.convolution_op(inputs, kernel)


def grouped_form(model, form):
    """The model with its grouped convolutions in `form`: "native", one Conv2D(groups=g) each (one grouped
    CONV_2D in the file), or "split", zoo/layers.py's SplitGroupConv2D (SPLIT -> one CONV_2D per group ->
    CONCATENATION, for a runtime without grouped CONV_2D). Both hold the same kernel, so the weights carry
    over either way; the model itself where nothing changes."""
    def changes(layer):
        if form == "split":
            return type(layer) is keras.layers.Conv2D and layer.groups > 1
        return type(layer) is SplitGroupConv2D

    def clone(layer):
        kind = (SplitGroupConv2D if form == "split" else keras.layers.Conv2D) if changes(layer) else layer.__class__
        return kind.from_config(layer.get_config())

    if not any(changes(layer) for layer in model.layers):
        return model
    changed = keras.models.clone_model(model, clone_function=clone)
    changed.set_weights(model.get_weights())
    return changed


def squeeze_excite(x, reduction, name):
    """Squeeze-and-excitation (Hu et al. 2018): global average pool, 1x1 conv to C/r with ReLU, 1x1 conv
    back to C with a sigmoid, channel-wise scale. 1x1 convolutions, not Dense, so the converter keeps the
    block as CONV_2D + MUL, as MobileNet v3 has it."""
    channels = x.shape[-1]
    s = layers.GlobalAveragePooling2D(keepdims=True, name=name + "_se_squeeze")(x)
    s = layers.Conv2D(max(1, channels // reduction), 1, activation="relu", name=name + "_se_reduce")(s)
    s = layers.Conv2D(channels, 1, activation="sigmoid", name=name + "_se_expand")(s)
    return layers.Multiply(name=name + "_se_excite")([x, s])
