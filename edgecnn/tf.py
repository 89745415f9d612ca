"""The one place TensorFlow is imported: Keras 2 (tf_keras) is selected before TensorFlow loads.

tensorflow-model-optimization works only with Keras 2, so every module does
`from edgecnn.tf import tf, keras` and never imports `keras` or `tensorflow.keras` itself.

TensorFlow's C++ start-up lines (oneDNN, the CPU instruction sets, and on a machine without a GPU
"failed call to cuInit: ... CUDA error") are written to file descriptor 2 before its own log level
applies; they go to /dev/null while TensorFlow loads and looks for devices, unless EDGECNN_TF_LOG=1.
Python exceptions are unaffected.
"""

import os

from edgecnn.bench.quiet import quiet_stderr

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


with quiet_stderr(os.environ.get("EDGECNN_TF_LOG") != "1"):
    import tensorflow as tf  # noqa: E402
    import tf_keras as keras  # noqa: E402

    tf.config.list_physical_devices()     # device discovery: where the cuInit line comes from

__all__ = ["tf", "keras"]
