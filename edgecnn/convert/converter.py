"""Keras -> .tflite with the TFLite converter, always with a fixed batch-1 input signature.

(A dynamic batch dimension makes XNNPACK fail to reshape some models at allocate_tensors.)
Formats (every one of the converter's post-training quantizations):
  fp32      float32 weights and activations
  fp16      float16 weights, float32 I/O: the GPU delegate's file (the CPU dequantizes at load)
  dynamic   int8 weights, float activations, quantized on the fly (no calibration)
  int8      full integer, calibrated on real images; uint8/int8/float32 I/O
  int16x8   int16 activations, int8 weights: for models whose activations int8 cannot hold
`sparse=True` adds the converter's sparsity optimization: pruned weights are stored sparse (DENSIFY
ops), which XNNPACK's sparse path can use. `keep_float` names tensors the int8 file leaves in float.
"""

import hashlib
import os
import weakref
from contextlib import nullcontext

import numpy as np
from absl import logging as absl_logging
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from edgecnn.bench.quiet import quiet_stderr
from edgecnn.data.calibration import representative
from edgecnn.tf import tf
from edgecnn.zoo.layers import grouped_form
from edgecnn.zoo.registry import inference_model

IO_TYPES = {"uint8": tf.uint8, "int8": tf.int8, "float32": tf.float32}
CALIBRATED = ("int8", "int16x8")


def batch1_converter(model, form="float"):
    """A converter for the model's inference graph at batch 1, its variables frozen to constants.

    Freezing here (TensorFlow's own convert_variables_to_constants_v2) and handing the converter the
    frozen function converts EfficientNet-B0 in ~1.5 s; given the Keras model as trackable object
    instead, the converter round-trips through a SavedModel and takes ~35 s for the same file. The frozen
    graph is kept for the next format of the same model while its weights are the same (`form` names the
    tracing: "integer" under hard_swish_for_int8): a model converted to fp32, fp16 and int8 is traced twice.
    """
    frozen = _frozen(model, form)
    level = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)   # it warns that no trackable object was given: on purpose
    try:
        return tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    finally:
        absl_logging.set_verbosity(level)


_FROZEN = {}      # (id of the model, form) -> (a weak reference to it, digest of its weights, frozen function)


def _frozen(model, form):
    digest = hashlib.sha1()
    for weights in model.get_weights():
        digest.update(np.ascontiguousarray(weights).data)
    key, digest = (id(model), form), digest.hexdigest()
    kept = _FROZEN.get(key)
    if kept and kept[0]() is model and kept[1] == digest:
        return kept[2]
    served = inference_model(model)      # training-only heads never reach the .tflite
    spec = tf.TensorSpec([1, *served.input_shape[1:]], tf.float32, name=served.inputs[0].name.split(":")[0])
    fn = tf.function(lambda x: served(x, training=False)).get_concrete_function(spec)
    frozen = convert_variables_to_constants_v2(fn)
    for stale in [k for k, v in _FROZEN.items() if v[0]() is None]:
        del _FROZEN[stale]
    _FROZEN[key] = (weakref.ref(model), digest, frozen)
    return frozen


GREY_WEIGHTS = (0.299, 0.587, 0.114)       # ITU-R BT.601 luma, as Pillow's convert("L")


def rgb_input(model):
    """`model`, which takes one grey channel, behind a 3-channel input: grey = 0.299 R + 0.587 G + 0.114 B as a
    fixed 1x1 convolution (one CONV_2D in every file). For apps whose image APIs hand over RGB only, such as
    the TFLite Task Library's ImageClassifier, which requires a 1 x H x W x 3 input."""
    from edgecnn.tf import keras

    if model.input_shape[-1] != 1:
        return model
    inputs = keras.Input(shape=(*model.input_shape[1:3], 3), name=model.inputs[0].name.split(":")[0])
    grey = keras.layers.Conv2D(1, 1, use_bias=False, trainable=False, name="rgb_to_grey")
    x = grey(inputs)
    grey.set_weights([np.asarray(GREY_WEIGHTS, np.float32).reshape(1, 1, 3, 1)])
    return keras.Model(inputs, model(x), name=model.name)


def prepare(model, rgb=False, fold=True, always=False, grouped="native", gpu=False):
    """The model as its files are made from it: grouped convolutions in the form `grouped` (grouped_form),
    RGB input (convert.rgb_input) and the input scaling folded into the stem (convert.fold_input,
    edgecnn/convert/fold.py; `gpu`: for the GPU's fp16 file, never with a non-zero pad). Returns (model, why
    the scaling was left unfolded, or None)."""
    from edgecnn.convert.fold import fold_input

    model = grouped_form(model, grouped)
    grey = GREY_WEIGHTS if rgb and model.input_shape[-1] == 1 else None
    note = None
    if fold:
        folded, note = fold_input(model, grey, always, gpu)
        if note is None:
            return folded, None
    return (rgb_input(model) if rgb else model), note


def configure(model, fmt, calibration=None, io_type="uint8", sparse=False):
    """A converter set up for `fmt` (see the module docstring). Integer formats trace hard-swish as ops
    XNNPACK runs in int8 (zoo/layers.py HardSwish); the quantization debugger sees the same graph."""
    from edgecnn.zoo.layers import has_hard_swish, hard_swish_for_int8

    integer = fmt in CALIBRATED and has_hard_swish(model)
    with hard_swish_for_int8() if integer else nullcontext():
        converter = batch1_converter(model, "integer" if integer else "float")
    optimizations = [] if fmt == "fp32" else [tf.lite.Optimize.DEFAULT]
    if sparse:
        optimizations.append(tf.lite.Optimize.EXPERIMENTAL_SPARSITY)
    converter.optimizations = optimizations
    if fmt == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    if fmt in CALIBRATED:
        if calibration is None:
            raise ValueError(f"{fmt} needs calibration images")
        converter.representative_dataset = representative(calibration)
    if fmt == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = IO_TYPES[io_type]
        converter.inference_output_type = IO_TYPES[io_type]
    if fmt == "int16x8":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    return converter


def convert(model, fmt, calibration=None, io_type="uint8", sparse=False, keep_float=(), said=None):
    """The .tflite bytes of `model` in format `fmt`. An int8 file whose calibration left near-zero ranges that
    split it for XNNPACK is widened where that computes the same (convert/ranges.py); the sentence saying so
    is appended to `said`."""
    converter = configure(model, fmt, calibration, io_type, sparse)
    if keep_float and fmt == "int8":
        from edgecnn.compress.debug import selective
        blob = selective(converter, calibration, keep_float)
    else:
        with quiet_stderr(os.environ.get("EDGECNN_TF_LOG") != "1"):    # MLIR's lines; errors raise with their text
            blob = converter.convert()
    if fmt == "int8":
        from edgecnn.convert.ranges import keep_one_partition

        blob, sentence = keep_one_partition(blob, calibration)
        if sentence and said is not None:
            said.append(sentence)
    return blob


def to_fp32(model):
    return convert(model, "fp32")


def to_fp16(model):
    return convert(model, "fp16")


def to_int8(model, calibration, io_type="uint8"):
    """Full-integer quantization; `calibration` holds uint8 images (N, H, W, C) like the training data.

    The model's input is raw [0, 255] pixels, so a uint8 input quantizes with scale 1 and zero point 0:
    camera bytes go in unchanged.
    """
    return convert(model, "int8", calibration, io_type)
