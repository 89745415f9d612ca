"""Keras -> .tflite with the TFLite converter, always with a fixed batch-1 input signature.

(A dynamic batch dimension makes XNNPACK fail to reshape some models at allocate_tensors.)
Variants: fp32; fp16 (float16 weights, float32 I/O: the GPU delegate's file); full-int8 with
uint8/int8/float32 input and output, calibrated on real images.
"""

import numpy as np
from absl import logging as absl_logging
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from edgecnn.tf import tf
from edgecnn.zoo.registry import inference_model

IO_TYPES = {"uint8": tf.uint8, "int8": tf.int8, "float32": tf.float32}


def batch1_converter(model):
    """A converter for the model's inference graph at batch 1, its variables frozen to constants.

    Freezing here (TensorFlow's own convert_variables_to_constants_v2) and handing the converter the
    frozen function converts EfficientNet-B0 in ~1.5 s; given the Keras model as trackable object
    instead, the converter round-trips through a SavedModel and takes ~35 s for the same file.
    """
    model = inference_model(model)      # training-only heads never reach the .tflite
    spec = tf.TensorSpec([1, *model.input_shape[1:]], tf.float32, name=model.inputs[0].name.split(":")[0])
    fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    frozen = convert_variables_to_constants_v2(fn)
    level = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)   # it warns that no trackable object was given: on purpose
    try:
        return tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    finally:
        absl_logging.set_verbosity(level)


def to_fp32(model):
    return batch1_converter(model).convert()


def to_fp16(model):
    """Weights stored as float16; the CPU dequantizes them at load, the GPU delegate computes in fp16."""
    converter = batch1_converter(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def to_int8(model, calibration, io_type="uint8"):
    """Full-integer quantization; `calibration` holds uint8 images (N, H, W, C) like the training data.

    The model's input is raw [0, 255] pixels, so a uint8 input quantizes with scale 1 and zero point 0:
    camera bytes go in unchanged.
    """
    converter = batch1_converter(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([img[None].astype(np.float32)] for img in calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = IO_TYPES[io_type]
    converter.inference_output_type = IO_TYPES[io_type]
    return converter.convert()
